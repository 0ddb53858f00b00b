// The circuit breaker end to end, on each store: a receiver down for two minutes
// of injected-clock time (failures: 3, probe_every: 10s), then up. While down, at
// most one attempt reaches it per probe interval and nothing is failed; once up,
// every event is delivered; the breaker's operational events go out once each,
// and the API and /metrics show the states.
import { afterEach, expect, it } from "bun:test";
import { startReceiver, type Answer, type Receiver } from "./support/receiver.ts";
import { until } from "./support/eventually.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

const PROBE_EVERY = 10_000;

describeOnEachStore("the circuit breaker", () => {
  let herald: TestHerald;
  let shop: Receiver;
  let ops: Receiver;
  afterEach(async () => {
    await herald?.stop();
    await shop?.stop();
    await ops?.stop();
  });

  const breakerOf = async () => (await herald.api("GET", "/v1/destinations/shop")).body;
  const metric = async () => Number(/herald_destination_breaker_open (\d+)/.exec((await herald.api("GET", "/metrics")).body)![1]);

  it("holds deliveries back while the receiver is down, one probe per interval, then delivers every event", async () => {
    // The receiver's answer after its (empty) script: 503 while down, 200 once up.
    const answer: Answer = { status: 503 };
    shop = startReceiver([], answer);
    ops = startReceiver();
    herald = await startHerald(
      testConfig({
        delivery: { retry_schedule: ["2s", "5s", "10s", "30s"], breaker: { failures: 3, probe_every: "10s" } },
        event_types: [{ name: "order.created" }],
        destinations: [
          { id: "shop", url: shop.url },
          { id: "ops", url: ops.url },
        ],
        subscriptions: [
          { id: "shop-all", destination: "shop", event_types: ["order.*"] },
          { id: "ops-breaker", destination: "ops", event_types: ["herald.destination.breaker_opened", "herald.destination.breaker_closed"] },
        ],
      }),
      { clockTimers: true },
    );
    const { clock, app } = herald;
    const published: string[] = [];
    const publish = async () => {
      const res = await herald.api("POST", "/v1/events", { type: "order.created", data: { n: published.length } });
      expect(res.status).toBe(202);
      published.push(res.body.id);
    };
    /** One second of clock time: timers due on the way run (retries, probes), a sweep every 5 s, then everything settles. */
    const tick = async () => {
      clock.advance(1_000);
      if ((clock.now() / 1_000) % 5 < 1) await app.engine.sweeper.runOnce(clock.now());
      await app.engine.idle();
    };

    expect((await breakerOf()).breaker).toBe("closed");
    expect(await metric()).toBe(0);
    for (let i = 0; i < 5; i++) await publish();
    // Three failures in a row open it; events published after that are not even sent once.
    await until(async () => (await breakerOf()).breaker === "open", "the breaker to open");
    await app.engine.idle();
    expect(shop.requests.length).toBeGreaterThanOrEqual(3);
    expect(shop.requests.length).toBeLessThanOrEqual(5);
    const opened = await breakerOf();
    expect(opened.breaker).toBe("open");
    const openedAt = Date.parse(opened.breaker_opened_at);
    expect(Date.parse(opened.breaker_next_probe_at)).toBe(openedAt + PROBE_EVERY);
    expect(await metric()).toBe(1);

    // Two minutes down. An event published every 10 s is held back too (not leased at publish).
    const sentAt: number[] = [];
    let seen = shop.requests.length;
    let sawHalfOpen = false;
    const downUntil = clock.now() + 120_000;
    while (clock.now() < downUntil) {
      if ((clock.now() / 1_000) % 10 < 1) await publish();
      // Once, slow the receiver down so that a probe is caught in flight: half_open.
      if (!sawHalfOpen && clock.now() > openedAt + 3 * PROBE_EVERY) answer.delay_ms = 400;
      const probeDue = Date.parse((await breakerOf()).breaker_next_probe_at) <= clock.now() + 1_000;
      clock.advance(1_000);
      if ((clock.now() / 1_000) % 5 < 1) await app.engine.sweeper.runOnce(clock.now());
      if (answer.delay_ms && probeDue) {
        await until(async () => shop.requests.length > seen, "the probe to arrive");
        await until(async () => (await breakerOf()).breaker === "half_open", "the breaker to be half open during a probe");
        sawHalfOpen = true;
        delete answer.delay_ms;
      }
      await app.engine.idle();
      for (; seen < shop.requests.length; seen++) sentAt.push(clock.now());
      // Nothing is failed because of the breaker.
      expect((await herald.api("GET", "/v1/deliveries?status=failed")).body.data).toEqual([]);
    }
    expect(sawHalfOpen).toBe(true);
    expect((await breakerOf()).breaker).toBe("open");
    // At most one attempt per probe interval after the breaker opened: ~12 probes in 120 s, not the retries of 17 events.
    const perInterval = new Map<number, number>();
    for (const at of sentAt) {
      const k = Math.floor((at - openedAt - 1) / PROBE_EVERY);
      perInterval.set(k, (perInterval.get(k) ?? 0) + 1);
    }
    expect(Math.max(...perInterval.values())).toBe(1);
    expect(sentAt.length).toBeGreaterThanOrEqual(10);
    expect(sentAt.length).toBeLessThanOrEqual(13);

    // Up again: the next probe succeeds, the breaker closes and the backlog drains.
    answer.status = 200;
    await until(async () => {
      await tick();
      const pending = (await herald.api("GET", "/v1/deliveries?destination_id=shop&status=pending")).body.data;
      return pending.length === 0 && app.engine.dispatcher.queued === 0;
    }, "the backlog to drain", 20_000);
    expect((await breakerOf()).breaker).toBe("closed");
    expect(await metric()).toBe(0);
    const deliveries = (await herald.api("GET", "/v1/deliveries?destination_id=shop&limit=1000")).body.data;
    expect(deliveries.length).toBe(published.length);
    expect(deliveries.every((d: { status: string }) => d.status === "succeeded")).toBe(true);
    const accepted = new Set(shop.requests.slice(-published.length).map((r) => r.headers["webhook-id"]));
    expect([...accepted].sort()).toEqual([...published].sort());

    // One breaker_opened and one breaker_closed, however many failures and probes there were.
    await until(async () => ops.requests.length >= 2, "the operational events");
    await app.engine.idle();
    const types = ops.requests.map((r) => JSON.parse(r.body).type);
    expect(types).toEqual(["herald.destination.breaker_opened", "herald.destination.breaker_closed"]);
    expect(JSON.parse(ops.requests[0]!.body).data).toMatchObject({ destination_id: "shop", opened_at: new Date(openedAt).toISOString() });
  });
});
