// Parked rows end to end, on each store, with real receivers: a disabled
// destination's backlog waits parked (out of the claim's way) while other
// destinations are delivered, and all of it goes out after an enable, a move
// larger than one settle chunk; an open breaker's backlog is parked too, a
// probe still goes out, and the backlog drains once the receiver is back.
import { afterEach, expect, it } from "bun:test";
import type { Herald } from "../src/app.ts";
import { PostgresStore } from "../src/store/postgres/postgres-store.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { until } from "./support/eventually.ts";
import { startHerald, testConfig, verifyWithStandardWebhooks, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Answer, type Receiver } from "./support/receiver.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

/** A destination's pending rows: how many are parked, how many due. */
async function pendingOf(app: Herald, destinationId: string): Promise<{ parked: number; due: number }> {
  const text = `SELECT count(CASE WHEN parked THEN 1 END) AS parked, count(CASE WHEN parked THEN NULL ELSE 1 END) AS due
    FROM deliveries WHERE destination_id = '${destinationId}' AND status = 'pending'`;
  const store = app.store;
  const [row] =
    store instanceof SqliteStore ? (store.db.query(text).all() as Record<string, unknown>[])
    : store instanceof PostgresStore ? ((await store.sql.unsafe(text)) as Record<string, unknown>[])
    : [];
  return { parked: Number(row!.parked), due: Number(row!.due) };
}

const received = (receiver: Receiver) => new Set(receiver.requests.map((r) => r.headers["webhook-id"]!)).size;

describeOnEachStore("parked rows", () => {
  let herald: TestHerald | undefined;
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    for (const r of receivers.splice(0)) await r.stop();
  });

  async function publishBatches(count: number): Promise<void> {
    for (let i = 0; i < count; i += 100) {
      const events = Array.from({ length: Math.min(100, count - i) }, (_, k) => ({ type: "job.done", data: { i: i + k } }));
      const res = await herald!.api("POST", "/v1/events/batch", { events });
      expect(res.status).toBe(202);
    }
  }

  it("keeps a disabled destination's backlog parked while others are delivered, and delivers all of it after an enable", async () => {
    const shop = startReceiver();
    const other = startReceiver();
    receivers.push(shop, other);
    herald = await startHerald(
      testConfig({
        event_types: [{ name: "job.done" }],
        destinations: [
          { id: "shop", url: shop.url },
          { id: "other", url: other.url },
        ],
        subscriptions: [
          { id: "to-shop", destination: "shop", event_types: ["*"] },
          { id: "to-other", destination: "other", event_types: ["*"] },
        ],
      }),
    );
    expect((await herald.api("POST", "/v1/destinations/shop/disable", { reason: "maintenance" })).status).toBe(200);
    // More than one settle chunk (2,000): the unparking after the enable takes several.
    const EVENTS = 2_500;
    await publishBatches(EVENTS);
    await until(() => received(other) === EVENTS, "every event at the enabled destination", 60_000);
    await herald.app.engine.idle();
    expect(shop.requests.length).toBe(0);
    expect(await pendingOf(herald.app, "shop")).toEqual({ parked: EVENTS, due: 0 });

    expect((await herald.api("POST", "/v1/destinations/shop/enable")).status).toBe(200);
    await until(() => received(shop) === EVENTS, "every event at the destination enabled again", 60_000);
    await herald.app.engine.idle();
    expect(await pendingOf(herald.app, "shop")).toEqual({ parked: 0, due: 0 });
  }, 120_000);

  it("sends large events claimed from a backlog to every destination whole and signed (their data read once per claim)", async () => {
    const secret = `whsec_${Buffer.from("parked-rows-large-events-secret!").toString("base64")}`;
    const hooks = [startReceiver(), startReceiver(), startReceiver()];
    receivers.push(...hooks);
    herald = await startHerald(
      testConfig({
        event_types: [{ name: "job.done" }],
        destinations: hooks.map((hook, i) => ({ id: `d${i}`, url: hook.url, secret })),
        subscriptions: hooks.map((_, i) => ({ id: `to-d${i}`, destination: `d${i}`, event_types: ["*"] })),
      }),
    );
    for (let i = 0; i < hooks.length; i++) expect((await herald.api("POST", `/v1/destinations/d${i}/disable`, { reason: "maintenance" })).status).toBe(200);
    // Over SQLite's 8 KiB for data read with each claimed row: 20 KB, and ~12 KB in two-byte characters.
    const events = [
      { type: "job.done", data: { n: 0, blob: "x".repeat(20_000) } },
      { type: "job.done", data: { n: 1, note: "é".repeat(6_000) } },
      { type: "job.done", data: { n: 2 } },
    ];
    expect((await herald.api("POST", "/v1/events/batch", { events })).status).toBe(202);
    for (let i = 0; i < hooks.length; i++) expect((await herald.api("POST", `/v1/destinations/d${i}/enable`)).status).toBe(200);
    for (const hook of hooks) {
      await until(() => received(hook) === events.length, "every event at each destination");
      const bodies = hook.requests.map((request) => verifyWithStandardWebhooks(secret, request) as { data: { n: number } });
      expect(bodies.map((body) => body.data).sort((a, b) => a.n - b.n)).toEqual(events.map((e) => e.data));
    }
  });

  it("parks an open breaker's backlog, still probes it, and drains it once the receiver is back", async () => {
    const answer: Answer = { status: 503 };
    const shop = startReceiver([], answer);
    receivers.push(shop);
    herald = await startHerald(
      testConfig({
        delivery: { retry_schedule: ["2s", "5s", "10s", "30s"], breaker: { failures: 3, probe_every: "10s" } },
        event_types: [{ name: "job.done" }],
        destinations: [{ id: "shop", url: shop.url }],
        subscriptions: [{ id: "to-shop", destination: "shop", event_types: ["*"] }],
      }),
      { clockTimers: true },
    );
    const { clock, app } = herald;
    const tick = async () => {
      clock.advance(1_000);
      if ((clock.now() / 1_000) % 5 < 1) await app.engine.sweeper.runOnce(clock.now());
      await app.engine.idle();
    };
    await publishBatches(5);
    await until(async () => (await herald!.api("GET", "/v1/destinations/shop")).body.breaker === "open", "the breaker to open");
    await app.engine.idle();
    await publishBatches(300);
    await app.engine.sweeper.runOnce(clock.now());
    await app.engine.idle();
    const held = await pendingOf(app, "shop");
    expect(held.parked + held.due).toBe(305);
    // A retry recorded after the move is written parked too. On PostgreSQL a
    // record batch committing beside the one that opened the breaker may still
    // have read it closed (READ COMMITTED): at most the five sends in flight
    // then stay unparked, held back by the claim's filter. SQLite's one writer
    // leaves no such window.
    expect(held.due).toBeLessThanOrEqual(app.store instanceof SqliteStore ? 0 : 5);
    // Still down: a probe goes out at the probe time, out of the parked rows.
    const before = shop.requests.length;
    for (let i = 0; i < 11; i++) await tick();
    expect(shop.requests.length).toBeGreaterThan(before);
    expect(shop.requests.length).toBeLessThanOrEqual(before + 2);
    // Up again: the next probe succeeds, the breaker closes, the backlog drains.
    answer.status = 200;
    for (let i = 0; i < 60 && received(shop) < 305; i++) await tick();
    await until(() => received(shop) === 305, "every event once the receiver is back", 30_000);
    await app.engine.idle();
    expect(await pendingOf(app, "shop")).toEqual({ parked: 0, due: 0 });
  }, 120_000);
});
