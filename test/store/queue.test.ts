// Store contract: the job table as a queue — claims take due rows once, leases
// expire back to pending, attempts move a delivery along DESIGN §2's states,
// and manual retries and recovery put rows back only where the states allow.
import { expect, it } from "bun:test";
import { describeEachStore } from "./stores.ts";
import { attemptRecord, lease, newEvent, T0, withDestinations } from "./records.ts";

const LEASE = 60_000;


describeEachStore("the queue", (current) => {
  it("claims due pending rows, the earliest due first, and leaves future and other rows alone", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const late = newEvent({ at: T0 + 2_000, to: ["a"] });
    const early = newEvent({ at: T0 + 1_000, to: ["a"] });
    const future = newEvent({ at: T0 + 60_000, to: ["a"] });
    const done = newEvent({ at: T0, to: ["a"], status: "succeeded" });
    for (const item of [late, early, future, done]) await store.queue.publish(item);
    // A claim smaller than what is due takes the earliest due (the order of a claim's rows is not promised).
    const [first] = await store.queue.claimDue(T0 + 5_000, lease(T0 + 5_000 + LEASE), 1);
    expect(first!.event).toEqual({ id: early.event.id, type: early.event.type, created_at: early.event.created_at, data_json: early.data_json });
    const claimed = [first!, ...(await store.queue.claimDue(T0 + 5_000, lease(T0 + 5_000 + LEASE), 10))];
    expect(claimed.map((j) => j.event.id)).toEqual([early.event.id, late.event.id]);
    for (const job of claimed) expect(job.delivery).toMatchObject({ status: "delivering", lease_until: T0 + 5_000 + LEASE });
    // Claimed once: a second claim finds nothing more that is due.
    expect(await store.queue.claimDue(T0 + 5_000, lease(T0 + 5_000 + LEASE), 10)).toEqual([]);
    expect((await store.log.deliveriesOfEvent(future.event.id))[0]!.status).toBe("pending");
  });

  it("hands every claimed delivery its event's data, small or large, one event object for an event's rows", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b", "c");
    // Large in bytes (SQLite reads data over 8 KiB once per claim, not with each row): one of
    // them under 8,192 characters but over 8 KiB in UTF-8, one with a single delivery.
    const wide = newEvent({ at: T0, to: ["a", "b", "c"], data: { note: "é".repeat(5_000), items: Array.from({ length: 50 }, (_, i) => ({ sku: `sku-${i}` })) } });
    const small = newEvent({ at: T0 + 1, to: ["a", "b"] });
    const lone = newEvent({ at: T0 + 2, to: ["c"], data: { blob: "x".repeat(20_000) } });
    for (const item of [wide, small, lone]) await store.queue.publish(item);
    const jobs = await store.queue.claimDue(T0 + 5_000, lease(T0 + 5_000 + LEASE), 10);
    expect(jobs).toHaveLength(6);
    for (const item of [wide, small, lone]) {
      const mine = jobs.filter((j) => j.event.id === item.event.id);
      expect(mine.map((j) => j.delivery.destination_id).sort()).toEqual(item.deliveries.map((d) => d.destination_id).sort());
      for (const job of mine) {
        expect(job.event).toEqual({ id: item.event.id, type: item.event.type, created_at: item.event.created_at, data_json: item.data_json });
        expect(job.event).toBe(mine[0]!.event);
      }
    }
  });

  it("reads back leases written on disk in the order given, only rows still held under the lease each was written with", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    // Leased at publish to ins_test until T0 + 60 s (records.ts), as a publish past the in-memory queue writes them.
    const items = Array.from({ length: 5 }, (_, i) => newEvent({ to: ["a", "b"], data: { i }, status: "delivering" }));
    for (const item of items) await store.queue.publish(item);
    const rows = items.flatMap((item) => item.deliveries);
    const until = T0 + 60_000;
    // One lease was handed back (its row pending again), one is asked for under another lease end.
    await store.queue.releaseLease(rows[2]!.id, lease(until), T0);
    const asked = [rows[7]!, rows[2]!, rows[9]!, rows[0]!, rows[4]!];
    const leases = new Map(asked.map((d) => [d.id, until]));
    leases.set(rows[9]!.id, until + 5);
    const jobs = await store.queue.readLeased("ins_test", leases);
    expect(jobs.map((j) => j.delivery.id)).toEqual([rows[7]!.id, rows[0]!.id, rows[4]!.id]);
    for (const job of jobs) {
      const item = items.find((i) => i.event.id === job.delivery.event_id)!;
      expect(job.event).toEqual({ id: item.event.id, type: item.event.type, created_at: item.event.created_at, data_json: item.data_json });
      expect(job.delivery).toMatchObject({ status: "delivering", lease_owner: "ins_test", lease_until: until });
    }
    // Another owner holds none of them.
    expect(await store.queue.readLeased("ins_other", new Map(asked.map((d) => [d.id, until])))).toEqual([]);
  });

  it("gives two instances claiming together disjoint rows, every due row to one of them", async () => {
    const { store, another } = current;
    const second = await another();
    await withDestinations(store, "a");
    const ids: string[] = [];
    for (let i = 0; i < 50; i++) {
      const item = newEvent({ at: T0 + i, to: ["a"] });
      await store.queue.publish(item);
      ids.push(item.deliveries[0]!.id);
    }
    const claims = await Promise.all([
      await store.queue.claimDue(T0 + 1_000, lease(T0 + LEASE, "ins_a"), 20), second.queue.claimDue(T0 + 1_000, lease(T0 + LEASE, "ins_b"), 20),
      await store.queue.claimDue(T0 + 1_000, lease(T0 + LEASE, "ins_a"), 20), second.queue.claimDue(T0 + 1_000, lease(T0 + LEASE, "ins_b"), 20),
    ]);
    const claimed = claims.flat().map((j) => j.delivery.id);
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed.sort()).toEqual(ids.sort());
  });

  it("returns expired leases to pending, and only those", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    for (let i = 0; i < 3; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    const [first] = await store.queue.claimDue(T0 + 10, lease(T0 + 1_000), 1);
    await store.queue.claimDue(T0 + 10, lease(T0 + 5_000), 2);
    expect(await store.queue.releaseExpiredLeases(T0 + 1_000)).toBe(1);
    expect(await store.log.getDelivery(first!.delivery.id)).toMatchObject({ status: "pending", lease_until: null });
    expect((await store.log.listDeliveries({ status: "delivering", limit: 10 })).data).toHaveLength(2);
  });

  it("extends a lease only while the delivery holds it, and the sweep keeps to the new end", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    for (let i = 0; i < 2; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    const done = newEvent({ at: T0, to: ["a"], status: "succeeded" });
    await store.queue.publish(done);
    const held = lease(T0 + 1_000);
    const [job, other] = await store.queue.claimDue(T0 + 10, held, 2);
    expect(await store.queue.extendLease(job!.delivery.id, held, T0 + 9_000)).toBe(true);
    expect(await store.log.getDelivery(job!.delivery.id)).toMatchObject({ status: "delivering", lease_until: T0 + 9_000 });
    // The old end no longer names it; another owner, or another end of the same owner's, never did.
    expect(await store.queue.extendLease(job!.delivery.id, held, T0 + 20_000)).toBe(false);
    expect(await store.queue.extendLease(other!.delivery.id, lease(T0 + 1_000, "ins_other"), T0 + 9_000)).toBe(false);
    expect(await store.queue.extendLease(other!.delivery.id, lease(T0 + 2_000), T0 + 9_000)).toBe(false);
    // The sweep at the old end takes back only the lease that was not extended.
    expect(await store.queue.releaseExpiredLeases(T0 + 1_000)).toBe(1);
    expect(await store.log.getDelivery(job!.delivery.id)).toMatchObject({ status: "delivering", lease_until: T0 + 9_000 });
    // Returned to pending, or ended: nothing to extend, and nothing changed.
    expect(await store.queue.extendLease(other!.delivery.id, held, T0 + 9_000)).toBe(false);
    expect(await store.log.getDelivery(other!.delivery.id)).toMatchObject({ status: "pending", lease_until: null });
    expect(await store.queue.extendLease(done.deliveries[0]!.id, held, T0 + 9_000)).toBe(false);
  });

  it("records attempts in order and moves the delivery: retry due, then succeeded and final", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    await store.queue.publish(newEvent({ to: ["a"] }));
    const [job] = await store.queue.claimDue(T0, lease(T0 + LEASE), 1);
    const id = job!.delivery.id;
    await store.queue.recordAttempt(attemptRecord(job!, { status: "pending", next_attempt_at: T0 + 5_000 }), T0 + 100);
    expect(await store.log.getDelivery(id)).toMatchObject({ status: "pending", attempts: 1, next_attempt_at: T0 + 5_000, lease_until: null, last_status: 500 });
    const [again] = await store.queue.claimDue(T0 + 5_000, lease(T0 + 5_000 + LEASE), 1);
    await store.queue.recordAttempt(attemptRecord(again!, { status: "succeeded" }, T0 + 5_000), T0 + 5_100);
    expect(await store.log.getDelivery(id)).toMatchObject({ status: "succeeded", attempts: 2, finalized_at: T0 + 5_100, next_attempt_at: null });
    expect((await store.log.attemptsOf(id)).map((a) => [a.number, a.response_status])).toEqual([[1, 500], [2, 200]]);
  });

  it("never lets an attempt's record move a row whose lease it no longer holds", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    await store.queue.publish(newEvent({ to: ["a"] }));
    const [job] = await store.queue.claimDue(T0, lease(T0 + 1_000), 1);
    // The lease expired and the row went back to pending before the answer was recorded.
    await store.queue.releaseExpiredLeases(T0 + 1_000);
    await store.queue.recordAttempt(attemptRecord(job!, { status: "succeeded" }), T0 + 1_500);
    expect((await store.log.getDelivery(job!.delivery.id))!.status).toBe("pending");
    // Another instance holds it now: the old send's late answer leaves its lease alone,
    // and the holder's own answer is the one that counts.
    const [taken] = await store.queue.claimDue(T0 + 2_000, lease(T0 + 2_000 + LEASE, "ins_b"), 1);
    await store.queue.recordAttempt(attemptRecord(job!, { status: "failed" }), T0 + 2_100);
    expect(await store.log.getDelivery(job!.delivery.id)).toMatchObject({ status: "delivering", lease_owner: "ins_b" });
    await store.queue.recordAttempt(attemptRecord(taken!, { status: "succeeded" }), T0 + 2_200);
    expect((await store.log.getDelivery(job!.delivery.id))!.status).toBe("succeeded");
  });

  it("records a lost lease's late answer and its holder's answer arriving together, in turn", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    await store.queue.publish(newEvent({ at: T0, to: ["a"] }));
    const [first] = await store.queue.claimDue(T0 + 10, lease(T0 + 1_000, "ins_a"), 1);
    await store.queue.releaseExpiredLeases(T0 + 1_000);
    const [second] = await store.queue.claimDue(T0 + 1_000, lease(T0 + 60_000, "ins_b"), 1);
    // Both answers in one gathered batch: the late one is logged and counted, the holder's moves the row.
    const applied = await Promise.all([
      store.queue.recordAttempt(attemptRecord(first!, { status: "pending", next_attempt_at: T0 + 5_000 }), T0 + 2_000),
      store.queue.recordAttempt(attemptRecord(second!, { status: "succeeded" }), T0 + 2_001),
    ]);
    expect(applied.map((r) => r.applied)).toEqual([false, true]);
    expect(await store.log.getDelivery(first!.delivery.id)).toMatchObject({ status: "succeeded", attempts: 2, lease_owner: null });
    expect((await store.log.attemptsOf(first!.delivery.id)).map((a) => [a.number, a.response_status])).toEqual([[1, 500], [2, 200]]);
  });

  it("records answers that arrive together as it would one by one: states, attempt numbers, lost leases, destination health", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b", "c", "d");
    // One delivery each, created in this order so that their ids sort the same way.
    const items = ["a", "a", "b", "b", "c", "d", "d"].map((to, i) => newEvent({ at: T0 + i, to: [to] }));
    for (const item of items) await store.queue.publish(item);
    const jobs = await store.queue.claimDue(T0 + 100, lease(T0 + 1_000), 10);
    const job = (i: number) => jobs.find((j) => j.delivery.id === items[i]!.deliveries[0]!.id)!;
    // a and c failing since T0 + 200 (an earlier answer each, recorded alone); the retries put their deliveries back in the queue.
    for (const i of [0, 4]) await store.queue.recordAttempt(attemptRecord(job(i), { status: "pending", next_attempt_at: T0 + 300 }), T0 + 200);
    expect(await store.queue.claimDue(T0 + 300, lease(T0 + 1_000), 10)).toHaveLength(2);
    const retried = job(4);
    // Delivery 6's lease ran out and another instance holds it now: its late answer is logged, the row left alone.
    await store.queue.releaseExpiredLeases(T0 + 1_000);
    const late = job(6);
    const fresh = await store.queue.claimDue(T0 + 1_000, lease(T0 + 60_000, "ins_b"), 10);
    const current6 = fresh.find((j) => j.delivery.id === late.delivery.id)!;
    const applied = await Promise.all([
      store.queue.recordAttempt(attemptRecord(fresh.find((j) => j.delivery.id === job(0).delivery.id)!, { status: "succeeded" }), T0 + 2_000),
      store.queue.recordAttempt(attemptRecord(fresh.find((j) => j.delivery.id === job(1).delivery.id)!, { status: "failed" }), T0 + 2_001),
      store.queue.recordAttempt(attemptRecord(fresh.find((j) => j.delivery.id === job(2).delivery.id)!, { status: "pending", next_attempt_at: T0 + 9_000 }), T0 + 2_002),
      store.queue.recordAttempt(attemptRecord(fresh.find((j) => j.delivery.id === job(3).delivery.id)!, { status: "succeeded" }), T0 + 2_003),
      store.queue.recordAttempt(attemptRecord(fresh.find((j) => j.delivery.id === retried.delivery.id)!, { status: "pending", next_attempt_at: T0 + 9_000 }), T0 + 2_004),
      store.queue.recordAttempt(attemptRecord(late, { status: "succeeded" }), T0 + 2_005),
      store.queue.recordAttempt(attemptRecord(fresh.find((j) => j.delivery.id === job(5).delivery.id)!, { status: "failed" }), T0 + 2_006),
    ]);
    expect(applied.map((r) => r.applied)).toEqual([true, true, true, true, true, false, true]);
    const rows = await Promise.all(items.map((item) => store.log.getDelivery(item.deliveries[0]!.id)));
    expect(rows.map((r) => [r!.status, r!.attempts])).toEqual([
      ["succeeded", 2], ["failed", 1], ["pending", 1], ["succeeded", 1], ["pending", 2], ["failed", 1], ["delivering", 1],
    ]);
    expect(rows[6]).toMatchObject({ lease_owner: "ins_b", finalized_at: null });
    expect(rows[1]).toMatchObject({ finalized_at: T0 + 2_001, next_attempt_at: null, last_status: 500, lease_owner: null });
    expect(rows[2]).toMatchObject({ next_attempt_at: T0 + 9_000, finalized_at: null, lease_until: null });
    expect((await store.log.attemptsOf(retried.delivery.id)).map((a) => a.number)).toEqual([1, 2]);
    // The lost lease's answer is attempt 1; the holder's own answer will be attempt 2.
    expect((await store.log.attemptsOf(late.delivery.id)).map((a) => [a.number, a.response_status])).toEqual([[1, 200]]);
    // a: failing, then a success and a failure: failing since the failure. b: a failure, then a success: not failing.
    // c: failing since before the batch, and failing still: unchanged. d: its failure (the lost lease's success changes nothing).
    const failing = async (id: string) => (await store.catalog.getDestination(id))!.failing_since;
    expect([await failing("a"), await failing("b"), await failing("c"), await failing("d")]).toEqual([T0 + 2_001, null, T0 + 200, T0 + 2_006]);
    await store.queue.recordAttempt(attemptRecord(current6, { status: "succeeded" }), T0 + 3_000);
    expect((await store.log.attemptsOf(late.delivery.id)).map((a) => a.number)).toEqual([1, 2]);
  });

  it("leases a failed or succeeded delivery for a manual retry, and refuses one in flight, cancelled or missing", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const failed = newEvent({ at: T0, to: ["a"], status: "failed" });
    const cancelled = newEvent({ at: T0 + 1, to: ["a"], status: "cancelled" });
    const sending = newEvent({ at: T0 + 2, to: ["a"], status: "delivering" });
    for (const item of [failed, cancelled, sending]) await store.queue.publish(item);
    const leased = await store.queue.leaseForRetry(failed.deliveries[0]!.id, T0 + 10, lease(T0 + LEASE), null);
    expect("job" in leased && leased.job.delivery).toMatchObject({ status: "delivering", schedule_start: 0, finalized_at: null });
    expect(await store.queue.leaseForRetry(cancelled.deliveries[0]!.id, T0 + 10, lease(T0 + LEASE), null)).toEqual({ error: "cancelled" });
    expect(await store.queue.leaseForRetry(sending.deliveries[0]!.id, T0 + 10, lease(T0 + LEASE), null)).toEqual({ error: "in_flight" });
    expect(await store.queue.leaseForRetry("dlv_missing", T0 + 10, lease(T0 + LEASE), null)).toEqual({ error: "not_found" });
    // Scoped to a tenant, another tenant's delivery does not exist.
    const acme = newEvent({ at: T0 + 3, tenant: "acme", to: ["a"], status: "failed" });
    await store.queue.publish(acme);
    expect(await store.queue.leaseForRetry(acme.deliveries[0]!.id, T0 + 10, lease(T0 + LEASE), "globex")).toEqual({ error: "not_found" });
    expect((await store.log.getDelivery(acme.deliveries[0]!.id))!.status).toBe("failed");
    expect("job" in (await store.queue.leaseForRetry(acme.deliveries[0]!.id, T0 + 10, lease(T0 + LEASE), "acme"))).toBe(true);
    expect((await store.log.getDelivery(cancelled.deliveries[0]!.id))!.status).toBe("cancelled");
  });

  it("re-queues a destination's failed deliveries created in a window, and nothing else", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    const inWindow = newEvent({ at: T0 + 1_000, to: ["a", "b"], status: "failed" });
    const before = newEvent({ at: T0, to: ["a"], status: "failed" });
    const succeeded = newEvent({ at: T0 + 1_500, to: ["a"], status: "succeeded" });
    for (const item of [inWindow, before, succeeded]) await store.queue.publish(item);
    expect(await store.queue.requeueFailed("a", T0 + 500, T0 + 2_000, T0 + 3_000)).toBe(1);
    const [forA, forB] = [...inWindow.deliveries].sort((x, y) => x.destination_id.localeCompare(y.destination_id));
    expect(await store.log.getDelivery(forA!.id)).toMatchObject({ status: "pending", next_attempt_at: T0 + 3_000, finalized_at: null });
    expect((await store.log.getDelivery(forB!.id))!.status).toBe("failed");
    expect((await store.log.getDelivery(before.deliveries[0]!.id))!.status).toBe("failed");
  });
});
