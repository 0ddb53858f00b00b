// A publish burst larger than the in-memory queue: the deliveries past it are
// written leased (`delivering`) and read back in publish order as the queue
// drains (dispatcher.ts: ON_DISK_LEASES), instead of written pending and
// claimed. Every event still arrives once, signed; a lease that runs out while
// its row waits is returned by the sweep and the delivery still goes out once;
// a clean stop hands the waiting leases back.
import { afterEach, describe, expect, it } from "bun:test";
import { secretOf, startHerald, testConfig, TestClock, verifyWithStandardWebhooks, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Answer, type Receiver } from "./support/receiver.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

/** With concurrency 1 the in-memory queue holds 1,024 leases (its floor), and as many may wait on disk: 2,000 events overflow the first. */
const EVENTS = 2_000;

let herald: TestHerald | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await herald?.stop();
  await receiver?.stop();
  herald = receiver = undefined;
});

/** One sender to one destination; the receiver answers by `script`: its first answer held until released. */
async function start(clock?: TestClock, script: Answer[] = [{ hang: true }]): Promise<TestHerald> {
  receiver = startReceiver(script);
  herald = await startHerald(
    testConfig({
      delivery: { concurrency: 1 },
      event_types: [{ name: "order.paid" }],
      destinations: [{ id: "shop", url: receiver.url }],
      subscriptions: [{ id: "to-shop", destination: "shop", event_types: ["*"] }],
    }),
    clock ? { clock } : {},
  );
  return herald;
}

/** Publishes `n` events in batches of 500 and waits for the first send; answers their ids in order. */
async function publishAll(h: TestHerald, n = EVENTS): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i += 500) {
    const events = Array.from({ length: Math.min(500, n - i) }, (_, k) => ({ type: "order.paid", data: { n: i + k } }));
    const answer = await h.api("POST", "/v1/events/batch", { events });
    expect(answer.status).toBe(202);
    for (const e of answer.body.data as { id: string }[]) ids.push(e.id);
  }
  await receiver!.waitFor(1);
  return ids;
}

const count = async (h: TestHerald, status: string) => (await h.app.store.log.countDeliveriesByStatus())[status] ?? 0;

describeOnEachStore("deliveries leased on disk past the in-memory queue", () => {

  it("writes the deliveries past the in-memory queue leased, reads them back in order, and delivers every event once", async () => {
    const h = await start();
    const ids = await publishAll(h);
    const { dispatcher } = h.app.engine;
    // Nothing went pending: the queue's 1,024 and the rest leased on disk.
    expect(dispatcher.leasedOnDisk).toBeGreaterThan(0);
    expect(dispatcher.queued + dispatcher.sending + dispatcher.leasedOnDisk).toBe(EVENTS);
    expect(await count(h, "pending")).toBe(0);
    expect(await count(h, "delivering")).toBe(EVENTS);
    // Operators see them waiting.
    const scrape = (await h.api("GET", "/metrics")).body as string;
    expect(scrape).toContain(`\nherald_dispatcher_leased_on_disk ${dispatcher.leasedOnDisk}\n`);
    receiver!.release();
    await receiver!.waitFor(EVENTS, 30_000);
    await h.app.engine.idle();
    const received = receiver!.requests.map((r) => r.headers["webhook-id"]);
    expect(received.length).toBe(EVENTS);
    // One sender: publish order kept, memory first, then the leases read back from disk.
    expect(received).toEqual(ids);
    const secret = await secretOf(h, "shop");
    for (const r of [receiver!.requests[0]!, receiver!.requests[1_500]!, receiver!.requests.at(-1)!]) verifyWithStandardWebhooks(secret, r);
    expect(await count(h, "succeeded")).toBe(EVENTS);
  }, 60_000);

  it("writes pending what the senders would not take within half a lease, and delivers every event once", async () => {
    const h = await start();
    // The clock stands still here: no send rate yet, so as many wait on disk as in memory, and the rest go pending.
    const extra = 1_000;
    await publishAll(h, EVENTS + extra);
    const { dispatcher } = h.app.engine;
    expect(dispatcher.leasedOnDisk).toBe(1_024);
    expect(await count(h, "pending")).toBe(EVENTS + extra - 1_024 - 1_024);
    receiver!.release();
    await receiver!.waitFor(EVENTS + extra, 30_000);
    await h.app.engine.idle();
    const received = receiver!.requests.map((r) => r.headers["webhook-id"]);
    expect(new Set(received).size).toBe(EVENTS + extra);
    expect(received.length).toBe(EVENTS + extra);
  }, 60_000);

  it("sends a delivery once when its lease ran out on disk and the sweep returned it", async () => {
    const clock = new TestClock();
    const h = await start(clock);
    await publishAll(h);
    expect(h.app.engine.dispatcher.leasedOnDisk).toBeGreaterThan(0);
    // Every lease runs out; the sweep returns the rows not being sent to pending.
    clock.advance(60 * 60_000);
    await h.app.engine.sweeper.runOnce(clock.now());
    expect(await count(h, "pending")).toBeGreaterThanOrEqual(EVENTS - 1 - h.app.engine.dispatcher.queued);
    receiver!.release();
    await receiver!.waitFor(EVENTS, 30_000);
    await h.app.engine.idle();
    // Once each; only the first, whose send outlasted its lease, may go out again (at-least-once).
    const received = receiver!.requests.map((r) => r.headers["webhook-id"]);
    expect(new Set(received).size).toBe(EVENTS);
    expect(received.slice(1).filter((id) => id !== received[0]).length).toBe(EVENTS - 1);
  }, 60_000);

  it("hands the leases on disk back when their destination is disabled, and sends them all once it is enabled", async () => {
    const h = await start();
    await publishAll(h);
    expect(h.app.engine.dispatcher.leasedOnDisk).toBeGreaterThan(0);
    expect((await h.api("POST", "/v1/destinations/shop/disable")).status).toBe(200);
    receiver!.release();
    await h.app.engine.idle();
    // Read back, found disabled, handed back: pending (parked), none sent but the one under way.
    expect(receiver!.requests.length).toBe(1);
    expect(await count(h, "delivering")).toBe(0);
    expect(await count(h, "pending")).toBe(EVENTS - 1);
    expect((await h.api("POST", "/v1/destinations/shop/enable")).status).toBe(200);
    await receiver!.waitFor(EVENTS, 30_000);
    await h.app.engine.idle();
    const received = receiver!.requests.map((r) => r.headers["webhook-id"]);
    expect(new Set(received).size).toBe(EVENTS);
    expect(received.length).toBe(EVENTS);
  }, 60_000);

  it("hands the leases waiting on disk back at a clean stop", async () => {
    const h = await start();
    await publishAll(h);
    expect(h.app.engine.dispatcher.leasedOnDisk).toBeGreaterThan(0);
    receiver!.release();
    // The engine stopped, the store still open: read what the stop left, before any restart could take leases back.
    await h.app.engine.stop();
    expect(h.app.engine.dispatcher.leasedOnDisk).toBe(0);
    expect(await count(h, "delivering")).toBe(0);
    expect((await count(h, "pending")) + (await count(h, "succeeded"))).toBe(EVENTS);
    expect(await count(h, "pending")).toBeGreaterThan(0);
  }, 60_000);
});

