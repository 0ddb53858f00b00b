// Per-destination rate limits: the window arithmetic, and a real destination
// limited to 5 deliveries per second receiving a burst of 8.
import { afterAll, describe, expect, it } from "bun:test";
import { RateLimiter } from "../src/engine/rate-limiter.ts";
import { startReceiver } from "./support/receiver.ts";
import { startHerald, testConfig } from "./support/herald.ts";

describe("RateLimiter", () => {
  it("lets `perSecond` sends through in a window, then gives each later one its own slot", () => {
    const limiter = new RateLimiter();
    expect([0, 1, 2].map(() => limiter.delayFor("d", 3, 10_000))).toEqual([0, 0, 0]);
    expect([0, 1, 2, 3].map(() => limiter.delayFor("d", 3, 10_400))).toEqual([600, 600, 600, 1600]);
    expect(limiter.delayFor("other", 3, 10_400)).toBe(0);
    // Slots are handed out in order: the next free one is in the window starting at 12 000.
    expect(limiter.delayFor("d", 3, 11_500)).toBe(500);
    expect(limiter.delayFor("d", 3, 13_100)).toBe(0);
  });
});

describe("a rate-limited destination", () => {
  const receiver = startReceiver();
  const herald = startHerald(
    testConfig({
      event_types: [{ name: "tick" }],
      destinations: [{ id: "slow", url: receiver.url, rate_limit: 5 }],
      subscriptions: [{ id: "s", destination: "slow", event_types: ["tick"] }],
    }),
  );
  afterAll(async () => {
    await herald.stop();
    await receiver.stop();
  });

  it("receives at most 5 per second and every event in the end", async () => {
    const res = await herald.api("POST", "/v1/events/batch", { events: Array.from({ length: 8 }, (_, i) => ({ type: "tick", data: { i } })) });
    expect(res.status).toBe(202);
    const requests = await receiver.waitFor(8, 10_000);
    // The 6th send's slot is a second after the first's; arrival times carry some
    // scheduling noise on a loaded machine, hence the margin.
    expect(requests[5]!.at - requests[0]!.at).toBeGreaterThanOrEqual(700);
    await herald.app.engine.idle();
    expect((await herald.api("GET", "/v1/deliveries?status=succeeded")).body.data.length).toBe(8);
  });
});
