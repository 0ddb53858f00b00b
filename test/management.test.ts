// The management API as scenario tables: success, validation, 401, 403 across
// tenants, 404, and 409 on resources the config file owns.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";

const ACME = ACME_TOKEN;
const GLOBEX = GLOBEX_TOKEN;
let herald: TestHerald;
let receiver: Receiver;
let acmeDestination: string;

beforeAll(async () => {
  receiver = startReceiver();
  herald = await startHerald(
    testConfig({
      auth: adminAndTenantTokens(),
      event_types: [{ name: "config.owned", example: { hello: 1 } }],
      destinations: [{ id: "from-config", url: receiver.url }],
      subscriptions: [{ id: "config-sub", destination: "from-config", event_types: ["config.owned"] }],
    }),
  );
  const created = await herald.api("POST", "/v1/destinations", { url: receiver.url + "?acme", description: "acme's endpoint" }, { token: ACME });
  expect(created.status).toBe(201);
  acmeDestination = created.body.id;
});
afterAll(async () => {
  await herald.stop();
  await receiver.stop();
});

type Scenario = { name: string; method: string; url: () => string; body?: unknown; token?: string | null; status: number; check?: (body: any) => void };

function runScenarios(title: string, scenarios: Scenario[]) {
  describe(title, () => {
    for (const s of scenarios) {
      it(s.name, async () => {
        const res = await herald.api(s.method, s.url(), s.body, { token: s.token === undefined ? ADMIN_TOKEN : s.token });
        expect({ status: res.status, body: res.body }).toMatchObject({ status: s.status });
        if (s.status >= 400) {
          expect(typeof res.body.error).toBe("string");
          expect(typeof res.body.message).toBe("string");
        }
        s.check?.(res.body);
      });
    }
  });
}

runScenarios("destinations", [
  { name: "creates a destination and shows its secret once", method: "POST", url: () => "/v1/destinations", body: { id: "d1", url: "http://127.0.0.1:9/x", headers: { "x-auth-token": "t" }, metadata: { team: "a" } }, status: 201, check: (b) => {
    expect(b.id).toBe("d1");
    expect(b.secret).toMatch(/^whsec_/);
    expect(b.managed_by).toBe("api");
    expect(b.tenant).toBe("default");
  } },
  { name: "a duplicate id is a 409", method: "POST", url: () => "/v1/destinations", body: { id: "d1", url: "http://127.0.0.1:9/x" }, status: 409 },
  { name: "a missing url is a 400 naming url", method: "POST", url: () => "/v1/destinations", body: { id: "d2" }, status: 400, check: (b) => expect(b.details[0].path).toBe("url") },
  { name: "a bad url is a 400", method: "POST", url: () => "/v1/destinations", body: { url: "ftp://x" }, status: 400, check: (b) => expect(b.details[0].path).toBe("url") },
  { name: "a reserved header is a 400 naming the header", method: "POST", url: () => "/v1/destinations", body: { url: "http://127.0.0.1:9/", headers: { "webhook-id": "x" } }, status: 400, check: (b) => expect(JSON.stringify(b.details)).toContain("webhook-id") },
  { name: "a bad secret is a 400", method: "POST", url: () => "/v1/destinations", body: { url: "http://127.0.0.1:9/", secret: "nope" }, status: 400 },
  { name: "no token is a 401", method: "GET", url: () => "/v1/destinations", token: null, status: 401 },
  { name: "reads one", method: "GET", url: () => "/v1/destinations/d1", status: 200, check: (b) => expect(b.secret).toBeUndefined() },
  { name: "an unknown one is a 404", method: "GET", url: () => "/v1/destinations/nope", status: 404 },
  { name: "patches one", method: "PATCH", url: () => "/v1/destinations/d1", body: { description: "changed", timeout: 2000 }, status: 200, check: (b) => {
    expect(b.description).toBe("changed");
    expect(b.timeout).toBe(2000);
  } },
  { name: "a patch with an unknown field is a 400", method: "PATCH", url: () => "/v1/destinations/d1", body: { colour: "red" }, status: 400, check: (b) => expect(b.details[0].path).toBe("colour") },
  { name: "a config-managed destination cannot be patched (409)", method: "PATCH", url: () => "/v1/destinations/from-config", body: { description: "x" }, status: 409, check: (b) => expect(b.error).toBe("managed_by_config") },
  { name: "a config-managed destination cannot be deleted (409)", method: "DELETE", url: () => "/v1/destinations/from-config", status: 409 },
  { name: "the config-managed destination is listed as such", method: "GET", url: () => "/v1/destinations/from-config", status: 200, check: (b) => expect(b.managed_by).toBe("config") },
  { name: "a tenant token cannot read another tenant's destination (404)", method: "GET", url: () => `/v1/destinations/${acmeDestination}`, token: GLOBEX, status: 404 },
  { name: "a tenant token cannot create in another tenant (403)", method: "POST", url: () => "/v1/destinations", body: { url: "http://127.0.0.1:9/", tenant: "acme" }, token: GLOBEX, status: 403 },
  { name: "a tenant token lists only its own destinations", method: "GET", url: () => "/v1/destinations", token: ACME, status: 200, check: (b) => {
    expect(b.data.map((d: any) => d.id)).toEqual([acmeDestination]);
  } },
  { name: "asking for another tenant's list is a 403", method: "GET", url: () => "/v1/destinations?tenant=globex", token: ACME, status: 403 },
  { name: "disables one with a reason", method: "POST", url: () => "/v1/destinations/d1/disable", body: { reason: "maintenance" }, status: 200, check: (b) => {
    expect(b.enabled).toBe(false);
    expect(b.disabled_reason).toBe("maintenance");
  } },
  { name: "enables it again", method: "POST", url: () => "/v1/destinations/d1/enable", status: 200, check: (b) => expect(b.enabled).toBe(true) },
  { name: "recover needs since", method: "POST", url: () => "/v1/destinations/d1/recover", body: {}, status: 400, check: (b) => expect(b.details[0].path).toBe("since") },
  { name: "recover rejects a bad time", method: "POST", url: () => "/v1/destinations/d1/recover", body: { since: "last tuesday" }, status: 400 },
  { name: "stats answer counts and a success rate", method: "GET", url: () => "/v1/destinations/d1/stats", status: 200, check: (b) => {
    expect(b.counts).toEqual({ pending: 0, delivering: 0, succeeded: 0, failed: 0, cancelled: 0 });
    expect(b.success_rate).toBeNull();
  } },
  { name: "deletes one", method: "DELETE", url: () => "/v1/destinations/d1", status: 204 },
  { name: "then it is gone", method: "GET", url: () => "/v1/destinations/d1", status: 404 },
]);

