// Deleting a destination cancels its unfinished deliveries for good: none is
// sent afterwards, even from the dispatcher's memory or to a new destination
// that takes the same id, and a manual retry cannot bring one back.
import { afterEach, describe, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";

let herald: TestHerald;
const receivers: Receiver[] = [];
afterEach(async () => {
  await herald?.stop();
  for (const r of receivers.splice(0)) await r.stop();
});

function receiver(...args: Parameters<typeof startReceiver>): Receiver {
  const r = startReceiver(...args);
  receivers.push(r);
  return r;
}

async function createDestination(url: string, extra: Record<string, unknown> = {}) {
  const created = await herald.api("POST", "/v1/destinations", { id: "dst_shop", url, ...extra });
  expect(created.status).toBe(201);
  const sub = await herald.api("POST", "/v1/subscriptions", { destination_id: "dst_shop", event_types: ["order.*"] });
  expect(sub.status).toBe(201);
}

async function publishMany(n: number): Promise<string[]> {
  const res = await herald.api("POST", "/v1/events/batch", { events: Array.from({ length: n }, (_, i) => ({ type: "order.created", data: { i } })) });
  expect(res.status).toBe(202);
  return res.body.data.map((e: { id: string }) => e.id);
}

async function deliveriesOf(status: string) {
  return (await herald.api("GET", `/v1/deliveries?status=${status}&limit=1000`)).body.data as { id: string; event_id: string }[];
}

describe("a deleted destination's deliveries", () => {
  it("are never sent, from memory or to a re-created destination with the same id", async () => {
    // One send at a time to a slow receiver: the other 19 deliveries wait in the ready queue.
    const slow = receiver([], { status: 200, delay_ms: 300 });
    const fresh = receiver();
    herald = await startHerald(testConfig({ delivery: { concurrency: 1 }, event_types: [{ name: "order.created" }] }));
    await createDestination(slow.url);
    const events = await publishMany(20);
    await slow.waitFor(1);
    expect(herald.app.engine.dispatcher.queued).toBeGreaterThan(10);

    expect((await herald.api("DELETE", "/v1/destinations/dst_shop")).status).toBe(204);
    await createDestination(fresh.url);
    const cancelled = await deliveriesOf("cancelled");
    expect(cancelled.length).toBeGreaterThanOrEqual(19);

    // A new event reaches the new destination: the old ones still in memory had their chance.
    const [later] = await publishMany(1);
    await fresh.waitFor(1);
    await herald.app.engine.idle();
    const sentToFresh = fresh.requests.map((r) => r.headers["webhook-id"]);
    expect(sentToFresh).toEqual([later]);
    expect(events).not.toContain(later);

    for (const d of cancelled) {
      const after = (await herald.api("GET", `/v1/deliveries/${d.id}`)).body;
      expect(after.status).toBe("cancelled");
      for (const attempt of after.attempts) expect(attempt.request.url).toBe(slow.url);
    }
    // At most the send under way at the deletion reached the old receiver.
    expect(slow.requests.length).toBeLessThanOrEqual(2);
  });

  it("held back by the rate limit are not sent when their slot comes", async () => {
    const first = receiver();
    const fresh = receiver();
    herald = await startHerald(testConfig({ event_types: [{ name: "order.created" }] }));
    await createDestination(first.url, { rate_limit: 1 });
    await publishMany(4);
    await first.waitFor(1);
    // The other three wait on timers for their slots (1 s, 2 s, 3 s away).
    expect((await herald.api("DELETE", "/v1/destinations/dst_shop")).status).toBe(204);
    await createDestination(fresh.url);
    await herald.app.engine.idle();
    expect(fresh.requests.length).toBe(0);
    expect(first.requests.length).toBe(1);
    // The three held back are cancelled; the one sent is succeeded, or cancelled too
    // when the deletion came between its answer and the recording of its attempt.
    const cancelled = (await deliveriesOf("cancelled")).length;
    expect(cancelled).toBeGreaterThanOrEqual(3);
    expect(cancelled + (await deliveriesOf("succeeded")).length).toBe(4);
  });

  it("answer 409 delivery_cancelled to a retry, and stay cancelled with no attempt", async () => {
    const slow = receiver([], { status: 200, delay_ms: 200 });
    herald = await startHerald(testConfig({ delivery: { concurrency: 1 }, event_types: [{ name: "order.created" }] }));
    await createDestination(slow.url);
    await publishMany(3);
    await slow.waitFor(1);
    expect((await herald.api("DELETE", "/v1/destinations/dst_shop")).status).toBe(204);
    await herald.app.engine.idle();
    const cancelled = await deliveriesOf("cancelled");
    expect(cancelled.length).toBeGreaterThanOrEqual(2);
    for (const d of cancelled) {
      const before = (await herald.api("GET", `/v1/deliveries/${d.id}`)).body;
      const retried = await herald.api("POST", `/v1/deliveries/${d.id}/retry`);
      expect(retried.status).toBe(409);
      expect(retried.body.error).toBe("delivery_cancelled");
      expect(typeof retried.body.message).toBe("string");
      await herald.app.engine.idle();
      const after = (await herald.api("GET", `/v1/deliveries/${d.id}`)).body;
      expect(after).toEqual(before);
    }
    expect((await deliveriesOf("delivering")).length).toBe(0);
  });
});
