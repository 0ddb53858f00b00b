// Every kind of caller against every route of the OpenAPI document (so a new
// route cannot slip past without an expectation here): config tokens and API
// keys of each role, a publisher limited to patterns, a reader limited to a
// tenant, a revoked key, an expired key, an unknown key and no token at all;
// and customer portal links: one for acme, a read-only one, an expired one and
// one changed in a single character.
// The expectation is a status class: allowed (2xx, or a 4xx other than 401 and
// 403: the request got past authentication and the role check), 403, or 401.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { ACME_TOKEN, ADMIN_TOKEN, startHerald, TestClock, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

type Who =
  | "admin" | "adminKey" | "tenant" | "tenantKey" | "publisher" | "publisherPatterns" | "reader" | "readerAcme"
  | "revoked" | "expired" | "unknown" | "none" | "portal" | "portalReadOnly" | "portalExpired" | "portalAltered";
const EVERYONE: Who[] = [
  "admin", "adminKey", "tenant", "tenantKey", "publisher", "publisherPatterns", "reader", "readerAcme", "revoked", "expired", "unknown", "none",
  "portal", "portalReadOnly", "portalExpired", "portalAltered",
];
const REFUSED: Who[] = ["revoked", "expired", "unknown", "none", "portalExpired", "portalAltered"];

// Who gets past authentication and the role check, route by route; everyone
// else with a valid token is a 403, and revoked, expired, unknown and no token a 401.
const ADMINS: Who[] = ["admin", "adminKey"];
// A portal link does what a tenant token does; a read-only one what a reader limited to its tenant does.
const MANAGERS: Who[] = [...ADMINS, "tenant", "tenantKey", "portal"];
const READERS: Who[] = [...MANAGERS, "reader", "readerAcme", "portalReadOnly"];
const PUBLISHERS: Who[] = [...MANAGERS, "publisher", "publisherPatterns"];
const PUBLIC = "public" as const;

const EXPECTED: Record<string, Who[] | typeof PUBLIC> = {
  "GET /healthz": PUBLIC,
  "GET /readyz": PUBLIC,
  // Figures over every tenant: no tenant-limited caller (tenant, readerAcme).
  "GET /metrics": [...ADMINS, "reader"],

  "POST /v1/events": PUBLISHERS,
  "POST /v1/events/batch": PUBLISHERS,
  "GET /v1/events": READERS,
  "GET /v1/events/{id}": READERS,
  "POST /v1/events/{id}/cancel": MANAGERS,

  "GET /v1/deliveries": READERS,
  "GET /v1/deliveries/{id}": READERS,
  "POST /v1/deliveries/retry": MANAGERS,
  "POST /v1/deliveries/{id}/retry": MANAGERS,

  "GET /v1/destinations": READERS,
  "POST /v1/destinations": MANAGERS,
  "GET /v1/destinations/{id}": READERS,
  "PATCH /v1/destinations/{id}": MANAGERS,
  "DELETE /v1/destinations/{id}": MANAGERS,
  // Reveals: not for readers.
  "GET /v1/destinations/{id}/secret": MANAGERS,
  "GET /v1/destinations/{id}/headers": MANAGERS,
  "POST /v1/destinations/{id}/rotate-secret": MANAGERS,
  "POST /v1/destinations/{id}/test": MANAGERS,
  "POST /v1/destinations/{id}/enable": MANAGERS,
  "POST /v1/destinations/{id}/disable": MANAGERS,
  "POST /v1/destinations/{id}/recover": MANAGERS,
  "GET /v1/destinations/{id}/stats": READERS,
  "GET /v1/destinations/{id}/health": READERS,

  "GET /v1/subscriptions": READERS,
  "POST /v1/subscriptions": MANAGERS,
  "GET /v1/subscriptions/{id}": READERS,
  "PATCH /v1/subscriptions/{id}": MANAGERS,
  "DELETE /v1/subscriptions/{id}": MANAGERS,
  "POST /v1/subscriptions/{id}/backfill": MANAGERS,
  "POST /v1/subscriptions/check-filter": READERS,
  "GET /v1/me": [...READERS, "publisher", "publisherPatterns"],

  "GET /v1/audit": READERS,

  "GET /v1/backfills": READERS,
  "GET /v1/backfills/{id}": READERS,
  "POST /v1/backfills/{id}/cancel": MANAGERS,

  "GET /v1/event-types": READERS,
  "POST /v1/event-types": ADMINS,
  "GET /v1/event-types/{name}": READERS,
  "PATCH /v1/event-types/{name}": ADMINS,
  "DELETE /v1/event-types/{name}": ADMINS,

  "GET /v1/stats": READERS,
  "GET /v1/stats/destinations": READERS,

  "GET /v1/api-keys": ADMINS,
  "POST /v1/api-keys": ADMINS,
  "GET /v1/api-keys/{id}": ADMINS,
  "DELETE /v1/api-keys/{id}": ADMINS,
  "POST /v1/api-keys/{id}/revoke": ADMINS,

  "POST /v1/portal-links": ADMINS,
  "GET /v1/portal-links": ADMINS,
  "DELETE /v1/portal-links/{id}": ADMINS,
};

