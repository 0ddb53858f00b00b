// The audit log records every kind of management change, on every store: one
// test per kind checks its entry — who (actor), what (action), which resource
// and tenant, and the fields changed — read back through GET /v1/audit.
import { afterEach, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { eventually } from "./support/eventually.ts";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";
import { backfillJob } from "./store/records.ts";
import { newId } from "../src/store/ids.ts";

const R = "[redacted]";
const iso = (ms: number) => new Date(ms).toISOString();

describeOnEachStore("the audit log records", () => {
  let herald: TestHerald;
  let receiver: Receiver;
  afterEach(async () => {
    await herald?.stop();
    await receiver?.stop();
  });

  function config(overrides: Record<string, any> = {}) {
    return testConfig({ auth: adminAndTenantTokens(), event_types: [{ name: "order.paid" }], ...overrides });
  }

  async function start(overrides: Record<string, any> = {}, answers: { status: number }[] = []) {
    receiver = startReceiver(answers);
    herald = await startHerald(config(overrides));
  }

  /** The entries a query finds, newest first (as the admin token reads them). */
  async function entries(query = ""): Promise<any[]> {
    const res = await herald.api("GET", `/v1/audit${query}`);
    expect(res.status).toBe(200);
    return res.body.data;
  }

  /** The one entry of `action` on `id`. */
  async function only(action: string, id: string): Promise<any> {
    const found = (await entries(`?resource_id=${encodeURIComponent(id)}`)).filter((e) => e.action === action);
    expect(found.map((e) => e.action)).toEqual([action]);
    return found[0];
  }

  async function createDestination(body: Record<string, unknown> = {}, token?: string): Promise<string> {
    const res = await herald.api("POST", "/v1/destinations", { url: receiver.url, tenant: "acme", ...body }, { token });
    expect(res.status).toBe(201);
    return res.body.id;
  }

  const admin = { type: "token", name: "admin" };

  it("event type create, update and delete, by the admin token, with the fields changed", async () => {
    await start();
    expect((await herald.api("POST", "/v1/event-types", { name: "invoice.sent", description: "sent", example: { n: 1 } })).status).toBe(201);
    expect((await herald.api("PATCH", "/v1/event-types/invoice.sent", { description: "mailed" })).status).toBe(200);
    expect((await herald.api("DELETE", "/v1/event-types/invoice.sent")).status).toBe(204);

    expect(await only("event_type.created", "invoice.sent")).toMatchObject({
      actor: admin, resource: { type: "event_type", id: "invoice.sent" }, tenant: null,
      changes: { description: { from: null, to: "sent" }, example: { from: null, to: { n: 1 } } },
    });
    expect((await only("event_type.updated", "invoice.sent")).changes).toEqual({ description: { from: "sent", to: "mailed" } });
    expect((await only("event_type.deleted", "invoice.sent")).changes).toEqual({
      description: { from: "mailed", to: null }, example: { from: { n: 1 }, to: null },
    });
    // Newest first, ids in time order, `at` an ISO time.
    const all = await entries("?resource_type=event_type&resource_id=invoice.sent");
    expect(all.map((e) => e.action)).toEqual(["event_type.deleted", "event_type.updated", "event_type.created"]);
    expect(all.every((e) => e.id.startsWith("aud_") && e.at === iso(Date.parse(e.at)))).toBe(true);
  });

  it("destination create, update and delete, under the tenant token that made them", async () => {
    await start();
    const id = await createDestination({ description: "crm", rate_limit: 5 }, ACME_TOKEN);
    expect((await herald.api("PATCH", `/v1/destinations/${id}`, { description: "CRM", rate_limit: null }, { token: ACME_TOKEN })).status).toBe(200);
    expect((await herald.api("DELETE", `/v1/destinations/${id}`, undefined, { token: ACME_TOKEN })).status).toBe(204);

    const acme = { type: "token", name: "acme" };
    const created = await only("destination.created", id);
    expect(created).toMatchObject({ actor: acme, resource: { type: "destination", id }, tenant: "acme" });
    expect(created.changes).toMatchObject({
      url: { from: null, to: receiver.url }, description: { from: null, to: "crm" }, rate_limit: { from: null, to: 5 },
      enabled: { from: null, to: true }, secret: { from: null, to: R },
    });
    expect((await only("destination.updated", id)).changes).toEqual({ description: { from: "crm", to: "CRM" }, rate_limit: { from: 5, to: null } });
    const removed = await only("destination.deleted", id);
    expect(removed).toMatchObject({ actor: acme, tenant: "acme" });
    expect(removed.changes).toMatchObject({ url: { from: receiver.url, to: null }, secret: { from: R, to: null } });
  });

  it("disable and enable, with the reason", async () => {
    await start();
    const id = await createDestination();
    expect((await herald.api("POST", `/v1/destinations/${id}/disable`, { reason: "maintenance" })).status).toBe(200);
    expect((await herald.api("POST", `/v1/destinations/${id}/enable`, {})).status).toBe(200);
    expect(await only("destination.disabled", id)).toMatchObject({
      actor: admin, resource: { type: "destination", id }, tenant: "acme",
      changes: { enabled: { from: true, to: false }, disabled_reason: { from: null, to: "maintenance" } },
    });
    expect((await only("destination.enabled", id)).changes).toEqual({
      enabled: { from: false, to: true }, disabled_reason: { from: "maintenance", to: null },
    });
  });

  it("a secret rotation, with the secret redacted on both sides", async () => {
    await start();
    const id = await createDestination();
    expect((await herald.api("POST", `/v1/destinations/${id}/rotate-secret`, {})).status).toBe(200);
    expect(await only("destination.secret_rotated", id)).toMatchObject({
      actor: admin, resource: { type: "destination", id }, tenant: "acme", changes: { secret: { from: R, to: R } },
    });
  });

  it("a test send", async () => {
    await start();
    const id = await createDestination();
    expect((await herald.api("POST", `/v1/destinations/${id}/test`, {})).status).toBe(200);
    expect(await only("destination.tested", id)).toMatchObject({ actor: admin, resource: { type: "destination", id }, tenant: "acme" });
  });

  it("a recover of failed deliveries, with how many it re-queued and its window", async () => {
    // The first answer is 410 Gone: the delivery fails at once (and the destination is disabled).
    await start({}, [{ status: 410 }]);
    const id = await createDestination();
    expect((await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["*"] })).status).toBe(201);
    expect((await herald.api("POST", "/v1/events", { type: "order.paid", tenant: "acme", data: {} })).status).toBe(202);
    await receiver.waitFor(1);
    await herald.app.engine.idle();
    const since = herald.clock.now() - 60_000;
    const res = await herald.api("POST", `/v1/destinations/${id}/recover`, { since: iso(since) });
    expect(res.body).toEqual({ requeued: 1 });
    expect(await only("destination.recovered", id)).toMatchObject({
      actor: admin, resource: { type: "destination", id }, tenant: "acme",
      changes: { requeued: { from: null, to: 1 }, window: { from: null, to: { since } } },
    });
  });

  it("a manual retry of a delivery", async () => {
    await start();
    const id = await createDestination();
    expect((await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["*"] })).status).toBe(201);
    expect((await herald.api("POST", "/v1/events", { type: "order.paid", tenant: "acme", data: {} })).status).toBe(202);
    await receiver.waitFor(1);
    await herald.app.engine.idle();
    const [delivery] = (await herald.api("GET", `/v1/deliveries?destination_id=${id}`)).body.data;
    expect((await herald.api("POST", `/v1/deliveries/${delivery.id}/retry`, undefined, { token: ACME_TOKEN })).status).toBe(202);
    expect(await only("delivery.retried", delivery.id)).toMatchObject({
      actor: { type: "token", name: "acme" }, resource: { type: "delivery", id: delivery.id }, tenant: "acme",
    });
  });

  it("the cancel of an event's scheduled deliveries", async () => {
    await start();
    const id = await createDestination();
    expect((await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["*"] })).status).toBe(201);
    const published = await herald.api("POST", "/v1/events", {
      type: "order.paid", tenant: "acme", data: {}, deliver_at: iso(herald.clock.now() + 3_600_000),
    });
    expect(published.status).toBe(202);
    expect((await herald.api("POST", `/v1/events/${published.body.id}/cancel`)).body.cancelled).toBe(1);
    expect(await only("event.cancelled", published.body.id)).toMatchObject({
      actor: admin, resource: { type: "event", id: published.body.id }, tenant: "acme", changes: { cancelled: { from: null, to: 1 } },
    });
  });

  it("a backfill's start and cancel", async () => {
    await start();
    const id = await createDestination();
    const sub = await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["*"] });
    const since = herald.clock.now() - 60_000;
    const job = await herald.api("POST", `/v1/subscriptions/${sub.body.id}/backfill`, { since: iso(since) });
    expect(job.status).toBe(202);
    expect(await only("backfill.started", job.body.id)).toMatchObject({
      actor: admin, resource: { type: "backfill", id: job.body.id }, tenant: "acme",
      changes: { subscription_id: { from: null, to: sub.body.id }, since: { from: null, to: since } },
    });
    // A running job held by an instance that never sweeps here: the cancel finds it running, whatever the timing.
    const held = backfillJob({
      id: newId("bkf", herald.clock.now()), subscription_id: sub.body.id, destination_id: id, tenant: "acme",
      lease_owner: "ins_elsewhere", lease_until: herald.clock.now() + 3_600_000,
    });
    await herald.app.store.backfills.create(held);
    expect((await herald.api("POST", `/v1/backfills/${held.id}/cancel`, undefined, { token: ACME_TOKEN })).status).toBe(200);
    expect(await only("backfill.cancelled", held.id)).toMatchObject({
      actor: { type: "token", name: "acme" }, resource: { type: "backfill", id: held.id }, tenant: "acme",
      changes: { status: { from: "running", to: "cancelled" } },
    });
  });

  it("subscription create, update and delete", async () => {
    await start();
    const id = await createDestination();
    const sub = await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["order.*"] });
    expect(sub.status).toBe(201);
    const sid = sub.body.id;
    expect((await herald.api("PATCH", `/v1/subscriptions/${sid}`, { event_types: ["order.paid"], filter: { "data.total": { $gt: 5 } } })).status).toBe(200);
    expect((await herald.api("DELETE", `/v1/subscriptions/${sid}`)).status).toBe(204);
    expect(await only("subscription.created", sid)).toMatchObject({
      actor: admin, resource: { type: "subscription", id: sid }, tenant: "acme",
      changes: { destination_id: { from: null, to: id }, event_types: { from: null, to: ["order.*"] }, enabled: { from: null, to: true } },
    });
    expect((await only("subscription.updated", sid)).changes).toEqual({
      event_types: { from: ["order.*"], to: ["order.paid"] }, filter: { from: null, to: { "data.total": { $gt: 5 } } },
    });
    expect((await only("subscription.deleted", sid)).changes).toMatchObject({ destination_id: { from: id, to: null } });
  });

  it("the config's reconcile, as actor config, and nothing when a restart finds the file unchanged", async () => {
    receiver = startReceiver();
    const declared = (url: string, extra: Record<string, unknown> = {}) =>
      config({
        destinations: [{ id: "crm", url, tenant: "acme", headers: { "x-auth-token": "tok-1" }, ...extra }],
        subscriptions: [{ id: "crm-all", destination: "crm", event_types: ["*"] }],
      });
    herald = await startHerald(declared(receiver.url));
    const configActor = { type: "config", name: "config" };
    expect(await only("destination.created", "crm")).toMatchObject({
      actor: configActor, tenant: "acme", changes: { url: { from: null, to: receiver.url }, headers: { "x-auth-token": { from: null, to: R } } },
    });
    expect(await only("subscription.created", "crm-all")).toMatchObject({ actor: configActor, tenant: "acme" });
    expect(await only("event_type.created", "order.paid")).toMatchObject({ actor: configActor, tenant: null });
    const before = (await entries()).length;

    // The same file again: nothing changed, nothing recorded.
    await herald.app.reload(declared(receiver.url));
    expect((await entries()).length).toBe(before);

    // A changed file: only what changed, header values redacted; a resource that left the file is deleted.
    await herald.app.reload(
      config({ destinations: [{ id: "crm", url: receiver.url, tenant: "acme", headers: { "x-auth-token": "tok-2" }, enabled: false }] }),
    );
    expect((await only("destination.updated", "crm")).changes).toEqual({
      enabled: { from: true, to: false }, disabled_reason: { from: null, to: "disabled in the config file" },
      headers: { "x-auth-token": { from: R, to: R } },
    });
    expect(await only("subscription.deleted", "crm-all")).toMatchObject({ actor: configActor });
  });

  it("Herald's own disabling on a 410 Gone, as actor herald", async () => {
    await start({}, [{ status: 410 }]);
    const id = await createDestination();
    expect((await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["*"] })).status).toBe(201);
    expect((await herald.api("POST", "/v1/events", { type: "order.paid", tenant: "acme", data: {} })).status).toBe(202);
    await receiver.waitFor(1);
    await herald.app.engine.idle();
    // Written right after the attempt's record, off the delivery path: polled with a deadline.
    const found = await eventually(async () => {
      const written = await entries(`?action=destination.disabled&resource_id=${id}`);
      return written.length ? written : undefined;
    }, "the destination.disabled entry", 20_000);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      actor: { type: "herald", name: herald.app.engine.deps.instance }, tenant: "acme",
      changes: { enabled: { from: true, to: false }, disabled_reason: { from: null, to: "the endpoint answered 410 Gone" } },
    });
  });

  it("Herald's own disabling of a destination failing longer than disable_after, as actor herald", async () => {
    await start({ delivery: { disable_after: "1h" } });
    const id = await createDestination();
    const current = (await herald.app.store.catalog.getDestination(id))!;
    await herald.app.store.catalog.updateDestination({ ...current, failing_since: herald.clock.now() - 2 * 3_600_000 });
    expect((await herald.app.engine.sweeper.runOnce(herald.clock.now())).disabled).toEqual([id]);
    const entry = await only("destination.disabled", id);
    expect(entry).toMatchObject({ actor: { type: "herald", name: herald.app.engine.deps.instance }, tenant: "acme" });
    expect(entry.changes.enabled).toEqual({ from: true, to: false });
    expect(entry.changes.disabled_reason.to).toStartWith("failing since ");
  });

  it("the request id the answer carries: the client's, or Herald's own when it sends none or an unusable one", async () => {
    await start();
    const create = (name: string, headers: Record<string, string> = {}) =>
      fetch(herald.url + "/v1/event-types", {
        method: "POST",
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json", ...headers },
        body: JSON.stringify({ name }),
      });
    const withId = await create("a.one", { "x-request-id": "req-42" });
    expect(withId.status).toBe(201);
    expect(withId.headers.get("x-request-id")).toBe("req-42");
    const without = await create("a.two");
    const unusable = await create("a.three", { "x-request-id": "has spaces and\ttabs" });
    expect((await only("event_type.created", "a.one")).request_id).toBe("req-42");
    // Never what the client sent when it is not a plain token; the id the answer carries, so log, answer and audit agree.
    const two = (await only("event_type.created", "a.two")).request_id;
    const three = (await only("event_type.created", "a.three")).request_id;
    expect(two).toMatch(/^req_[0-9a-f-]{36}$/);
    expect(two).toBe(without.headers.get("x-request-id"));
    expect(three).toMatch(/^req_[0-9a-f-]{36}$/);
    expect(three).toBe(unusable.headers.get("x-request-id"));
    expect(three).not.toContain("spaces");
  });
});
