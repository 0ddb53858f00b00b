// Store contract for backfill jobs: the events a job reads next (its tenant,
// its window, after its cursor, in order), a chunk written insert-if-absent per
// (event, destination) and only under the job's lease, the lease exclusive
// between two stores on one database, cancelling, and retention of finished jobs.
import { expect, it } from "bun:test";
import { newId } from "../../src/store/ids.ts";
import type { Store } from "../../src/store/store.ts";
import type { BackfillChunk, BackfillJob, Delivery, Lease } from "../../src/store/types.ts";
import { describeEachStore } from "./stores.ts";
import { backfilled, backfillJob, newEvent, T0, withDestinations } from "./records.ts";

const LEASE = 60_000;

const leaseOf = (job: BackfillJob): Lease => ({ owner: job.lease_owner!, until: job.lease_until! });

function chunk(job: BackfillJob, deliveries: Delivery[], overrides: Partial<BackfillChunk> = {}): BackfillChunk {
  return { job_id: job.id, lease: leaseOf(job), renew_until: T0 + 2 * LEASE, deliveries, cursor: null, scanned: deliveries.length, done: false, ...overrides };
}

async function deliveriesTo(store: Store, destination: string): Promise<Delivery[]> {
  return (await store.log.listDeliveries({ destination_id: destination, limit: 1000 })).data;
}