describeOnEachStore("every caller against every route", () => {
  let herald: TestHerald;
  const clock = new TestClock();
  const tokens = {} as Record<Who, string | null>;
  let dst = "";

  beforeAll(async () => {
    // The limit on failed authentications is set far off: this test fails hundreds on purpose.
    herald = await startHerald(
      testConfig({
        server: { port: 0, auth_failures_per_minute: 1_000_000 },
        auth: { tokens: [{ name: "admin", token: ADMIN_TOKEN, role: "admin" }, { name: "acme", token: ACME_TOKEN, role: "tenant", tenant: "acme" }] },
        event_types: [{ name: "order.created" }],
      }),
      { clock },
    );
    const key = async (body: object) => {
      const made = await herald.api("POST", "/v1/api-keys", body);
      expect(made.status).toBe(201);
      return made.body as { id: string; key: string };
    };
    tokens.admin = ADMIN_TOKEN;
    tokens.tenant = ACME_TOKEN;
    tokens.adminKey = (await key({ name: "ops", role: "admin" })).key;
    tokens.tenantKey = (await key({ name: "acme-app", role: "tenant", tenant: "acme" })).key;
    tokens.publisher = (await key({ name: "producer", role: "publisher" })).key;
    tokens.publisherPatterns = (await key({ name: "orders", role: "publisher", tenant: "acme", event_types: ["order.*"] })).key;
    tokens.reader = (await key({ name: "scraper", role: "reader" })).key;
    tokens.readerAcme = (await key({ name: "acme-dashboard", role: "reader", tenant: "acme" })).key;
    const revoked = await key({ name: "old", role: "admin" });
    expect((await herald.api("POST", `/v1/api-keys/${revoked.id}/revoke`)).status).toBe(200);
    tokens.revoked = revoked.key;
    tokens.expired = (await key({ name: "temp", role: "admin", expires_at: new Date(clock.now() + 60_000).toISOString() })).key;
    const link = async (body: object) => {
      const made = await herald.api("POST", "/v1/portal-links", body);
      expect(made.status).toBe(201);
      return new URL(made.body.url).hash.slice("#portal=".length);
    };
    tokens.portalExpired = await link({ tenant: "acme", expires_in: "1m" });
    clock.advance(61_000);
    tokens.portal = await link({ tenant: "acme" });
    tokens.portalReadOnly = await link({ tenant: "acme", read_only: true });
    // The read-only link with its last character changed: read_only cannot be dropped, nor the signature guessed.
    const last = tokens.portalReadOnly.at(-1)!;
    tokens.portalAltered = tokens.portalReadOnly.slice(0, -1) + (last === "A" ? "B" : "A");
    // The shape of a key, and never issued.
    tokens.unknown = "hrk_" + Buffer.alloc(32, 7).toString("base64url");
    tokens.none = null;
    // An acme destination, so that reads with real ids succeed for acme's callers.
    dst = (await herald.api("POST", "/v1/destinations", { url: "http://127.0.0.1:9/hook", tenant: "acme" })).body.id;
  });
  afterAll(() => herald?.stop());

  /** A concrete URL for a documented path: a real destination for GETs (reads answer 200), ids that match nothing for changes (nothing is changed). */
  const urlFor = (method: string, path: string) =>
    path.replace("{id}", method === "GET" && path.startsWith("/v1/destinations/") ? dst : "nothing-here").replace("{name}", "order.created");

  it("has an expectation for every documented route, and every expectation is a documented route", async () => {
    const doc = (await herald.api("GET", "/openapi.json", undefined, { token: null })).body;
    const documented = Object.entries<Record<string, unknown>>(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
    expect(documented.filter((route) => !(route in EXPECTED))).toEqual([]);
    expect(Object.keys(EXPECTED).filter((route) => !documented.includes(route))).toEqual([]);
  });

  it("answers each caller on each route as the table says", async () => {
    const wrong: string[] = [];
    for (const [route, allowed] of Object.entries(EXPECTED)) {
      const [method, path] = route.split(" ") as [string, string];
      for (const who of EVERYONE) {
        const expected = allowed === PUBLIC ? "allowed" : allowed.includes(who) ? "allowed" : REFUSED.includes(who) ? "401" : "403";
        // Bodies are empty objects: an allowed caller gets a 400 (or a 404 for ids that match nothing), never a change.
        const body = method === "GET" || method === "DELETE" ? undefined : {};
        const { status } = await herald.api(method, urlFor(method, path), body, { token: tokens[who] });
        const got = status === 401 ? "401" : status === 403 ? "403" : status < 500 ? "allowed" : `${status}`;
        if (got !== expected) wrong.push(`${who} ${route}: expected ${expected}, got ${status}`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
