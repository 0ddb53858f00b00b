// Per-destination rate limits: the slot arithmetic on a test clock, a real
// destination limited to 2 deliveries per second receiving a burst of 20, and
// held-back deliveries handed back to the job table with integer times.
import { afterAll, describe, expect, it } from "bun:test";
import { RateLimiter, share } from "../src/engine/rate-limiter.ts";
import { startReceiver } from "./support/receiver.ts";
import { startHerald, testConfig, TestClock } from "./support/herald.ts";

describe("RateLimiter", () => {
  it("lets `perSecond` sends through in any one second, then gives each later one its own slot", () => {
    const clock = new TestClock();
    const t0 = clock.t;
    const limiter = new RateLimiter(clock.now);
    expect([0, 1, 2].map(() => limiter.take("d", share(3, 1)))).toEqual([0, 0, 0]);
    clock.advance(400);
    expect([0, 1, 2, 3].map(() => limiter.take("d", share(3, 1)))).toEqual([600, 600, 600, 1600]);
    expect(limiter.take("other", share(3, 1))).toBe(0);
    // Slots are handed out in order: the next free one is a second after the 5th, at t0 + 2000.
    clock.t = t0 + 1500;
    expect(limiter.take("d", share(3, 1))).toBe(500);
    clock.t = t0 + 3100;
    expect(limiter.take("d", share(3, 1))).toBe(0);
  });

  it("never lets more than `perSecond` slots fall within one second, even across window edges", () => {
    const clock = new TestClock();
    const limiter = new RateLimiter(clock.now);
    const slots: number[] = [];
    for (let i = 0; i < 40; i++) {
      clock.advance(137); // requests arrive steadily, faster than the limit
      slots.push(clock.t + limiter.take("d", share(2, 1)));
    }
    for (let i = 2; i < slots.length; i++) expect(slots[i]! - slots[i - 2]!).toBeGreaterThanOrEqual(1000);
  });

  it("does not take a slot further away than the caller will wait, and says when one comes", () => {
    const clock = new TestClock();
    const limiter = new RateLimiter(clock.now);
    expect(limiter.take("d", share(1, 1), 1500)).toBe(0);
    expect(limiter.take("d", share(1, 1), 1500)).toBe(1000);
    // The next slot is 2 s away: beyond the 1.5 s the caller waits, so it stays free.
    expect(limiter.take("d", share(1, 1), 1500)).toBe(2000);
    expect(limiter.take("d", share(1, 1), 1500)).toBe(2000);
    clock.advance(1000);
    expect(limiter.take("d", share(1, 1), 1500)).toBe(1000);
  });
});

describe("a rate limit shared by several instances", () => {
  it("gives each instance its part: ceil(limit / instances) per window, the window widened to keep the average", () => {
    expect(share(3, 1)).toEqual({ count: 3, windowMs: 1000 });
    expect(share(2, 3)).toEqual({ count: 1, windowMs: 1500 });
    expect(share(10, 3)).toEqual({ count: 4, windowMs: 1200 });
    expect(share(5, 0)).toEqual({ count: 5, windowMs: 1000 });
  });

  it("keeps three busy instances together to the limit over time", () => {
    for (const limit of [1, 2, 7, 100]) {
      const clock = new TestClock();
      const t0 = clock.t;
      const instances = [0, 1, 2].map(() => new RateLimiter(clock.now));
      const sends: number[] = [];
      // Each instance always has more to send than its part allows: it sends at every slot it is given.
      for (const limiter of instances) {
        for (;;) {
          const at = clock.now() + limiter.take("d", share(limit, 3));
          if (at >= t0 + 60_000) break;
          sends.push(at);
        }
      }
      // Over a minute the three together send the limit's worth, a burst's margin at most over it...
      expect(sends.length).toBeLessThanOrEqual(limit * 60 + 3 * Math.ceil(limit / 3));
      expect(sends.length).toBeGreaterThanOrEqual(limit * 60 * 0.95);
      // ...and never more than their three parts within any one second.
      sends.sort((a, b) => a - b);
      const part = Math.ceil(limit / 3);
      for (let i = 3 * part; i < sends.length; i++) expect(sends[i]! - sends[i - 3 * part]!).toBeGreaterThanOrEqual(1000);
    }
  });
});

