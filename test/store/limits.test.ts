// Store contract: per-destination limits counted by the claim, so that they
// hold across instances. max_in_flight: never more of a destination's
// deliveries leased than its limit, however many stores claim at once; ordered:
// only the head (the earliest unfinished delivery in publish order) is leased,
// one at a time, and a head waiting for its retry holds the rest back. A
// publish never leases a limited destination's delivery itself.
import { expect, it } from "bun:test";
import type { BreakerSettings, DeliveryJob, Destination } from "../../src/store/types.ts";
import type { Store } from "../../src/store/store.ts";
import { describeEachStore } from "./stores.ts";
import { attemptRecord, destination, lease, newEvent, T0 } from "./records.ts";

const LEASE = 60_000;


async function save(store: Store, id: string, overrides: Partial<Destination> = {}): Promise<void> {
  await store.catalog.saveDestination(destination({ id, ...overrides }));
}

/** Publishes `n` events to `to`, one after another (so in publish order), and answers their delivery ids. */
async function publish(store: Store, n: number, to: string, at = T0): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const result = await store.queue.publish(newEvent({ at, to: [to], data: { i } }));
    ids.push(result.deliveries[0]!.id);
  }
  return ids;
}

async function leasedOf(store: Store, destinationId: string): Promise<number> {
  return (await store.log.countDeliveriesByStatus(destinationId)).delivering ?? 0;
}

