// Static header values (x-auth-token …) are write-only, like signing secrets: lists
// and reads show their names only; GET /v1/destinations/{id}/headers reveals them to
// the tokens that may read the secret; receivers still get them.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { send, type SendResult } from "../src/engine/sender.ts";
import type { Destination } from "../src/store/types.ts";
import { createAddressGuard } from "../src/engine/address-guard.ts";
import { HttpClient } from "../src/engine/http-client.ts";
import { destination } from "./store/records.ts";

const ACME = ACME_TOKEN;
const GLOBEX = GLOBEX_TOKEN;
let herald: TestHerald;
let receiver: Receiver;

beforeAll(async () => {
  receiver = startReceiver();
  herald = await startHerald(
    testConfig({
      auth: adminAndTenantTokens(),
      destinations: [{ id: "from-config", url: receiver.url, headers: { "x-config-token": "config-value-51b2" } }],
    }),
  );
});
afterAll(async () => {
  await herald.stop();
  await receiver.stop();
});

describe("static header values are write-only", () => {
  const VALUE = "static-header-value-7f3a9c";
  let id: string;
  beforeAll(async () => {
    const created = await herald.api("POST", "/v1/destinations", { url: receiver.url + "?headers", tenant: "acme", headers: { "x-auth-token": VALUE, "x-team": "ops-9d1e" } });
    expect(created.status).toBe(201);
    expect(JSON.stringify(created.body)).not.toContain(VALUE);
    expect(created.body.header_names).toEqual(["x-auth-token", "x-team"]);
    id = created.body.id;
  });

  it("never shows header values in lists and reads, to admin or tenant tokens", async () => {
    for (const token of [ADMIN_TOKEN, ACME]) {
      const list = await herald.api("GET", "/v1/destinations?limit=1000", undefined, { token });
      const one = await herald.api("GET", `/v1/destinations/${id}`, undefined, { token });
      expect(list.status).toBe(200);
      expect(one.status).toBe(200);
      for (const body of [list.body, one.body]) {
        expect(JSON.stringify(body)).not.toContain(VALUE);
        expect(JSON.stringify(body)).not.toContain("ops-9d1e");
      }
      expect(one.body.header_names).toEqual(["x-auth-token", "x-team"]);
      expect(one.body.headers).toBeUndefined();
    }
  });

  it("hides the values of a destination declared in the config file too", async () => {
    const one = await herald.api("GET", "/v1/destinations/from-config");
    expect(one.body.header_names).toEqual(["x-config-token"]);
    expect(JSON.stringify(one.body)).not.toContain("config-value-51b2");
    expect((await herald.api("GET", "/v1/destinations/from-config/headers")).body).toEqual({ headers: { "x-config-token": "config-value-51b2" } });
  });

  it("never shows header values in the answers to a patch, enable or disable", async () => {
    const patched = await herald.api("PATCH", `/v1/destinations/${id}`, { description: "with headers" });
    const disabled = await herald.api("POST", `/v1/destinations/${id}/disable`, {});
    const enabled = await herald.api("POST", `/v1/destinations/${id}/enable`);
    for (const answer of [patched, disabled, enabled]) {
      expect(answer.status).toBe(200);
      expect(JSON.stringify(answer.body)).not.toContain(VALUE);
    }
  });

  it("reveals them through GET …/headers to the tokens that may read the secret", async () => {
    for (const token of [ADMIN_TOKEN, ACME]) {
      const revealed = await herald.api("GET", `/v1/destinations/${id}/headers`, undefined, { token });
      expect(revealed.status).toBe(200);
      expect(revealed.body).toEqual({ headers: { "x-auth-token": VALUE, "x-team": "ops-9d1e" } });
    }
    const other = await herald.api("GET", `/v1/destinations/${id}/headers`, undefined, { token: GLOBEX });
    expect(other.status).toBe(404);
    expect(JSON.stringify(other.body)).not.toContain(VALUE);
  });

  it("still sends them to the receiver", async () => {
    const sent = await herald.api("POST", `/v1/destinations/${id}/test`, {});
    expect(sent.status).toBe(200);
    expect(JSON.stringify(sent.body)).not.toContain(VALUE);
    const received = receiver.requests.at(-1)!;
    expect(received.headers["x-auth-token"]).toBe(VALUE);
    expect(received.headers["x-team"]).toBe("ops-9d1e");
  });

  // The sender prepares a destination's headers once per catalogue copy of the
  // destination (src/engine/sender.ts): a change must reach the very next
  // delivery, never a copy kept from before. Published deliveries go through
  // the catalogue's objects, as the cache does (a test send reads the store).
  it("sends a changed value from the next delivery on, and never again a removed header", async () => {
    expect((await herald.api("POST", "/v1/event-types", { name: "headers.changed" })).status).toBe(201);
    expect((await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["headers.changed"] })).status).toBe(201);
    const deliver = async () => {
      const seen = receiver.requests.length;
      expect((await herald.api("POST", "/v1/events", { type: "headers.changed", tenant: "acme", data: {} })).status).toBe(202);
      return (await receiver.waitFor(seen + 1)).at(-1)!;
    };
    expect((await deliver()).headers["x-auth-token"]).toBe(VALUE);
    const patched = await herald.api("PATCH", `/v1/destinations/${id}`, { headers: { "x-auth-token": "changed-value-0c41" } });
    expect(patched.status).toBe(200);
    const received = await deliver();
    expect(received.headers["x-auth-token"]).toBe("changed-value-0c41");
    expect(received.headers["x-team"]).toBeUndefined();
  });
});

