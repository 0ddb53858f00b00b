// Customer portal links through the API, on every store: POST /v1/portal-links
// answers a console URL whose fragment carries a signed, expiring credential;
// it acts as a tenant token of its tenant (a reader when read-only), is refused
// once expired or changed in any character, cannot be widened, is audited
// without the link itself, and works on another instance sharing the database.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { ACME_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, TestClock, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

const credentialOf = (url: string) => {
  const hash = new URL(url).hash;
  expect(hash.startsWith("#portal=hpl_")).toBe(true);
  return hash.slice("#portal=".length);
};

describeOnEachStore("customer portal links", () => {
  let herald: TestHerald;
  let receiver: Receiver;
  const clock = new TestClock();
  let acmeEvent = "";
  let globexEvent = "";
  let acmeDelivery = "";

  beforeAll(async () => {
    receiver = startReceiver();
    herald = await startHerald(
      testConfig({
        // The tests below present hundreds of altered links on purpose.
        server: { port: 0, auth_failures_per_minute: 1_000_000 },
        auth: adminAndTenantTokens(),
        event_types: [{ name: "acme.invoice-paid" }, { name: "globex.reactor-vented" }],
      }),
      { clock },
    );
    for (const [tenant, token, type] of [["acme", ACME_TOKEN, "acme.invoice-paid"], ["globex", GLOBEX_TOKEN, "globex.reactor-vented"]] as const) {
      const dst = await herald.api("POST", "/v1/destinations", { url: receiver.url, tenant, description: `${tenant} hooks` }, { token });
      expect(dst.status).toBe(201);
      expect((await herald.api("POST", "/v1/subscriptions", { destination_id: dst.body.id, event_types: ["*"] }, { token })).status).toBe(201);
      const published = await herald.api("POST", "/v1/events", { type, data: { n: 1 } }, { token });
      expect(published.status).toBe(202);
      if (tenant === "acme") acmeEvent = published.body.id;
      else globexEvent = published.body.id;
    }
    await herald.app.engine.idle();
    acmeDelivery = (await herald.api("GET", `/v1/events/${acmeEvent}`, undefined, { token: ACME_TOKEN })).body.deliveries[0].id;
  });
  afterAll(async () => {
    await herald?.stop();
    receiver?.stop();
  });

  const link = async (body: object) => {
    const made = await herald.api("POST", "/v1/portal-links", body);
    expect(made.status).toBe(201);
    return made.body as { url: string; path: string; tenant: string; read_only: boolean; expires_at: string };
  };

  it("answers a console URL with the credential in its fragment, valid for an hour by default", async () => {
    const made = await link({ tenant: "acme" });
    const url = new URL(made.url);
    expect(url.origin).toBe(herald.url);
    expect(url.pathname).toBe("/ui/");
    expect(made.path).toBe(url.pathname + url.hash);
    expect(made.tenant).toBe("acme");
    expect(made.read_only).toBe(false);
    expect(Date.parse(made.expires_at)).toBe(clock.now() + 3_600_000);
    expect((await link({ tenant: "acme", expires_in: "7d" })).expires_at).toBe(new Date(clock.now() + 7 * 86_400_000).toISOString());
  });

  it("refuses a link longer than 7 days, a bad tenant and unknown fields, with the field named", async () => {
    for (const [body, path] of [
      [{ tenant: "acme", expires_in: "8d" }, "expires_in"],
      [{ tenant: "acme", expires_in: "soon" }, "expires_in"],
      [{ tenant: "acme corp" }, "tenant"],
      [{ tenant: "acme", role: "admin" }, "role"],
    ] as const) {
      const answer = await herald.api("POST", "/v1/portal-links", body);
      expect(answer.status).toBe(400);
      expect(answer.body.details.map((d: { path: string }) => d.path)).toContain(path);
    }
  });

  it("acts as a tenant token of its tenant: sees and retries acme's, never globex's", async () => {
    const token = credentialOf((await link({ tenant: "acme" })).url);
    const events = await herald.api("GET", "/v1/events", undefined, { token });
    expect(events.status).toBe(200);
    expect(events.body.data.map((e: { id: string }) => e.id)).toEqual([acmeEvent]);
    expect(JSON.stringify(events.body)).not.toContain("globex");
    expect((await herald.api("GET", "/v1/destinations", undefined, { token })).body.data.map((d: { tenant: string }) => d.tenant)).toEqual(["acme"]);
    expect((await herald.api("GET", `/v1/events/${globexEvent}`, undefined, { token })).status).toBe(404);
    expect((await herald.api("GET", "/v1/events?tenant=globex", undefined, { token })).status).toBe(403);
    expect((await herald.api("POST", `/v1/deliveries/${acmeDelivery}/retry`, undefined, { token })).status).toBe(202);
    // Not an admin: no keys, no further links.
    expect((await herald.api("GET", "/v1/api-keys", undefined, { token })).status).toBe(403);
    expect((await herald.api("POST", "/v1/portal-links", { tenant: "globex" }, { token })).status).toBe(403);
    await herald.app.engine.idle();
  });

  it("a read-only link reads but cannot retry or change anything (403)", async () => {
    const token = credentialOf((await link({ tenant: "acme", read_only: true })).url);
    expect((await herald.api("GET", "/v1/events", undefined, { token })).status).toBe(200);
    expect((await herald.api("POST", `/v1/deliveries/${acmeDelivery}/retry`, undefined, { token })).status).toBe(403);
    expect((await herald.api("POST", `/v1/events/${acmeEvent}/cancel`, undefined, { token })).status).toBe(403);
    expect((await herald.api("POST", "/v1/destinations", { url: receiver.url }, { token })).status).toBe(403);
    expect((await herald.api("POST", "/v1/events", { type: "acme.invoice-paid" }, { token })).status).toBe(403);
  });

  it("is refused once expired, with the same answer as an unknown token", async () => {
    const token = credentialOf((await link({ tenant: "acme", expires_in: "5m" })).url);
    expect((await herald.api("GET", "/v1/events", undefined, { token })).status).toBe(200);
    clock.advance(5 * 60_000 - 1);
    expect((await herald.api("GET", "/v1/events", undefined, { token })).status).toBe(200);
    clock.advance(1);
    const refused = await herald.api("GET", "/v1/events", undefined, { token });
    const unknown = await herald.api("GET", "/v1/events", undefined, { token: "hpl_nothing.here" });
    expect(refused.status).toBe(401);
    expect(refused.body).toEqual(unknown.body);
  });

  it("is refused when any one character changes", async () => {
    const token = credentialOf((await link({ tenant: "acme" })).url);
    const wrong: string[] = [];
    // Every position from the prefix's end, each to another base64url character (or the dot to one).
    for (let i = "hpl_".length; i < token.length; i++) {
      const replacement = token[i] === "A" ? "B" : "A";
      const altered = token.slice(0, i) + replacement + token.slice(i + 1);
      const { status } = await herald.api("GET", "/v1/events?limit=1", undefined, { token: altered });
      if (status !== 401) wrong.push(`position ${i}: ${status}`);
    }
    expect(wrong).toEqual([]);
  });

  it("cannot be widened: a payload rewritten for another tenant or without read_only keeps no valid signature", async () => {
    const token = credentialOf((await link({ tenant: "acme", read_only: true })).url);
    const [payload, signature] = token.slice("hpl_".length).split(".") as [string, string];
    const grant = JSON.parse(Buffer.from(payload, "base64url").toString());
    for (const change of [{ tenant: "globex" }, { read_only: false }, { exp: grant.exp + 86_400_000 }]) {
      const forged = "hpl_" + Buffer.from(JSON.stringify({ ...grant, ...change })).toString("base64url") + "." + signature;
      expect((await herald.api("GET", "/v1/events", undefined, { token: forged })).status).toBe(401);
    }
  });

  it("is audited (tenant, read_only, expires_at, never the link); what it changes is recorded as portal:<tenant>", async () => {
    const made = await link({ tenant: "acme", read_only: true, expires_in: "2h" });
    const audit = await herald.api("GET", "/v1/audit?action=portal_link.created&limit=1000");
    expect(audit.status).toBe(200);
    const entry = audit.body.data.find((e: any) => e.changes.expires_at.to === made.expires_at || e.changes.expires_at.to === Date.parse(made.expires_at));
    expect(entry).toBeDefined();
    expect(entry.tenant).toBe("acme");
    expect(entry.actor.name).toBe("admin");
    expect(entry.changes.read_only.to).toBe(true);
    expect(JSON.stringify(audit.body)).not.toContain(credentialOf(made.url).split(".")[1]!);

    const token = credentialOf((await link({ tenant: "acme" })).url);
    expect((await herald.api("POST", `/v1/deliveries/${acmeDelivery}/retry`, undefined, { token })).status).toBe(202);
    await herald.app.engine.idle();
    const retried = await herald.api("GET", `/v1/audit?action=delivery.retried&resource_id=${acmeDelivery}`);
    expect(retried.body.data.map((e: any) => e.actor.name)).toContain("portal:acme");
  });

  it("works on another instance sharing the database", async () => {
    const made = await link({ tenant: "acme", read_only: true });
    const other = await startHerald(herald.app.config, { clock });
    try {
      const token = credentialOf(made.url);
      const events = await other.api("GET", "/v1/events", undefined, { token });
      expect(events.status).toBe(200);
      expect(events.body.data.map((e: { id: string }) => e.id)).toEqual([acmeEvent]);
      expect((await other.api("POST", `/v1/deliveries/${acmeDelivery}/retry`, undefined, { token })).status).toBe(403);
    } finally {
      await other.stop();
    }
  });
});