describeEachStore("backfill jobs", (current) => {
  it("reads the tenant's events in the window after the cursor, by time then id, a chunk at a time", async () => {
    const { store } = current;
    const at = (t: number, options: Parameters<typeof newEvent>[0] = {}) => store.queue.publish(newEvent({ at: t, ...options }));
    await at(T0 - 1); // before the window
    // Two in one millisecond, with producer ids that do not sort by time: the id breaks the tie.
    await at(T0, { id: "zz-order" });
    await at(T0, { id: "aa-order" });
    await at(T0 + 5, { tenant: "globex" });
    const middle = newEvent({ at: T0 + 10, data: { n: 10 } });
    await store.queue.publish(middle);
    await at(T0 + 1_000); // at `until`: outside
    const job = backfillJob();
    const first = await store.backfills.nextEvents(job, 2);
    expect(first.map((e) => [e.id, e.created_at])).toEqual([["aa-order", T0], ["zz-order", T0]]);
    const second = await store.backfills.nextEvents({ ...job, cursor_at: T0, cursor_id: "zz-order" }, 2);
    expect(second).toEqual([{ ...middle.event, deliver_at: null }]);
    expect(await store.backfills.nextEvents({ ...job, cursor_at: T0 + 10, cursor_id: middle.event.id }, 2)).toEqual([]);
    expect((await store.backfills.nextEvents({ ...job, tenant: "globex" }, 10)).map((e) => e.created_at)).toEqual([T0 + 5]);
  });

  it("inserts a chunk's deliveries only where the destination has none of that event, in any state: twice makes none twice", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    // e1 was sent to "a" and failed for good; e2 went to "b" only; e3 to nobody.
    const e1 = newEvent({ at: T0 + 1, to: ["a"], status: "failed" });
    const e2 = newEvent({ at: T0 + 2, to: ["b"] });
    const e3 = newEvent({ at: T0 + 3 });
    for (const e of [e1, e2, e3]) await store.queue.publish(e);
    const job = backfillJob();
    await store.backfills.create(job);
    const now = T0 + 10_000;
    const make = () => [e1, e2, e3].map((e) => backfilled(e.event, "a", now));
    const first = await store.backfills.writeChunk(chunk(job, make(), { cursor: { at: T0 + 3, id: e3.event.id }, scanned: 3 }), now);
    expect(first!.created).toBe(2);
    expect(first!.job).toMatchObject({
      status: "running", cursor_at: T0 + 3, cursor_id: e3.event.id, events_scanned: 3, deliveries_created: 2,
      lease_owner: "ins_a", lease_until: T0 + 2 * LEASE, updated_at: now,
    });
    // The same chunk again (a holder that did not learn its commit, say), under the renewed lease: nothing new.
    const again = await store.backfills.writeChunk(chunk(first!.job, make(), { scanned: 3, done: true }), now + 1);
    expect(again!.created).toBe(0);
    expect(again!.job).toMatchObject({ status: "completed", events_scanned: 6, deliveries_created: 2, finished_at: now + 1, lease_owner: null });
    const toA = await deliveriesTo(store, "a");
    expect(toA.map((d) => [d.event_id, d.status]).sort()).toEqual(
      [[e1.event.id, "failed"], [e2.event.id, "pending"], [e3.event.id, "pending"]].sort(),
    );
    expect(toA.find((d) => d.event_id === e2.event.id)).toMatchObject({ subscription_id: "sub_late", next_attempt_at: now, attempts: 0 });
    expect(await deliveriesTo(store, "b")).toHaveLength(1);
    // The new deliveries are due now: a claim takes them.
    const claimed = await store.queue.claimDue(now + 5, { owner: "ins_a", until: now + LEASE }, 10);
    const claimedForA = claimed.filter((j) => j.delivery.destination_id === "a");
    expect(claimedForA.map((j) => j.event.id).sort()).toEqual([e2.event.id, e3.event.id].sort());
  });

  it("makes one delivery per event when two jobs for one destination write the same events at once, from two stores", async () => {
    const { store, another } = current;
    const other = await another();
    await withDestinations(store, "a");
    const events = Array.from({ length: 200 }, (_, i) => newEvent({ at: T0 + i }));
    for (const e of events) await store.queue.publish(e);
    // Two subscriptions of "a" (or one window asked twice): two jobs, each held by its own instance.
    const one = backfillJob({ id: newId("bkf", T0 + 1), lease_owner: "ins_a" });
    const two = backfillJob({ id: newId("bkf", T0 + 2), lease_owner: "ins_b" });
    await store.backfills.create(one);
    await store.backfills.create(two);
    const now = T0 + 10_000;
    for (let round = 0; round < 5; round++) {
      const [a, b] = await Promise.all([
        store.backfills.writeChunk(chunk(one, events.map((e) => backfilled(e.event, "a", now))), now),
        other.backfills.writeChunk(chunk(two, events.map((e) => backfilled(e.event, "a", now))), now),
      ]);
      Object.assign(one, a!.job);
      Object.assign(two, b!.job);
    }
    expect(one.deliveries_created + two.deliveries_created).toBe(200);
    const made = await deliveriesTo(store, "a");
    expect(made).toHaveLength(200);
    expect(new Set(made.map((d) => d.event_id)).size).toBe(200);
  });

  it("writes nothing under a lease the job no longer holds, nor for a finished job", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const e = newEvent({ at: T0 + 1 });
    await store.queue.publish(e);
    const job = backfillJob();
    await store.backfills.create(job);
    const stale = { ...job, lease_until: T0 + LEASE - 1 };
    expect(await store.backfills.writeChunk(chunk(stale, [backfilled(e.event, "a", T0 + 5)]), T0 + 5)).toBeNull();
    expect(await store.backfills.writeChunk(chunk({ ...job, lease_owner: "ins_other" }, [backfilled(e.event, "a", T0 + 5)]), T0 + 5)).toBeNull();
    // Cancelled through the API (any holder, the tenant's own job), then the holder's chunk finds it gone.
    expect(await store.backfills.finish(job.id, "cancelled", "cancelled through the API", T0 + 6, { tenant: "globex" })).toBeNull();
    expect(await store.backfills.finish(job.id, "cancelled", "cancelled through the API", T0 + 6, { tenant: "default" })).toMatchObject({
      status: "cancelled", error: "cancelled through the API", finished_at: T0 + 6, lease_owner: null, lease_until: null,
    });
    expect(await store.backfills.writeChunk(chunk(job, [backfilled(e.event, "a", T0 + 7)]), T0 + 7)).toBeNull();
    expect(await deliveriesTo(store, "a")).toEqual([]);
    expect(await store.backfills.get(job.id)).toMatchObject({ status: "cancelled", events_scanned: 0, deliveries_created: 0 });
    expect(await store.backfills.finish(job.id, "failed", "late", T0 + 8, {})).toBeNull();
  });

  it("leases a job to one of two stores claiming at once, never takes a live holder's, and takes a dead one's", async () => {
    const { store, another } = current;
    const other = await another();
    await store.queue.registerInstance("ins_a", T0);
    await other.queue.registerInstance("ins_b", T0);
    // Twenty jobs left by an instance that is gone (no row in instances).
    const jobs = Array.from({ length: 20 }, (_, i) => backfillJob({ id: newId("bkf", T0 + i), lease_owner: "ins_gone" }));
    for (const job of jobs) await store.backfills.create(job);
    const now = T0 + 100;
    const [mine, theirs] = await Promise.all([
      store.backfills.claim(now, { owner: "ins_a", until: now + LEASE }, 20),
      other.backfills.claim(now, { owner: "ins_b", until: now + LEASE }, 20),
    ]);
    const taken = [...mine.map((j) => j.id), ...theirs.map((j) => j.id)];
    expect(taken.sort()).toEqual(jobs.map((j) => j.id).sort());
    expect(new Set(taken).size).toBe(20);
    for (const job of mine) expect(job).toMatchObject({ lease_owner: "ins_a", lease_until: now + LEASE, status: "running" });
    // Both holders are alive and their leases run: nobody takes any again, however often asked.
    expect(await store.backfills.claim(now + 1, { owner: "ins_a", until: now + LEASE }, 20)).toEqual([]);
    expect(await other.backfills.claim(now + 1, { owner: "ins_b", until: now + LEASE }, 20)).toEqual([]);
    // Whoever lost a job cannot write to it.
    if (mine.length && theirs.length) {
      const lost = { ...mine[0]!, lease_owner: "ins_b", lease_until: now + LEASE };
      expect(await other.backfills.writeChunk(chunk(lost, []), now + 2)).toBeNull();
    }
    // A lease that ran out is taken back, by either.
    const later = now + LEASE;
    const expired = await other.backfills.claim(later, { owner: "ins_b", until: later + LEASE }, 100);
    expect(expired.map((j) => j.id).sort()).toEqual(jobs.map((j) => j.id).sort());
    // ins_b stops without retiring (a crash): once found dead (PostgreSQL: its session lock is free;
    // SQLite in one process: its lock file is gone, and its heartbeat is stale), its jobs are the others' to take.
    await other.close();
    await store.queue.releaseLeasesOfDeadInstances(later + 1, later + 1);
    const retaken = await store.backfills.claim(later + 1, { owner: "ins_a", until: later + 1 + LEASE }, 100);
    expect(retaken).toHaveLength(20);
  });

  it("lists a tenant's or a subscription's jobs newest first, and retention deletes finished ones past the cutoff", async () => {
    const { store } = current;
    const a1 = backfillJob({ id: newId("bkf", T0 + 1), subscription_id: "sub_1" });
    const a2 = backfillJob({ id: newId("bkf", T0 + 2), subscription_id: "sub_2" });
    const g = backfillJob({ id: newId("bkf", T0 + 3), tenant: "globex", subscription_id: "sub_g" });
    for (const job of [a1, a2, g]) await store.backfills.create(job);
    expect((await store.backfills.list({ tenant: "default", limit: 10 })).data.map((j) => j.id)).toEqual([a2.id, a1.id]);
    expect((await store.backfills.list({ subscription_id: "sub_1", limit: 10 })).data.map((j) => j.id)).toEqual([a1.id]);
    const page = await store.backfills.list({ limit: 2 });
    expect(page).toMatchObject({ next_cursor: a2.id });
    expect((await store.backfills.list({ limit: 2, cursor: page.next_cursor! })).data.map((j) => j.id)).toEqual([a1.id]);
    await store.backfills.finish(a1.id, "failed", "boom", T0 + 10, {});
    await store.backfills.finish(g.id, "cancelled", null, T0 + 20, {});
    expect(await store.backfills.deleteFinishedBefore(T0 + 20)).toBe(1);
    expect(await store.backfills.get(a1.id)).toBeNull();
    // Running jobs are never deleted, however old.
    expect(await store.backfills.deleteFinishedBefore(T0 + 1_000_000)).toBe(1);
    expect((await store.backfills.list({ limit: 10 })).data.map((j) => j.id)).toEqual([a2.id]);
  });
});