describe("a destination limited to 2 deliveries per second", async () => {
  // The engine's timers run on the test clock: the test moves time on 100 ms at a
  // time, letting each send that falls due finish before the next step.
  const clock = new TestClock();
  const receiver = startReceiver();
  const herald = await startHerald(
    testConfig({
      event_types: [{ name: "tick" }],
      destinations: [{ id: "slow", url: receiver.url, rate_limit: 2 }],
      subscriptions: [{ id: "s", destination: "slow", event_types: ["tick"] }],
    }),
    { clock, clockTimers: true },
  );
  afterAll(async () => {
    await herald.stop();
    await receiver.stop();
  });

  /** Waits (in real time) until nothing is being claimed, queued, sent or recorded. */
  async function settle(): Promise<void> {
    const dispatcher = herald.app.engine.dispatcher;
    while (dispatcher.claimInFlight || dispatcher.queued || dispatcher.sending || dispatcher.writing) await Bun.sleep(1);
  }

  it("receives a burst of 20 at its pace, never more than 2 in one second, and none is left delivering", async () => {
    const start = clock.now();
    const res = await herald.api("POST", "/v1/events/batch", { events: Array.from({ length: 20 }, (_, i) => ({ type: "tick", data: { i } })) });
    expect(res.status).toBe(202);
    for (let step = 0; step < 150 && receiver.requests.length < 20; step++) {
      await settle();
      clock.advance(100);
    }
    await settle();
    expect(receiver.requests.length).toBe(20);
    expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size).toBe(20);

    // When each was sent, on Herald's clock: its attempt's start.
    const succeeded = (await herald.api("GET", "/v1/deliveries?status=succeeded&limit=100")).body.data;
    expect(succeeded.length).toBe(20);
    const sentAt: number[] = [];
    for (const d of succeeded) {
      const attempts = (await herald.api("GET", `/v1/deliveries/${d.id}`)).body.attempts;
      expect(attempts.length).toBe(1);
      sentAt.push(Date.parse(attempts[0].started_at));
    }
    sentAt.sort((a, b) => a - b);
    // Any three sends span a full second: never more than 2 in one.
    for (let i = 2; i < sentAt.length; i++) expect(sentAt[i]! - sentAt[i - 2]!).toBeGreaterThanOrEqual(1000);
    // 20 at 2 a second: the first two at once, the last 9 s later (give or take a step).
    expect(sentAt[0]! - start).toBeLessThan(100);
    expect(sentAt[19]! - sentAt[0]!).toBeGreaterThanOrEqual(9000);
    expect(sentAt[19]! - sentAt[0]!).toBeLessThan(9200);
    expect((await herald.api("GET", "/v1/deliveries?status=delivering")).body.data.length).toBe(0);
  });
});

describe("handing leased deliveries back to the job table", () => {
  it("stores a non-integer time as whole milliseconds", async () => {
    const receiver = startReceiver();
    const herald = await startHerald(
      testConfig({
        event_types: [{ name: "tick" }],
        destinations: [{ id: "d", url: receiver.url }],
        subscriptions: [{ id: "s", destination: "d", event_types: ["tick"] }],
      }),
    );
    try {
      const { store, engine } = herald.app;
      // Disabled while publishing, so the delivery is written pending and not sent.
      await store.catalog.setDestinationEnabled("d", false, "paused by a test", herald.clock.now());
      await engine.catalog.reload();
      expect((await herald.api("POST", "/v1/events", { type: "tick", data: {} })).status).toBe(202);
      await store.catalog.setDestinationEnabled("d", true, null, herald.clock.now());
      // Its row was parked while it was disabled: back among the due rows (as the engine's next claim would do).
      await store.queue.settleParking(1_000, false, herald.clock.now());

      const now = herald.clock.now() + 0.25;
      const instance = herald.app.engine.deps.instance;
      const [job] = await store.queue.claimDue(now, { owner: instance, until: now + 1000.5 }, 10);
      expect(job).toBeDefined();
      const id = job!.delivery.id;
      await store.queue.releaseLease(id, { owner: instance, until: job!.delivery.lease_until! }, now + 0.7, now + 5000.3);
      const released = (await store.log.getDelivery(id))!;
      expect(released.status).toBe("pending");
      expect(Number.isInteger(released.next_attempt_at)).toBe(true);
      expect(Math.abs(released.next_attempt_at! - (now + 5000.3))).toBeLessThanOrEqual(1);

      // The sweep's path: an expired lease released at a non-integer time.
      expect((await store.queue.claimDue(now + 6000.1, { owner: instance, until: now + 7000.9 }, 10)).length).toBe(1);
      expect(await store.queue.releaseExpiredLeases(now + 8000.6)).toBe(1);
      const swept = (await store.log.getDelivery(id))!;
      expect(swept.status).toBe("pending");
      expect(Number.isInteger(swept.next_attempt_at)).toBe(true);
    } finally {
      await herald.stop();
      await receiver.stop();
    }
  });

  it("sends a rate-limited delivery whose slot is more than 5 s away back to pending with an integer due time", async () => {
    // (The wait used to be measured with performance.now(), which has a
    // fraction: the release then failed and the deliveries stayed leased.)
    const receiver = startReceiver();
    const clock = new TestClock();
    const herald = await startHerald(
      testConfig({
        event_types: [{ name: "tick" }],
        destinations: [{ id: "d", url: receiver.url, rate_limit: 1 }],
        subscriptions: [{ id: "s", destination: "d", event_types: ["tick"] }],
      }),
      { clock },
    );
    try {
      await herald.api("POST", "/v1/events/batch", { events: Array.from({ length: 8 }, (_, i) => ({ type: "tick", data: { i } })) });
      await receiver.waitFor(1);
      await Bun.sleep(50);
      // 1 sent, 5 waiting in memory for slots 1-5 s away, 2 back in the job table.
      const pending = (await herald.api("GET", "/v1/deliveries?status=pending")).body.data;
      expect(pending.length).toBe(2);
      for (const d of pending) expect(Date.parse(d.next_attempt_at)).toBeGreaterThan(clock.t + 5000);
      for (const d of pending) expect(Number.isInteger((await herald.app.store.log.getDelivery(d.id))!.next_attempt_at)).toBe(true);
    } finally {
      await herald.stop();
      await receiver.stop();
    }
  }, 15_000);
});