// With other instances sharing the job table, what a publish cannot keep in
// memory (two leases a sender) goes on disk only up to what this instance's
// senders take in 10 s (dispatcher.ts: SHARED_ON_DISK_MS), and nothing before
// it has a send rate: the rest is left pending, for any instance to claim.
// SQLite is never shared, and PostgreSQL's count of instances follows its
// table, so the dispatcher is told of the others here; its reservation is the
// same code on both stores.
describe("deliveries leased on disk while other instances share the job table", () => {
  it("keeps 10 s of its senders' rate on disk, leaves the rest pending, and delivers every event once", async () => {
    const clock = new TestClock();
    const FIRST = 200;
    // The first send and the first of the second burst are held until released.
    const h = await start(clock, [{ hang: true }, ...Array.from({ length: FIRST - 1 }, () => ({ status: 200 })), { hang: true }]);
    const { dispatcher } = h.app.engine;
    dispatcher.setInstanceCount(3);

    // No send rate yet: two leases in memory (one of them being sent), none on disk, the rest pending.
    await publishAll(h, FIRST);
    expect(dispatcher.leasedOnDisk).toBe(0);
    expect(await count(h, "pending")).toBe(FIRST - 2);
    receiver!.release();
    await receiver!.waitFor(FIRST, 30_000);
    await h.app.engine.idle();

    // 200 sends in the second the clock now moves on: 0.2 a millisecond, so 2,000 may wait on disk.
    clock.advance(1_000);
    const SECOND = 3_000;
    await publishAll(h, SECOND);
    await receiver!.waitFor(FIRST + 1);
    expect(dispatcher.leasedOnDisk).toBe(2_000);
    expect(await count(h, "delivering")).toBe(2 + 2_000);
    expect(await count(h, "pending")).toBe(SECOND - 2 - 2_000);
    receiver!.release();
    await receiver!.waitFor(FIRST + SECOND, 30_000);
    await h.app.engine.idle();
    const received = receiver!.requests.map((r) => r.headers["webhook-id"]);
    expect(received.length).toBe(FIRST + SECOND);
    expect(new Set(received).size).toBe(FIRST + SECOND);
    expect(await count(h, "succeeded")).toBe(FIRST + SECOND);
  }, 60_000);
});
