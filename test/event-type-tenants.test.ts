// Event types limited to tenants, on every store: a type with a `tenants` list
// (config or API) is listed, read, published and received only within those
// tenants; another tenant's caller finds it exactly as it finds a missing type,
// and its `*` subscription never receives it, even when the fan-out is reached
// without the API's check. Admins see every type, with the list.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { ACME_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

describeOnEachStore("event types limited to tenants", () => {
  let herald: TestHerald;
  let acmeHooks: Receiver;
  let globexHooks: Receiver;
  const names = (list: { name: string }[]) => list.map((t) => t.name).filter((n) => !n.startsWith("herald."));

  beforeAll(async () => {
    acmeHooks = startReceiver();
    globexHooks = startReceiver();
    herald = await startHerald(
      testConfig({
        auth: adminAndTenantTokens(),
        event_types: [
          { name: "shared.ping" },
          { name: "globex.reactor-vented", example: { core: "secret-globex-example" }, tenants: ["globex"] },
        ],
      }),
    );
    // Made through the API, limited to acme.
    const created = await herald.api("POST", "/v1/event-types", { name: "acme.invoice-paid", tenants: ["acme"] });
    expect(created.status).toBe(201);
    expect(created.body.tenants).toEqual(["acme"]);
    for (const [tenant, token, receiver] of [["acme", ACME_TOKEN, acmeHooks], ["globex", GLOBEX_TOKEN, globexHooks]] as const) {
      const dst = await herald.api("POST", "/v1/destinations", { url: receiver.url, tenant }, { token });
      expect(dst.status).toBe(201);
      expect((await herald.api("POST", "/v1/subscriptions", { destination_id: dst.body.id, event_types: ["*"] }, { token })).status).toBe(201);
    }
  });
  afterAll(async () => {
    await herald?.stop();
    acmeHooks?.stop();
    globexHooks?.stop();
  });

  it("lists to a tenant the shared types and its own, without the tenants list; to an admin every type with it", async () => {
    const acme = await herald.api("GET", "/v1/event-types", undefined, { token: ACME_TOKEN });
    expect(acme.status).toBe(200);
    expect(names(acme.body.data)).toEqual(["acme.invoice-paid", "shared.ping"]);
    expect(acme.body.data.some((t: object) => "tenants" in t)).toBe(false);
    expect(JSON.stringify(acme.body)).not.toContain("globex");
    const globex = await herald.api("GET", "/v1/event-types", undefined, { token: GLOBEX_TOKEN });
    expect(names(globex.body.data)).toEqual(["globex.reactor-vented", "shared.ping"]);
    const admin = await herald.api("GET", "/v1/event-types");
    expect(names(admin.body.data)).toEqual(["acme.invoice-paid", "globex.reactor-vented", "shared.ping"]);
    const byName = new Map(admin.body.data.map((t: { name: string; tenants: unknown }) => [t.name, t.tenants]));
    expect(byName.get("globex.reactor-vented")).toEqual(["globex"]);
    expect(byName.get("shared.ping")).toBeNull();
  });

  it("answers another tenant's type as a missing one (404, the same body)", async () => {
    const hidden = await herald.api("GET", "/v1/event-types/globex.reactor-vented", undefined, { token: ACME_TOKEN });
    const missing = await herald.api("GET", "/v1/event-types/globex.reactor-ventex", undefined, { token: ACME_TOKEN });
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual({ ...missing.body, message: missing.body.message.replace("ventex", "vented") });
    expect((await herald.api("GET", "/v1/event-types/globex.reactor-vented", undefined, { token: GLOBEX_TOKEN })).status).toBe(200);
    expect((await herald.api("GET", "/v1/event-types/globex.reactor-vented")).body.tenants).toEqual(["globex"]);
  });

  it("refuses a tenant's publish of another tenant's type as an unknown type (400, the same body)", async () => {
    const hidden = await herald.api("POST", "/v1/events", { type: "globex.reactor-vented", data: {} }, { token: ACME_TOKEN });
    const missing = await herald.api("POST", "/v1/events", { type: "globex.reactor-ventex", data: {} }, { token: ACME_TOKEN });
    expect(hidden.status).toBe(400);
    expect(missing.body.message).toContain("is not in the catalogue");
    expect(JSON.stringify(hidden.body)).toBe(JSON.stringify(missing.body).replaceAll("ventex", "vented"));
    // An admin publishing for acme is refused too, and told why.
    const admin = await herald.api("POST", "/v1/events", { type: "globex.reactor-vented", tenant: "acme", data: {} });
    expect(admin.status).toBe(400);
    expect(admin.body.error).toBe(missing.body.error);
    expect(admin.body.message).toContain("limited to tenants globex");
  });

  it("delivers a private type only to its tenants' subscriptions", async () => {
    const published = await herald.api("POST", "/v1/events", { type: "globex.reactor-vented", data: { n: 1 } }, { token: GLOBEX_TOKEN });
    expect(published.status).toBe(202);
    expect(published.body.deliveries).toBe(1);
    await herald.app.engine.idle();
    expect(globexHooks.requests.map((r) => JSON.parse(r.body).type)).toContain("globex.reactor-vented");
  });

  it("fans an event of another tenant's type out to nothing, even past the API's check (a `*` subscription included)", async () => {
    // The publisher's own write path, without the HTTP check: the fan-out must hold the line by itself.
    const outcome = await herald.app.engine.publisher.publish({ type: "globex.reactor-vented", tenant: "acme", data: { n: 2 } });
    expect(outcome.ok && outcome.created).toBe(true);
    if (outcome.ok) expect(outcome.deliveries).toEqual([]);
    await herald.app.engine.idle();
    expect(acmeHooks.requests.filter((r) => JSON.parse(r.body).type === "globex.reactor-vented")).toEqual([]);
  });

  it("lends another tenant's example to no test send", async () => {
    const [dst] = (await herald.api("GET", "/v1/destinations", undefined, { token: ACME_TOKEN })).body.data;
    const sent = await herald.api("POST", `/v1/destinations/${dst.id}/test`, { event_type: "globex.reactor-vented" }, { token: ACME_TOKEN });
    expect(sent.status).toBe(200);
    expect(acmeHooks.requests.map((r) => r.body).join("\n")).not.toContain("secret-globex-example");
  });

  it("changes the list through PATCH (audited), back to every tenant with null, and refuses an empty or repeated list", async () => {
    const widened = await herald.api("PATCH", "/v1/event-types/acme.invoice-paid", { tenants: ["acme", "globex"] });
    expect(widened.status).toBe(200);
    expect(widened.body.tenants).toEqual(["acme", "globex"]);
    expect((await herald.api("GET", "/v1/event-types/acme.invoice-paid", undefined, { token: GLOBEX_TOKEN })).status).toBe(200);
    const audit = await herald.api("GET", "/v1/audit?resource_type=event_type&resource_id=acme.invoice-paid");
    expect(audit.body.data[0].changes.tenants).toEqual({ from: ["acme"], to: ["acme", "globex"] });
    const everyone = await herald.api("PATCH", "/v1/event-types/acme.invoice-paid", { tenants: null });
    expect(everyone.body.tenants).toBeNull();
    for (const [tenants, path] of [[[], "tenants"], [["acme", "acme"], "tenants[1]"], [["acme corp"], "tenants"]] as const) {
      const refused = await herald.api("PATCH", "/v1/event-types/acme.invoice-paid", { tenants });
      expect(refused.status).toBe(400);
      expect(refused.body.details.map((d: { path: string }) => d.path.replace(/\[\d+\]$/, path.endsWith("]") ? "$&" : ""))).toContain(path);
    }
    // Every repeat at its own index, as the config's check reports them, not only the first.
    const repeats = await herald.api("POST", "/v1/event-types", { name: "acme.repeats", tenants: ["acme", "globex", "acme", "globex"] });
    expect(repeats.status).toBe(400);
    expect(repeats.body.details).toEqual([
      { path: "tenants[2]", message: "names acme a second time" },
      { path: "tenants[3]", message: "names globex a second time" },
    ]);
    // Reads back as written after a reload from the store.
    await herald.api("PATCH", "/v1/event-types/acme.invoice-paid", { tenants: ["acme"] });
    expect((await herald.app.store.catalog.getEventType("acme.invoice-paid"))!.tenants).toEqual(["acme"]);
  });
});