runScenarios("subscriptions", [
  { name: "creates one for a destination, in its tenant", method: "POST", url: () => "/v1/subscriptions", body: { id: "s1", destination_id: "from-config", event_types: ["order.*"], filter: { "data.status": "failed" } }, status: 201, check: (b) => {
    expect(b.tenant).toBe("default");
    expect(b.filter).toEqual({ "data.status": "failed" });
  } },
  { name: "a bad filter operator is a 400 naming operator and path", method: "POST", url: () => "/v1/subscriptions", body: { destination_id: "from-config", event_types: ["*"], filter: { "data.n": { $near: 1 } } }, status: 400, check: (b) => {
    expect(b.details[0].path).toBe("filter.data.n.$near");
    expect(b.details[0].message).toContain("$near");
  } },
  { name: "a bad pattern is a 400", method: "POST", url: () => "/v1/subscriptions", body: { destination_id: "from-config", event_types: ["order.*.x"] }, status: 400, check: (b) => expect(b.details[0].path).toContain("event_types") },
  { name: "no patterns is a 400", method: "POST", url: () => "/v1/subscriptions", body: { destination_id: "from-config", event_types: [] }, status: 400 },
  { name: "an unknown destination is a 404", method: "POST", url: () => "/v1/subscriptions", body: { destination_id: "nope", event_types: ["*"] }, status: 404 },
  { name: "another tenant's destination is a 404 for a tenant token", method: "POST", url: () => "/v1/subscriptions", body: { destination_id: "from-config", event_types: ["*"] }, token: ACME, status: 404 },
  { name: "patches one", method: "PATCH", url: () => "/v1/subscriptions/s1", body: { enabled: false }, status: 200, check: (b) => expect(b.enabled).toBe(false) },
  { name: "a config-managed subscription is a 409 to change", method: "PATCH", url: () => "/v1/subscriptions/config-sub", body: { enabled: false }, status: 409 },
  { name: "lists by destination", method: "GET", url: () => "/v1/subscriptions?destination_id=from-config", status: 200, check: (b) => expect(b.data.map((s: any) => s.id).sort()).toEqual(["config-sub", "s1"]) },
  { name: "a tenant token does not see other tenants' subscriptions", method: "GET", url: () => "/v1/subscriptions/s1", token: ACME, status: 404 },
  { name: "deletes one", method: "DELETE", url: () => "/v1/subscriptions/s1", status: 204 },
]);