/**
 * Sends one event to `stored` through the keep-alive client (direct sends) and
 * through fetch (sends through a proxy), checking each result as it comes.
 */
async function sendBothWays(stored: Destination, eventId: string, check: (sent: SendResult) => void): Promise<void> {
  const client = new HttpClient();
  const options = {
    fetch, now: Date.now, guard: createAddressGuard({ https_only: false, allow_private_networks: false, allow_hosts: ["127.0.0.1"] }),
    timeout_ms: 2000, keep_response_bytes: 1024, user_agent: "Herald/test",
  };
  const event = { id: eventId, type: "a", created_at: Date.now(), data_json: "{}" };
  try {
    for (const through of [{ ...options, client }, options]) check(await send(event, stored, through));
  } finally {
    client.close();
  }
}

describe("headers that frame the request or govern the connection", () => {
  // Herald writes its own content-length on kept-alive connections: a static
  // Transfer-Encoding (or Connection, Upgrade …) would let a receiver read the
  // next request out of step.
  const NAMES = ["Transfer-Encoding", "connection", "Upgrade", "TE", "keep-alive", "trailer", "proxy-connection"];
  it("are refused when a destination is created, each at its own path", async () => {
    for (const name of NAMES) {
      const refused = await herald.api("POST", "/v1/destinations", { url: receiver.url, tenant: "acme", headers: { "x-ok": "1", [name]: "chunked" } });
      expect({ name, status: refused.status }).toEqual({ name, status: 400 });
      expect(refused.body.details).toContainEqual(expect.objectContaining({ path: `headers.${name}`, message: expect.stringContaining("is set by Herald and cannot be overridden") }));
    }
  });

  it("stored on a destination before they were refused, fail its sends for good on both paths, sending nothing", async () => {
    const before = receiver.requests.length;
    const stored = destination({ url: receiver.url, headers: { "x-ok": "1", "Transfer-Encoding": "chunked" } });
    await sendBothWays(stored, "evt_stored_header", (sent) => {
      expect(sent).toMatchObject({ ok: false, retryable: false, status: null });
      expect(sent.attempt.error).toContain('"Transfer-Encoding"');
    });
    expect(receiver.requests.length).toBe(before);
  });

  it("give way to the headers Herald sets, in any case, and a destination's own user-agent replaces Herald's: each sent once, on both paths", async () => {
    const stored = destination({
      url: receiver.url,
      // Webhook-Id and Content-Type as stored before the API refused them in any case; User-Agent is allowed.
      headers: { "x-team": "ops", "Webhook-Id": "forged", "Content-Type": "text/plain", "User-Agent": "Custom/1" },
    });
    await sendBothWays(stored, "evt_header_case", (sent) => {
      expect(sent).toMatchObject({ ok: true, status: 200 });
      // The receiver joins a repeated header's values with ", ": one value each means sent once.
      const got = receiver.requests.at(-1)!.headers;
      expect({ id: got["webhook-id"], type: got["content-type"], agent: got["user-agent"], team: got["x-team"] }).toEqual({
        id: "evt_header_case", type: "application/json", agent: "Custom/1", team: "ops",
      });
      expect(Object.keys(sent.attempt.request_headers).filter((name) => name.toLowerCase() === "user-agent")).toEqual(["User-Agent"]);
    });
  });

  it("are refused in a patch's headers and header_changes", async () => {
    const created = await herald.api("POST", "/v1/destinations", { url: receiver.url, tenant: "acme" });
    expect(created.status).toBe(201);
    for (const name of NAMES) {
      for (const body of [{ headers: { [name]: "chunked" } }, { header_changes: { [name]: "chunked" } }]) {
        const refused = await herald.api("PATCH", `/v1/destinations/${created.body.id}`, body);
        const field = Object.keys(body)[0];
        expect({ name, field, status: refused.status }).toEqual({ name, field, status: 400 });
        expect(refused.body.details.map((d: { path: string }) => d.path)).toContain(`${field}.${name}`);
      }
    }
  });
});
