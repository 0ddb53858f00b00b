// Large events to a slow receiver: the deliveries waiting in memory for a
// sender hold at most 64 Mi characters of event data between them (the rest
// wait on disk, leased there or pending, and are read back or claimed as the queue drains), where before
// they were bounded only by count (8,192 at the default concurrency: at 1 MiB
// an event, gigabytes). Every event still arrives, once.
import { afterEach, expect, it } from "bun:test";
import { QUEUED_DATA_CHARS as BUDGET_CHARS } from "../src/engine/dispatcher.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

/** ~800,000 characters of data an event (each string under server.max_string): 100 of them are 80 Mi. */
const PART = "x".repeat(200_000);
const EVENTS = 100;
const dataOf = (n: number) => ({ n, parts: [PART, PART, PART, PART] });
const EVENT_CHARS = JSON.stringify(dataOf(10)).length;

describeOnEachStore("the data of deliveries queued in memory", () => {
  let herald: TestHerald | undefined;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await herald?.stop();
    await receiver?.stop();
    herald = receiver = undefined;
  });

  /**
   * Two senders, both held by the receiver's first two answers until the test
   * lets them go (release), however long the publishes took; the rest are answered at once.
   */
  async function start(enabled: boolean): Promise<TestHerald> {
    receiver = startReceiver([{ status: 200, hang: true }, { status: 200, hang: true }]);
    herald = await startHerald(
      testConfig({
        delivery: { concurrency: 2 },
        event_types: [{ name: "report.ready" }],
        destinations: [{ id: "archive", url: receiver.url, enabled }],
        subscriptions: [{ id: "to-archive", destination: "archive", event_types: ["*"] }],
      }),
    );
    return herald;
  }

  async function publishAll(h: TestHerald): Promise<void> {
    expect(EVENT_CHARS * EVENTS).toBeGreaterThan(BUDGET_CHARS);
    for (let n = 0; n < EVENTS; n++) expect((await h.api("POST", "/v1/events", { type: "report.ready", data: dataOf(n) })).status).toBe(202);
  }

  /** The queue holds what fits in the budget (one event's data may pass it alone). */
  function expectWithinBudget(h: TestHerald): void {
    const { queued } = h.app.engine.dispatcher;
    expect(queued).toBeGreaterThan(0);
    expect((queued - 1) * EVENT_CHARS).toBeLessThanOrEqual(BUDGET_CHARS);
  }

  async function expectEveryEventOnce(h: TestHerald, r: Receiver): Promise<void> {
    await r.waitFor(EVENTS, 30_000);
    await h.app.engine.idle();
    const ids = r.requests.map((request) => request.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(EVENTS);
    expect(ids.length).toBe(EVENTS);
    const ns = r.requests.map((request) => (JSON.parse(request.body) as { data: { n: number } }).data.n).sort((a, b) => a - b);
    expect(ns).toEqual(Array.from({ length: EVENTS }, (_, n) => n));
  }

  it("keeps the event data of deliveries queued in memory within its budget, the rest on disk, and delivers every event once", async () => {
    const h = await start(true);
    await publishAll(h);
    expect(h.app.engine.dispatcher.sending).toBe(2);
    expectWithinBudget(h);
    // The rest wait on disk, leased there (read back as the queue drains: dispatcher.ts, ON_DISK_LEASES).
    const { queued } = h.app.engine.dispatcher;
    expect(queued).toBeLessThan(EVENTS - 2);
    expect(h.app.engine.dispatcher.leasedOnDisk).toBe(EVENTS - 2 - queued);
    const delivering = (await h.api("GET", "/v1/deliveries?status=delivering&limit=100")).body.data as unknown[];
    expect(delivering.length).toBe(EVENTS);
    await receiver!.waitFor(2);
    receiver!.release();
    await expectEveryEventOnce(h, receiver!);
  }, 60_000);

  it("claims a backlog of large events within the same budget, and delivers every event once", async () => {
    const h = await start(false);
    await publishAll(h);
    // Enabled: every delivery now comes from the job table through claims.
    expect((await h.api("POST", "/v1/destinations/archive/enable")).status).toBe(200);
    await receiver!.waitFor(2);
    expectWithinBudget(h);
    receiver!.release();
    await expectEveryEventOnce(h, receiver!);
  }, 60_000);
});
