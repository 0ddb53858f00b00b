// A send must finish within its lease, or the sweep hands the row to a fresh
// lease and the delivery goes out twice. A delivery leased at publish waits in
// the dispatcher's memory until a sender is free, and a destination's own
// timeout may be longer than any lease: before a send whose lease could run out,
// the dispatcher extends it, and drops a job whose lease is already gone.
import { afterEach, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

describeOnEachStore("a lease that runs out in memory", () => {
  let herald: TestHerald;
  let receiver: Receiver;
  afterEach(async () => {
    await herald?.stop();
    await receiver?.stop();
  });

  it("is not sent: the row is claimed afresh and sent once", async () => {
    // The first send hangs until released: with one sender, the second event's
    // delivery waits in memory, leased at publish.
    receiver = startReceiver([{ hang: true }]);
    herald = await startHerald(
      testConfig({
        delivery: { concurrency: 1 },
        event_types: [{ name: "order.created" }],
        destinations: [{ id: "shop", url: receiver.url }],
        subscriptions: [{ id: "shop-all", destination: "shop", event_types: ["order.*"] }],
      }),
    );
    const publish = async (order: number) => {
      const res = await herald.api("POST", "/v1/events", { type: "order.created", data: { order } });
      expect(res.status).toBe(202);
      return res.body.id as string;
    };
    // Published after the destination was made (not in its millisecond, where the
    // dispatcher asks the store whether the lease still holds before any send).
    herald.clock.advance(1);
    const first = await publish(1);
    const second = await publish(2);
    await receiver.waitFor(1);
    expect(receiver.requests[0]!.headers["webhook-id"]).toBe(first);

    // Both leases run out; the sweep returns both rows to pending.
    herald.clock.advance(herald.app.engine.lease_ms + 1);
    await herald.app.engine.sweeper.runOnce(herald.clock.now());
    receiver.release();
    await herald.app.engine.idle();

    const sends = (id: string) => receiver.requests.filter((r) => r.headers["webhook-id"] === id).length;
    // The first was already on the wire when its lease ran out: it is sent again
    // under its fresh lease (at-least-once). The second waited: sent once.
    expect(sends(second)).toBe(1);
    expect(sends(first)).toBe(2);
    const event = (await herald.api("GET", `/v1/events/${second}`)).body;
    expect(event.deliveries[0].status).toBe("succeeded");
    expect(event.deliveries[0].attempt_count).toBe(1);
    // Dropped, not sent and refused: the attempt log holds the one send.
    expect((await herald.api("GET", `/v1/deliveries/${event.deliveries[0].id}`)).body.attempts).toHaveLength(1);
  });

  it("is extended before a send to a destination whose timeout is longer than any lease", async () => {
    // 10 minutes against a lease of timeout × 8 + 60 s (3 minutes at the default 15 s).
    receiver = startReceiver([{ hang: true }]);
    herald = await startHerald(
      testConfig({
        event_types: [{ name: "order.created" }],
        destinations: [{ id: "slow", url: receiver.url, timeout: "10m" }],
        subscriptions: [{ id: "slow-all", destination: "slow", event_types: ["order.*"] }],
      }),
    );
    expect(herald.app.engine.lease_ms).toBeLessThan(600_000);
    herald.clock.advance(1);
    const res = await herald.api("POST", "/v1/events", { type: "order.created", data: { order: 1 } });
    expect(res.status).toBe(202);
    await receiver.waitFor(1);
    // The send is still under way when the usual lease has run out: the sweep
    // must not hand the row to a second send.
    herald.clock.advance(herald.app.engine.lease_ms + 1);
    await herald.app.engine.sweeper.runOnce(herald.clock.now());
    receiver.release();
    await herald.app.engine.idle();
    expect(receiver.requests.length).toBe(1);
    const event = (await herald.api("GET", `/v1/events/${res.body.id}`)).body;
    expect(event.deliveries[0].status).toBe("succeeded");
    expect(event.deliveries[0].attempt_count).toBe(1);
  });
});
