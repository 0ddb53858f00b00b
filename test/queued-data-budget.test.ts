// Large events to a slow receiver: the deliveries waiting in memory for a
// sender hold at most 64 Mi characters of event data between them (the rest
// wait on disk, pending, and are claimed as the queue drains), where before
// they were bounded only by count (8,192 at the default concurrency: at 1 MiB
// an event, gigabytes). Every event still arrives, once.
import { afterEach, expect, it } from "bun:test";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

/** The dispatcher's budget (src/engine/dispatcher.ts: QUEUED_DATA_CHARS). */
const BUDGET_CHARS = 64 * 1024 * 1024;

describeOnEachStore("the data of deliveries queued in memory", () => {
  let herald: TestHerald | undefined;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await herald?.stop();
    await receiver?.stop();
    herald = receiver = undefined;
  });

  it("keeps the event data of deliveries queued in memory within its budget, the rest on disk, and delivers every event once", async () => {
    // The first two answers hold both senders while the events are published; the rest come at once.
    receiver = startReceiver([{ status: 200, delay_ms: 3_000 }, { status: 200, delay_ms: 3_000 }]);
    herald = await startHerald(
      testConfig({
        delivery: { concurrency: 2 },
        event_types: [{ name: "report.ready" }],
        destinations: [{ id: "archive", url: receiver.url }],
        subscriptions: [{ id: "to-archive", destination: "archive", event_types: ["*"] }],
      }),
    );
    // ~800,000 characters of data an event (each string under server.max_string): 100 of them are 80 Mi.
    const part = "x".repeat(200_000);
    const EVENTS = 100;
    const eventChars = JSON.stringify({ n: 10, parts: [part, part, part, part] }).length;
    expect(eventChars * EVENTS).toBeGreaterThan(BUDGET_CHARS);
    for (let n = 0; n < EVENTS; n++) {
      const res = await herald.api("POST", "/v1/events", { type: "report.ready", data: { n, parts: [part, part, part, part] } });
      expect(res.status).toBe(202);
    }
    const dispatcher = herald.app.engine.dispatcher;
    // Two are being sent; the queue holds what fits in the budget (one event's data may pass it).
    expect(dispatcher.sending).toBe(2);
    expect(dispatcher.queued).toBeGreaterThan(0);
    expect((dispatcher.queued - 1) * eventChars).toBeLessThanOrEqual(BUDGET_CHARS);
    const pending = (await herald.api("GET", "/v1/deliveries?status=pending&limit=100")).body.data as unknown[];
    expect(pending.length).toBe(EVENTS - 2 - dispatcher.queued);

    await receiver.waitFor(EVENTS, 30_000);
    await herald.app.engine.idle();
    const ids = receiver.requests.map((r) => r.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(EVENTS);
    expect(ids.length).toBe(EVENTS);
    const ns = receiver.requests.map((r) => (JSON.parse(r.body) as { data: { n: number } }).data.n).sort((a, b) => a - b);
    expect(ns).toEqual(Array.from({ length: EVENTS }, (_, n) => n));
  }, 60_000);

  it("claims a backlog of large events within the same budget, and delivers every event once", async () => {
    receiver = startReceiver([{ status: 200, delay_ms: 3_000 }, { status: 200, delay_ms: 3_000 }]);
    herald = await startHerald(
      testConfig({
        delivery: { concurrency: 2 },
        event_types: [{ name: "report.ready" }],
        destinations: [{ id: "archive", url: receiver.url, enabled: false }],
        subscriptions: [{ id: "to-archive", destination: "archive", event_types: ["*"] }],
      }),
    );
    const part = "x".repeat(200_000);
    const EVENTS = 100;
    const eventChars = JSON.stringify({ n: 10, parts: [part, part, part, part] }).length;
    for (let n = 0; n < EVENTS; n++) {
      expect((await herald.api("POST", "/v1/events", { type: "report.ready", data: { n, parts: [part, part, part, part] } })).status).toBe(202);
    }
    // Enabled: every delivery now comes from the job table through claims.
    expect((await herald.api("POST", "/v1/destinations/archive/enable")).status).toBe(200);
    await receiver.waitFor(2);
    const dispatcher = herald.app.engine.dispatcher;
    expect(dispatcher.queued).toBeGreaterThan(0);
    expect((dispatcher.queued - 1) * eventChars).toBeLessThanOrEqual(BUDGET_CHARS);

    await receiver.waitFor(EVENTS, 30_000);
    await herald.app.engine.idle();
    const ids = receiver.requests.map((r) => r.headers["webhook-id"]);
    expect(new Set(ids).size).toBe(EVENTS);
    expect(ids.length).toBe(EVENTS);
  }, 60_000);
});
