// Backfill end to end, on every store: events published before a subscription
// existed reach its destination after POST /v1/subscriptions/{id}/backfill —
// exactly those of its tenant, in the window, of a matching type and payload,
// and not sent to that destination already — once each, with progress on the
// job; a second backfill of the window creates nothing. Then the API's edges:
// bad windows, unknown and other tenants' subscriptions, listing, cancelling.
import { afterEach, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { eventually } from "./support/eventually.ts";
import { ACME_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

const SECOND = 1_000;
const iso = (ms: number) => new Date(ms).toISOString();

describeOnEachStore("backfill", () => {
  let herald: TestHerald;
  let late: Receiver;
  let other: Receiver;
  afterEach(async () => {
    await herald?.stop();
    await late?.stop();
    await other?.stop();
  });

  /**
   * acme's destination "late" subscribes at first to order.paid only; globex
   * has a destination of its own taking everything.
   */
  async function setup() {
    late = startReceiver();
    other = startReceiver();
    herald = await startHerald(configWith([]), { clockTimers: true });
  }

  function configWith(subscriptions: object[]) {
    return testConfig({
      auth: adminAndTenantTokens(),
      event_types: [{ name: "order.created" }, { name: "order.paid" }, { name: "invoice.sent" }],
      destinations: [
        { id: "late", url: late.url, tenant: "acme" },
        { id: "globex-all", url: other.url, tenant: "globex" },
      ],
      subscriptions: [
        { id: "late-paid", destination: "late", event_types: ["order.paid"] },
        { id: "globex-everything", destination: "globex-all", event_types: ["*"] },
        ...subscriptions,
      ],
    });
  }

  async function publish(type: string, tenant: string, data: unknown): Promise<string> {
    const res = await herald.api("POST", "/v1/events", { type, tenant, data });
    expect(res.status).toBe(202);
    herald.clock.advance(SECOND);
    return res.body.id;
  }

  /** Polls the job until it is no longer running (the work is on real I/O: a deadline, not a sleep). */
  async function finished(id: string, token?: string): Promise<any> {
    return eventually(async () => {
      const res = await herald.api("GET", `/v1/backfills/${id}`, undefined, token ? { token } : {});
      expect(res.status).toBe(200);
      return res.body.status === "running" ? undefined : res.body;
    }, `backfill ${id} to finish`);
  }

  const ids = (receiver: Receiver) => receiver.requests.map((r) => r.headers["webhook-id"]);

  it("delivers exactly the matching, in-window events not yet sent there, once each; a second run creates none", async () => {
    await setup();
    const before = await publish("order.created", "acme", { region: "eu", n: 0 });
    const since = herald.clock.now();
    const created1 = await publish("order.created", "acme", { region: "eu", n: 1 });
    const wrongRegion = await publish("order.created", "acme", { region: "us", n: 2 });
    const paid = await publish("order.paid", "acme", { region: "eu", n: 3 }); // sent already, through late-paid
    const wrongType = await publish("invoice.sent", "acme", { region: "eu", n: 4 });
    const globex = await publish("order.created", "globex", { region: "eu", n: 5 });
    const created2 = await publish("order.created", "acme", { region: "eu", n: 6 });
    const until = herald.clock.now();
    const after = await publish("order.created", "acme", { region: "eu", n: 7 });
    await late.waitFor(1);
    await herald.app.engine.idle();
    expect(ids(late)).toEqual([paid]);

    const sub = await herald.api("POST", "/v1/subscriptions", {
      id: "late-orders", destination_id: "late", event_types: ["order.*"], filter: { "data.region": "eu" },
    });
    expect(sub.status).toBe(201);
    const started = await herald.api("POST", "/v1/subscriptions/late-orders/backfill", { since: iso(since), until: iso(until) }, { token: ACME_TOKEN });
    expect(started.status).toBe(202);
    const job: string = started.body.id;
    expect(job).toMatch(/^bkf_/);
    expect(started.body).toMatchObject({
      subscription_id: "late-orders", destination_id: "late", since: iso(since), until: iso(until),
      status: "running", events_scanned: 0, deliveries_created: 0, finished_at: null, error: null,
    });

    const done = await finished(job, ACME_TOKEN);
    // acme's five events in the window are read (globex's is not); two of them match and were never sent to "late".
    expect(done).toMatchObject({ status: "completed", events_scanned: 5, deliveries_created: 2, error: null, finished_at: expect.any(String) });
    await late.waitFor(3);
    await herald.app.engine.idle();
    expect(ids(late).sort()).toEqual([paid, created1, created2].sort());
    const bodies = late.requests.slice(1).map((r) => JSON.parse(r.body).data.n).sort();
    expect(bodies).toEqual([1, 6]);
    // The new deliveries belong to the backfilled subscription and succeeded.
    const deliveries = (await herald.api("GET", "/v1/deliveries?destination_id=late")).body.data;
    expect(deliveries.map((d: any) => [d.event_id, d.subscription_id, d.status]).sort()).toEqual(
      [[paid, "late-paid", "succeeded"], [created1, "late-orders", "succeeded"], [created2, "late-orders", "succeeded"]].sort(),
    );

    // The same window again: nothing new, nothing sent twice.
    const again = await herald.api("POST", "/v1/subscriptions/late-orders/backfill", { since: iso(since), until: iso(until) });
    expect(again.status).toBe(202);
    expect(await finished(again.body.id)).toMatchObject({ status: "completed", events_scanned: 5, deliveries_created: 0 });
    // A wider window (until defaults to now) takes only what lay outside the first: `before` and `after`.
    const wider = await herald.api("POST", "/v1/subscriptions/late-orders/backfill", { since: iso(since - 10 * SECOND) });
    expect(await finished(wider.body.id)).toMatchObject({ status: "completed", events_scanned: 7, deliveries_created: 2 });
    await late.waitFor(5);
    await herald.app.engine.sweeper.runOnce(herald.clock.now());
    await herald.app.engine.idle();
    expect(ids(late).sort()).toEqual([paid, created1, created2, before, after].sort());
    expect(new Set(ids(late)).size).toBe(5);
    expect(ids(other)).toEqual([globex]);
    expect(ids(late)).not.toContain(wrongRegion);
    expect(ids(late)).not.toContain(wrongType);

    // Listed, newest first, within the tenant's scope.
    const listed = await herald.api("GET", "/v1/backfills?subscription_id=late-orders", undefined, { token: ACME_TOKEN });
    expect(listed.body.data.map((j: any) => j.id)).toEqual([wider.body.id, again.body.id, job]);
    const paged = await herald.api("GET", "/v1/backfills?subscription_id=late-orders&limit=2");
    expect(paged.body.next_cursor).toBe(again.body.id);
    const rest = await herald.api("GET", `/v1/backfills?subscription_id=late-orders&limit=2&cursor=${paged.body.next_cursor}`);
    expect(rest.body).toEqual({ data: [expect.objectContaining({ id: job })], next_cursor: null });
    expect((await herald.api("GET", "/v1/backfills", undefined, { token: GLOBEX_TOKEN })).body.data).toEqual([]);
    expect((await herald.api("GET", `/v1/backfills/${job}`, undefined, { token: GLOBEX_TOKEN })).status).toBe(404);
  });

  it("answers 202 with the job's URL in location", async () => {
    await setup();
    const response = await fetch(`${herald.url}/v1/subscriptions/late-paid/backfill`, {
      method: "POST",
      headers: { authorization: `Bearer ${ACME_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ since: iso(herald.clock.now() - 60 * SECOND) }),
    });
    expect(response.status).toBe(202);
    const job = (await response.json()) as { id: string };
    expect(response.headers.get("location")).toBe(`/v1/backfills/${job.id}`);
    expect((await herald.api("GET", response.headers.get("location")!, undefined, { token: ACME_TOKEN })).body.id).toBe(job.id);
  });

  it("keeps a finished job for retention.keep, then the retention sweep deletes it; a running one stays", async () => {
    await setup();
    const since = herald.clock.now() - 60 * SECOND;
    const done = await herald.api("POST", "/v1/subscriptions/late-paid/backfill", { since: iso(since) });
    expect((await finished(done.body.id)).status).toBe("completed");
    // A job still running (left by an instance that stopped mid-way): its row, as the store keeps it.
    const running = await herald.api("POST", "/v1/subscriptions/globex-everything/backfill", { since: iso(since) });
    await finished(running.body.id);
    await herald.app.store.backfills.create({
      ...(await herald.app.store.backfills.get(running.body.id))!, id: "bkf_left_running", status: "running", finished_at: null,
      lease_owner: herald.app.engine.deps.instance, lease_until: herald.clock.now() + 3_600_000,
    });
    const keep = herald.app.config.retention.keep;
    herald.clock.advance(keep - SECOND);
    await herald.app.engine.retention.runOnce(herald.clock.now());
    expect((await herald.api("GET", `/v1/backfills/${done.body.id}`)).status).toBe(200);
    herald.clock.advance(2 * SECOND);
    await herald.app.engine.retention.runOnce(herald.clock.now());
    expect((await herald.api("GET", `/v1/backfills/${done.body.id}`)).status).toBe(404);
    expect((await herald.api("GET", `/v1/backfills/${running.body.id}`)).status).toBe(404);
    expect((await herald.api("GET", "/v1/backfills/bkf_left_running")).body.status).toBe("running");
  });

  it("refuses bad windows, unknown subscriptions and another tenant's, with the path of each problem", async () => {
    await setup();
    const now = herald.clock.now();
    const post = (body: unknown, id = "late-paid", token?: string) =>
      herald.api("POST", `/v1/subscriptions/${id}/backfill`, body, token ? { token } : {});
    const detailPaths = (res: { body: any }) => res.body.details?.map((d: any) => d.path);

    const reversed = await post({ since: iso(now - 1000), until: iso(now - 2000) });
    expect(reversed.status).toBe(400);
    expect(detailPaths(reversed)).toEqual(["until"]);
    const future = await post({ since: iso(now - 1000), until: iso(now + 60_000) });
    expect(future.status).toBe(400);
    expect(future.body.details).toEqual([{ path: "until", message: "must not be in the future" }]);
    const missing = await post({ until: iso(now - 1000) });
    expect(missing.status).toBe(400);
    expect(detailPaths(missing)).toEqual(["since"]);
    const noZone = await post({ since: "2026-01-01T00:00:00" });
    expect(noZone.status).toBe(400);
    expect(detailPaths(noZone)).toEqual(["since"]);
    const stray = await post({ since: iso(now - 1000), limit: 5 });
    expect(stray.status).toBe(400);
    expect(detailPaths(stray)).toEqual(["limit"]);
    const ahead = await post({ since: iso(now + 1000) });
    expect(ahead.status).toBe(400);
    expect(detailPaths(ahead)).toEqual(["since"]);

    const unknown = await post({ since: iso(now - 1000) }, "sub_nothing");
    expect(unknown.status).toBe(404);
    // globex's subscription reads as missing to acme, and starts nothing.
    const foreign = await post({ since: iso(now - 1000) }, "globex-everything", ACME_TOKEN);
    expect(foreign.status).toBe(404);
    expect((await herald.api("GET", "/v1/backfills")).body.data).toEqual([]);
    // A job of another tenant cannot be cancelled either.
    const mine = await post({ since: iso(now - 1000) }, "globex-everything", GLOBEX_TOKEN);
    expect(mine.status).toBe(202);
    expect((await herald.api("POST", `/v1/backfills/${mine.body.id}/cancel`, undefined, { token: ACME_TOKEN })).status).toBe(404);
    expect((await herald.api("GET", `/v1/backfills/nothing`)).status).toBe(404);
  });

  it("backfills a config-managed subscription to a disabled destination: its deliveries wait, pending, until it is enabled", async () => {
    await setup();
    const since = herald.clock.now();
    const created = await publish("order.created", "acme", { n: 1 });
    // Restarted with a subscription of "late" to order.created declared in the config, on the same store and clock.
    await herald.app.stop();
    const clock = herald.clock;
    const config = configWith([{ id: "late-created", destination: "late", event_types: ["order.created"] }]);
    herald = await startHerald({ ...config, storage: herald.app.config.storage }, { clock, clockTimers: true });
    expect((await herald.api("GET", "/v1/subscriptions/late-created")).body.managed_by).toBe("config");
    expect((await herald.api("POST", "/v1/destinations/late/disable", {})).status).toBe(200);

    const job = await herald.api("POST", "/v1/subscriptions/late-created/backfill", { since: iso(since) });
    expect(job.status).toBe(202);
    expect(await finished(job.body.id)).toMatchObject({ status: "completed", events_scanned: 1, deliveries_created: 1 });
    await herald.app.engine.sweeper.runOnce(herald.clock.now());
    await herald.app.engine.idle();
    const waiting = (await herald.api("GET", "/v1/deliveries?destination_id=late")).body.data;
    expect(waiting.map((d: any) => [d.event_id, d.status])).toEqual([[created, "pending"]]);
    expect(late.requests).toEqual([]);

    expect((await herald.api("POST", "/v1/destinations/late/enable", {})).status).toBe(200);
    await late.waitFor(1);
    await herald.app.engine.idle();
    expect(ids(late)).toEqual([created]);
  });
});