runScenarios("event types", [
  { name: "creates one with a schema and a matching example", method: "POST", url: () => "/v1/event-types", body: { name: "invoice.paid", description: "An invoice was paid", schema: { type: "object", required: ["amount"], properties: { amount: { type: "number" } } }, example: { amount: 10 } }, status: 201 },
  { name: "an example that breaks the schema is a 400", method: "POST", url: () => "/v1/event-types", body: { name: "invoice.voided", schema: { type: "object", required: ["amount"] }, example: {} }, status: 400, check: (b) => expect(b.details[0].path).toBe("example") },
  { name: "a bad name is a 400", method: "POST", url: () => "/v1/event-types", body: { name: "no spaces please" }, status: 400 },
  { name: "herald.* names are reserved", method: "POST", url: () => "/v1/event-types", body: { name: "herald.mine" }, status: 400 },
  { name: "a duplicate is a 409", method: "POST", url: () => "/v1/event-types", body: { name: "invoice.paid" }, status: 409 },
  { name: "a tenant token may read the catalogue", method: "GET", url: () => "/v1/event-types", token: ACME, status: 200, check: (b) => {
    const names = b.data.map((t: any) => t.name);
    expect(names).toContain("invoice.paid");
    expect(names).toContain("herald.destination.disabled");
  } },
  { name: "a tenant token may not change it (403)", method: "POST", url: () => "/v1/event-types", body: { name: "acme.thing" }, token: ACME, status: 403 },
  { name: "a config-managed type is a 409 to change", method: "PATCH", url: () => "/v1/event-types/config.owned", body: { description: "x" }, status: 409 },
  { name: "patches one", method: "PATCH", url: () => "/v1/event-types/invoice.paid", body: { description: "paid!" }, status: 200, check: (b) => expect(b.description).toBe("paid!") },
  { name: "an unknown one is a 404", method: "GET", url: () => "/v1/event-types/nope", status: 404 },
]);

describe("publishing against a schema", () => {
  it("data that does not satisfy the event type's schema is a 400 with the failing paths", async () => {
    const res = await herald.api("POST", "/v1/events", { type: "invoice.paid", data: { amount: "ten" } });
    expect(res.status).toBe(400);
    expect(res.body.details[0].path).toBe("data.amount");
    const ok = await herald.api("POST", "/v1/events", { type: "invoice.paid", data: { amount: 10 } });
    expect(ok.status).toBe(202);
  });
});

describe("stats", () => {
  it("counts deliveries by state over time", async () => {
    await herald.api("POST", "/v1/events", { type: "config.owned", data: {} });
    await herald.app.engine.idle();
    const res = await herald.api("GET", "/v1/stats?bucket=1m");
    expect(res.status).toBe(200);
    expect(res.body.counts.succeeded).toBeGreaterThan(0);
    expect(res.body.series.reduce((n: number, b: any) => n + b.succeeded, 0)).toBe(res.body.counts.succeeded);
  });

  it("a tenant token counts only its tenant", async () => {
    const res = await herald.api("GET", "/v1/stats", undefined, { token: GLOBEX });
    expect(res.body.counts.succeeded).toBe(0);
  });
});

describe("secure by default", () => {
  it("refuses plain-HTTP and private destinations unless the config allows them", async () => {
    const strict = await startHerald(testConfig({ delivery: { https_only: true, allow_private_networks: false } }));
    try {
      const refused = [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://10.1.2.3/x",
        "https://[::1]/x",
        "https://localhost/x",
        "https://user:pw@hooks.example.com/x",
      ];
      for (const url of refused) {
        const res = await strict.api("POST", "/v1/destinations", { url });
        expect({ url, status: res.status, path: res.body.details?.[0]?.path }).toEqual({ url, status: 400, path: "url" });
      }
      expect((await strict.api("POST", "/v1/destinations", { url: "https://hooks.example.com/x" })).status).toBe(201);
    } finally {
      await strict.stop();
    }
  });
});
