// Store contract: the circuit breaker kept in the destinations table. Failures
// in a row are counted by the attempt record, the breaker opens at the
// threshold (the write that opened it says so), claims and publish-time leases
// hold the destination's deliveries back but for one probe per interval, even
// with two stores claiming at once, and a success closes it — none of it
// raising the catalogue version.
import { expect, it } from "bun:test";
import type { AttemptRecord, BreakerSettings, DeliveryJob } from "../../src/store/types.ts";
import { describeEachStore } from "./stores.ts";
import { answered, lease, newEvent, T0, withDestinations } from "./records.ts";

const LEASE = 60_000;
const BREAKER: BreakerSettings = { failures: 3, probe_every_ms: 10_000 };

/** An answered attempt under the suite's breaker settings. */
const attempt = (job: DeliveryJob, ok: boolean, at: number, extra: Partial<AttemptRecord> = {}) => answered(job, ok, at, { breaker: BREAKER, ...extra });

describeEachStore("the circuit breaker", (current) => {
  /** Publishes `n` pending deliveries to `a` and claims them all at `at`. */
  async function claimAll(n: number, at: number): Promise<DeliveryJob[]> {
    for (let i = 0; i < n; i++) await current.store.queue.publish(newEvent({ at: at - 1, to: ["a"], data: { i } }));
    return current.store.queue.claimDue(at, lease(at + LEASE), 100, BREAKER);
  }

  it("counts failures in a row, opens at the threshold once, and says which write opened it", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const version = await store.catalog.version();
    const jobs = await claimAll(4, T0);
    expect(jobs.length).toBe(4);
    const first = await store.queue.recordAttempt(attempt(jobs[0]!, false, T0 + 100), T0 + 100);
    expect(first).toEqual({ applied: true, breaker: null });
    expect((await store.catalog.getDestination("a"))!.breaker).toEqual({ consecutive_failures: 1, opened_at: null, next_probe_at: null, probe_started_at: null });
    await store.queue.recordAttempt(attempt(jobs[1]!, false, T0 + 200), T0 + 200);
    const third = await store.queue.recordAttempt(attempt(jobs[2]!, false, T0 + 300), T0 + 300);
    expect(third.breaker).toEqual({ destination_id: "a", change: "opened", opened_at: T0 + 300, next_probe_at: T0 + 10_300 });
    // A fourth failure (a send leased before the breaker opened) counts, but opens nothing again.
    const fourth = await store.queue.recordAttempt(attempt(jobs[3]!, false, T0 + 400), T0 + 400);
    expect(fourth.breaker).toBeNull();
    expect((await store.catalog.getDestination("a"))!.breaker).toEqual({ consecutive_failures: 4, opened_at: T0 + 300, next_probe_at: T0 + 10_300, probe_started_at: null });
    expect(await store.queue.openBreakers()).toEqual(["a"]);
    // Delivery health: no catalogue change.
    expect(await store.catalog.version()).toBe(version);
  });

  it("holds an open breaker's deliveries back, in claims and at publish, but for one probe per interval", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    const jobs = await claimAll(3, T0);
    for (const [i, job] of jobs.entries()) await store.queue.recordAttempt(attempt(job, false, T0 + i), T0 + i);
    expect(await store.queue.openBreakers()).toEqual(["a"]);
    // The failed deliveries come due at T0+5s; more are published, one of them handed in leased.
    const earliest = await store.queue.publish(newEvent({ at: T0 + 1_000, to: ["a", "b"] }));
    const leased = await store.queue.publish(newEvent({ at: T0 + 1_000, to: ["a", "b"], status: "delivering" }));
    expect(leased.deliveries.map((d) => [d.destination_id, d.status])).toEqual([["a", "pending"], ["b", "delivering"]]);
    // Before the probe time: only b's are claimed.
    const early = await store.queue.claimDue(T0 + 6_000, lease(T0 + 6_000 + LEASE), 100, BREAKER);
    expect(early.map((j) => j.delivery.destination_id)).toEqual(["b"]);
    expect(early[0]!.probe).toBeUndefined();
    // The probe time (T0+2+10s): one probe, the earliest due, and nothing more until the next interval.
    const probeAt = T0 + 10_002;
    const [probe, ...rest] = await store.queue.claimDue(probeAt, lease(probeAt + LEASE), 100, BREAKER);
    expect(rest).toEqual([]);
    expect(probe).toMatchObject({ probe: true, delivery: { id: earliest.deliveries[0]!.id, destination_id: "a" } });
    expect((await store.catalog.getDestination("a"))!.breaker).toMatchObject({ next_probe_at: probeAt + 10_000, probe_started_at: probeAt });
    expect(await store.queue.claimDue(probeAt + 9_999, lease(probeAt + LEASE), 100, BREAKER)).toEqual([]);
    // A failed probe: still open, the delivery pending and due, its schedule not advanced (schedule_start moves along).
    const failed = await store.queue.recordAttempt(attempt(probe!, false, probeAt + 50, { probe: true, outcome: { status: "pending", next_attempt_at: probeAt + 50 } }), probeAt + 50);
    expect(failed).toEqual({ applied: true, breaker: null });
    expect(await store.log.getDelivery(probe!.delivery.id)).toMatchObject({ status: "pending", attempts: 1, schedule_start: 1 });
    expect((await store.catalog.getDestination("a"))!.breaker).toMatchObject({ consecutive_failures: 4, probe_started_at: null });
    const second = await store.queue.claimDue(probeAt + 10_000, lease(probeAt + 10_000 + LEASE), 100, BREAKER);
    expect(second.map((j) => [j.delivery.destination_id, j.probe])).toEqual([["a", true]]);
  });

  it("sends one probe per interval between two stores claiming at once", async () => {
    const { store } = current;
    const other = await current.another();
    await withDestinations(store, "a");
    const jobs = await claimAll(3, T0);
    for (const job of jobs) await store.queue.recordAttempt(attempt(job, false, T0), T0);
    for (let i = 0; i < 20; i++) await store.queue.publish(newEvent({ at: T0, to: ["a"], data: { more: i } }));
    let probes = 0;
    // Ten rounds of one interval each; in every round the two stores claim at the same moment, five times over.
    for (let round = 0; round < 10; round++) {
      const at = T0 + 10_000 * (round + 1);
      const claims = await Promise.all(
        Array.from({ length: 10 }, (_, i) => (i % 2 ? other : store).queue.claimDue(at + (i >> 1), lease(at + LEASE, i % 2 ? "ins_b" : "ins_a"), 100, BREAKER)),
      );
      const taken = claims.flat();
      expect(taken.length).toBe(1);
      expect(taken[0]!.probe).toBe(true);
      probes++;
      const owner = i(taken[0]!);
      await (owner === "ins_b" ? other : store).queue.recordAttempt(
        attempt(taken[0]!, false, at + 20, { probe: true, outcome: { status: "pending", next_attempt_at: at + 20 } }),
        at + 20,
      );
    }
    expect(probes).toBe(10);
    function i(job: DeliveryJob): string {
      return job.delivery.lease_owner!;
    }
  });

  it("closes on a success, once, and lets the backlog be claimed", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const version = await store.catalog.version();
    const jobs = await claimAll(3, T0);
    for (const job of jobs) await store.queue.recordAttempt(attempt(job, false, T0), T0);
    const [probe] = await store.queue.claimDue(T0 + 10_000, lease(T0 + 10_000 + LEASE), 100, BREAKER);
    expect(probe!.probe).toBe(true);
    const closed = await store.queue.recordAttempt(attempt(probe!, true, T0 + 10_100, { probe: true }), T0 + 10_100);
    expect(closed).toEqual({ applied: true, breaker: { destination_id: "a", change: "closed", opened_at: T0, next_probe_at: null } });
    expect((await store.catalog.getDestination("a"))!.breaker).toEqual({ consecutive_failures: 0, opened_at: null, next_probe_at: null, probe_started_at: null });
    expect((await store.catalog.getDestination("a"))!.failing_since).toBeNull();
    expect(await store.queue.openBreakers()).toEqual([]);
    // The two other failed deliveries (due at T0+5s) are claimed as usual now.
    const backlog = await store.queue.claimDue(T0 + 10_200, lease(T0 + 10_200 + LEASE), 100, BREAKER);
    expect(backlog.map((j) => j.probe)).toEqual([undefined, undefined]);
    // A further success closes nothing again.
    expect((await store.queue.recordAttempt(attempt(backlog[0]!, true, T0 + 10_300), T0 + 10_300)).breaker).toBeNull();
    expect(await store.catalog.version()).toBe(version);
  });

  it("closes and clears several destinations answered with successes together, each once, saying which record closed a breaker", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b", "c");
    // a: three failures, its breaker open since T0, and a fourth send leased before it opened, still out.
    // b: one failure, failing since T0, its breaker shut. c: healthy.
    for (const to of ["a", "a", "a", "a", "b"]) await store.queue.publish(newEvent({ at: T0 - 1, to: [to] }));
    const first = await store.queue.claimDue(T0, lease(T0 + LEASE), 100, BREAKER);
    const stillOut = first.filter((j) => j.delivery.destination_id === "a").at(-1)!;
    for (const job of first) if (job !== stillOut) await store.queue.recordAttempt(attempt(job, false, T0), T0);
    expect(await store.queue.openBreakers()).toEqual(["a"]);
    for (const to of ["b", "b", "c", "c"]) await store.queue.publish(newEvent({ at: T0 + 1_000, to: [to] }));
    const jobs = await store.queue.claimDue(T0 + 10_000, lease(T0 + 10_000 + LEASE), 100, BREAKER);
    // a's probe, b's retry and two new ones, c's two.
    expect(jobs.map((j) => j.delivery.destination_id).sort()).toEqual(["a", "b", "b", "b", "c", "c"]);
    // Answered together with a's send still out (two successes for the closing destination), in an order
    // that is not the destinations' (one gathered write on PostgreSQL).
    const order = [...jobs, stillOut].sort((x, y) => (x.delivery.destination_id < y.delivery.destination_id ? 1 : -1));
    const results = await Promise.all(order.map((job) => store.queue.recordAttempt(attempt(job, true, T0 + 10_100, { probe: job.probe }), T0 + 10_100)));
    expect(results.every((r) => r.applied)).toBe(true);
    // The breaker closes once: a's first record says so, its second finds it closed already.
    const closing = order.findIndex((job) => job.delivery.destination_id === "a");
    expect(order.filter((job) => job.delivery.destination_id === "a").length).toBe(2);
    expect(results.map((r, i) => [order[i]!.delivery.destination_id, r.breaker])).toEqual(
      order.map((job, i) => [job.delivery.destination_id, i === closing ? { destination_id: "a", change: "closed", opened_at: T0, next_probe_at: null } : null]),
    );
    for (const id of ["a", "b", "c"]) {
      const destination = (await store.catalog.getDestination(id))!;
      expect([id, destination.failing_since, destination.breaker]).toEqual([id, null, { consecutive_failures: 0, opened_at: null, next_probe_at: null, probe_started_at: null }]);
    }
    expect(await store.queue.openBreakers()).toEqual([]);
  });

  it("with failures: 0, counts nothing and never opens", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const jobs = await claimAll(5, T0);
    for (const job of jobs) {
      const recorded = await store.queue.recordAttempt(attempt(job, false, T0, { breaker: { failures: 0, probe_every_ms: 10_000 } }), T0);
      expect(recorded.breaker).toBeNull();
    }
    expect((await store.catalog.getDestination("a"))!.breaker).toMatchObject({ consecutive_failures: 0, opened_at: null });
    expect((await store.catalog.getDestination("a"))!.failing_since).toBe(T0);
  });
});