describeEachStore("per-destination limits", (current) => {
  it("leases at most max_in_flight of a destination, earliest published first, and the next once one ends", async () => {
    const { store } = current;
    await save(store, "slow", { max_in_flight: 2 });
    await save(store, "fast");
    const slow = await publish(store, 10, "slow");
    await publish(store, 5, "fast");
    const first = await store.queue.claimDue(T0, lease(T0 + LEASE), 100);
    const slowJobs = first.filter((j) => j.delivery.destination_id === "slow");
    expect(slowJobs.map((j) => j.delivery.id)).toEqual(slow.slice(0, 2));
    expect(slowJobs.every((j) => j.limited === true)).toBe(true);
    expect(first.filter((j) => j.delivery.destination_id === "fast").length).toBe(5);
    // Full: nothing more of it, however often claimed.
    expect(await store.queue.claimDue(T0 + 1, lease(T0 + LEASE), 100)).toEqual([]);
    // One ends (a retry later counts as ended: it is no longer leased): one more is leased.
    await store.queue.recordAttempt(attemptRecord(slowJobs[0]!, { status: "pending", next_attempt_at: T0 + 60_000 }, T0 + 2), T0 + 2);
    const next = await store.queue.claimDue(T0 + 3, lease(T0 + LEASE), 100);
    expect(next.map((j) => j.delivery.id)).toEqual([slow[2]!]);
    expect(await leasedOf(store, "slow")).toBe(2);
    // The claim's own limit is kept too.
    await store.queue.recordAttempt(attemptRecord(slowJobs[1]!, { status: "succeeded" }, T0 + 4), T0 + 4);
    await store.queue.recordAttempt(attemptRecord(next[0]!, { status: "succeeded" }, T0 + 4), T0 + 4);
    expect((await store.queue.claimDue(T0 + 5, lease(T0 + LEASE), 1)).map((j) => j.delivery.id)).toEqual([slow[3]!]);
  });

  it("told that no destination is limited (a catalogue not yet reloaded), leases none of a limited one's deliveries", async () => {
    const { store } = current;
    // Made limited elsewhere: this caller's catalogue does not know yet and says none is.
    await save(store, "slow", { max_in_flight: 1 });
    await save(store, "line", { ordered: true });
    await save(store, "free");
    const slow = await publish(store, 3, "slow");
    await publish(store, 2, "line");
    await publish(store, 4, "free");
    const blind = await store.queue.claimDue(T0, lease(T0 + LEASE), 100, undefined, false);
    expect(blind.map((j) => j.delivery.destination_id)).toEqual(["free", "free", "free", "free"]);
    expect(await leasedOf(store, "slow")).toBe(0);
    expect(await leasedOf(store, "line")).toBe(0);
    // Once the catalogue knows, the limits are claimed within them as always.
    const told = await store.queue.claimDue(T0 + 1, lease(T0 + LEASE), 100, undefined, true);
    expect(told.filter((j) => j.delivery.destination_id === "slow").map((j) => j.delivery.id)).toEqual([slow[0]!]);
    expect(told.filter((j) => j.delivery.destination_id === "line").length).toBe(1);
  });

  it("writes a limited destination's delivery pending when a publish hands it in leased", async () => {
    const { store } = current;
    await save(store, "slow", { max_in_flight: 1 });
    await save(store, "line", { ordered: true });
    await save(store, "free");
    const result = await store.queue.publish(newEvent({ at: T0, to: ["slow", "line", "free"], status: "delivering" }));
    const byDestination = Object.fromEntries(result.deliveries.map((d) => [d.destination_id, d.status]));
    expect(byDestination).toEqual({ slow: "pending", line: "pending", free: "delivering" });
    const claimed = await store.queue.claimDue(T0, lease(T0 + LEASE), 100);
    expect(claimed.map((j) => j.delivery.destination_id).sort()).toEqual(["line", "slow"]);
  });

  it("never leases more than max_in_flight between two stores claiming at once", async () => {
    const { store } = current;
    const other = await current.another();
    await save(store, "slow", { max_in_flight: 3 });
    await publish(store, 40, "slow");
    const end = (job: DeliveryJob, at: number) =>
      (job.delivery.lease_owner === "ins_b" ? other : store).queue.recordAttempt(attemptRecord(job, { status: "succeeded" }, at), at);
    let delivered = 0;
    // One lease is carried over from each round to the next, so rounds start part full.
    let carried: DeliveryJob | undefined;
    for (let round = 0; round < 40 && delivered < 40; round++) {
      const at = T0 + round * 10;
      const claims = await Promise.all(
        Array.from({ length: 8 }, (_, i) => (i % 2 ? other : store).queue.claimDue(at, lease(at + LEASE, i % 2 ? "ins_b" : "ins_a"), 100)),
      );
      const taken = claims.flat();
      expect(taken.length + (carried ? 1 : 0)).toBeLessThanOrEqual(3);
      expect(await leasedOf(store, "slow")).toBeLessThanOrEqual(3);
      if (carried) {
        await end(carried, at + 5);
        delivered++;
      }
      carried = taken.pop();
      for (const job of taken) {
        await end(job, at + 5);
        delivered++;
      }
    }
    if (carried) delivered++;
    expect(delivered).toBe(40);
  });

  it("leases an ordered destination's head only, one at a time; a head waiting for its retry holds the rest back", async () => {
    const { store } = current;
    await save(store, "line", { ordered: true });
    const ids = await publish(store, 4, "line");
    const [head] = await store.queue.claimDue(T0, lease(T0 + LEASE), 100);
    expect(head!.delivery.id).toBe(ids[0]!);
    expect(head!.limited).toBe(true);
    expect(await store.queue.claimDue(T0 + 1, lease(T0 + LEASE), 100)).toEqual([]);
    // Fails, retry in 5 s: the others are due, but wait behind it.
    await store.queue.recordAttempt(attemptRecord(head!, { status: "pending", next_attempt_at: T0 + 5_000 }, T0 + 10), T0 + 10);
    expect(await store.queue.claimDue(T0 + 20, lease(T0 + LEASE), 100)).toEqual([]);
    const [again] = await store.queue.claimDue(T0 + 5_000, lease(T0 + 5_000 + LEASE), 100);
    expect(again!.delivery.id).toBe(ids[0]!);
    // Fails for good: the next proceeds.
    await store.queue.recordAttempt(attemptRecord(again!, { status: "failed" }, T0 + 5_010), T0 + 5_010);
    const [second] = await store.queue.claimDue(T0 + 5_020, lease(T0 + 5_020 + LEASE), 100);
    expect(second!.delivery.id).toBe(ids[1]!);
    await store.queue.recordAttempt(attemptRecord(second!, { status: "succeeded" }, T0 + 5_030), T0 + 5_030);
    const [third] = await store.queue.claimDue(T0 + 5_040, lease(T0 + 5_040 + LEASE), 100);
    expect(third!.delivery.id).toBe(ids[2]!);
  });

  it("hands an ordered destination's head to one of two stores claiming at once, and keeps publish order across them", async () => {
    const { store } = current;
    const other = await current.another();
    await save(store, "line", { ordered: true });
    const ids = await publish(store, 12, "line");
    const sent: string[] = [];
    for (let round = 0; round < 30 && sent.length < ids.length; round++) {
      const at = T0 + round * 10;
      const claims = await Promise.all(
        Array.from({ length: 6 }, (_, i) => (i % 2 ? other : store).queue.claimDue(at, lease(at + LEASE, i % 2 ? "ins_b" : "ins_a"), 100)),
      );
      const taken = claims.flat();
      expect(taken.length).toBeLessThanOrEqual(1);
      if (taken.length === 0) continue;
      const job = taken[0]!;
      sent.push(job.delivery.id);
      await (job.delivery.lease_owner === "ins_b" ? other : store).queue.recordAttempt(attemptRecord(job, { status: "succeeded" }, at + 5), at + 5);
    }
    expect(sent).toEqual(ids);
  });

  it("probes an ordered destination with an open breaker through its head", async () => {
    const { store } = current;
    const breaker: BreakerSettings = { failures: 1, probe_every_ms: 10_000 };
    await save(store, "line", { ordered: true });
    const ids = await publish(store, 3, "line");
    const [head] = await store.queue.claimDue(T0, lease(T0 + LEASE), 100, breaker);
    // The head fails, opening the breaker, and waits for a retry later than the probe.
    const opened = await store.queue.recordAttempt(attemptRecord(head!, { status: "pending", next_attempt_at: T0 + 10_000 }, T0 + 10, { breaker }), T0 + 10);
    expect(opened.breaker?.change).toBe("opened");
    const probes = await store.queue.claimDue(T0 + 10_010, lease(T0 + 10_010 + LEASE), 100, breaker);
    expect(probes.map((j) => [j.delivery.id, j.probe])).toEqual([[ids[0]!, true]]);
  });

  it("follows a destination's limits through the catalogue, raising its version", async () => {
    const { store } = current;
    await save(store, "a");
    const version = await store.catalog.version();
    const a = (await store.catalog.getDestination("a"))!;
    expect([a.max_in_flight, a.ordered]).toEqual([null, false]);
    expect(await store.catalog.updateDestination({ ...a, max_in_flight: 5, ordered: true })).toBe(true);
    const changed = (await store.catalog.getDestination("a"))!;
    expect([changed.max_in_flight, changed.ordered]).toEqual([5, true]);
    expect(await store.catalog.version()).toBeGreaterThan(version);
  });
});
