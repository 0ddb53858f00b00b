// Store contract: the figures behind endpoint health — a destination's attempts
// in time buckets with nearest-rank latency percentiles, deliveries still
// retrying counted apart (so a success rate can count them against it), and
// what the destination has in flight and due now; each attempt row names its
// delivery's destination, which is what the buckets are read by.
import { expect, it } from "bun:test";
import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import type { Store } from "../../src/store/store.ts";
import type { AttemptOutcome, DeliveryJob } from "../../src/store/types.ts";
import { describeEachStore } from "./stores.ts";
import { destinationsHealthRead } from "../../src/store/sqlite/log.ts";
import { asLeased, attemptRecord, destination, lease, leaseOf, newEvent, T0, withDestinations } from "./records.ts";

const HOUR = 3_600_000;

/** Records one attempt of the job, started at `at`, taking `duration_ms`, answered `status`. */
async function attempt(store: Store, job: DeliveryJob, at: number, duration_ms: number, status: number, outcome: AttemptOutcome) {
  await store.queue.recordAttempt({
    delivery_id: job.delivery.id,
    lease: leaseOf(job),
    as_leased: asLeased(job),
    attempt: { started_at: at, duration_ms, request_url: "https://hooks.example.com/a", request_headers: {}, response_status: status, response_headers: {}, response_body: "", error: status >= 300 ? `HTTP ${status}` : null },
    outcome,
  }, at + duration_ms);
}

/** Every attempt row's delivery, number and destination column, read with the store's own connection past its row mapping. */
async function attemptRows(store: Store): Promise<[string, number, string | null][]> {
  const statement = "SELECT delivery_id, number, destination_id FROM attempts ORDER BY delivery_id, number";
  const rows: { delivery_id: string; number: number; destination_id: string | null }[] =
    "db" in store ? ((store.db as Database).query(statement).all() as never) : await (store as unknown as { sql: SQL }).sql.unsafe(statement);
  return rows.map((r) => [r.delivery_id, Number(r.number), r.destination_id]);
}

describeEachStore("endpoint health", (current) => {
  it("buckets a destination's attempts by hour with their count, successes and p50/p95 latency", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    // Hour one: ten attempts of 10..100 ms, two of them answered 500 and waiting to retry.
    for (let i = 0; i < 10; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    await store.queue.publish(newEvent({ at: T0 + 20, to: ["b"] }));
    const jobs = (await store.queue.claimDue(T0 + 100, lease(T0 + HOUR), 20)).filter((j) => j.delivery.destination_id === "a");
    expect(jobs).toHaveLength(10);
    for (const [i, job] of jobs.entries()) {
      const failing = i === 3 || i === 7;
      await attempt(store, job, T0 + 1_000 + i, (i + 1) * 10, failing ? 500 : 200, failing ? { status: "pending", next_attempt_at: T0 + 3 * HOUR } : { status: "succeeded" });
    }
    // Hour two: one attempt of 7 ms that fails for good.
    await store.queue.publish(newEvent({ at: T0 + HOUR + 5, to: ["a"] }));
    const [late] = await store.queue.claimDue(T0 + HOUR + 10, lease(T0 + 2 * HOUR), 5);
    await attempt(store, late!, T0 + HOUR + 100, 7, 410, { status: "failed" });

    const buckets = await store.log.attemptBuckets("a", T0 - HOUR, T0 + 3 * HOUR, HOUR);
    expect(buckets).toEqual([
      // Nearest rank: p50 is the 5th of 10 (50 ms), p95 the 10th (100 ms).
      { start: T0, attempts: 10, succeeded: 8, p50_ms: 50, p95_ms: 100 },
      { start: T0 + HOUR, attempts: 1, succeeded: 0, p50_ms: 7, p95_ms: 7 },
    ]);
    // The window bounds attempts by when they started.
    expect(await store.log.attemptBuckets("a", T0 + HOUR, T0 + 2 * HOUR, HOUR)).toEqual([{ start: T0 + HOUR, attempts: 1, succeeded: 0, p50_ms: 7, p95_ms: 7 }]);
    expect(await store.log.attemptBuckets("a", T0 + 2 * HOUR, T0 + 3 * HOUR, HOUR)).toEqual([]);
    // Daily buckets hold both hours: 7, 10, 20 … 100 ms, whose 6th of 11 is 50.
    const DAY = 24 * HOUR;
    expect(await store.log.attemptBuckets("a", T0 - DAY, T0 + DAY, DAY)).toEqual([{ start: Math.floor(T0 / DAY) * DAY, attempts: 11, succeeded: 8, p50_ms: 50, p95_ms: 100 }]);
  });

  it("writes each attempt with its delivery's destination: applied, a lost lease's late answer alone, and both answers for one delivery together", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    const [x, y, w] = [newEvent({ at: T0, to: ["a"] }), newEvent({ at: T0 + 1, to: ["b"] }), newEvent({ at: T0 + 2, to: ["b"] })];
    for (const item of [x, y, w]) await store.queue.publish(item);
    const first = await store.queue.claimDue(T0 + 10, lease(T0 + 1_000, "ins_a"), 10);
    const job = (item: typeof x) => first.find((j) => j.delivery.id === item.deliveries[0]!.id)!;
    // x: an answer that applies.
    await store.queue.recordAttempt(attemptRecord(job(x), { status: "succeeded" }), T0 + 20);
    // y and w: their leases run out and ins_b takes them over.
    await store.queue.releaseExpiredLeases(T0 + 1_000);
    const taken = await store.queue.claimDue(T0 + 1_000, lease(T0 + 60_000, "ins_b"), 10);
    const holder = taken.find((j) => j.delivery.id === y.deliveries[0]!.id)!;
    // y: the late answer and the holder's arrive together (one batch, two answers for one delivery).
    const together = await Promise.all([
      store.queue.recordAttempt(attemptRecord(job(y), { status: "pending", next_attempt_at: T0 + 5_000 }, T0 + 2_000), T0 + 2_000),
      store.queue.recordAttempt(attemptRecord(holder, { status: "succeeded" }, T0 + 2_001), T0 + 2_001),
    ]);
    expect(together.map((r) => r.applied)).toEqual([false, true]);
    // w: the late answer alone, logged and counted while ins_b holds the row.
    expect((await store.queue.recordAttempt(attemptRecord(job(w), { status: "succeeded" }, T0 + 2_100), T0 + 2_100)).applied).toBe(false);

    const id = (item: typeof x) => item.deliveries[0]!.id;
    expect(await attemptRows(store)).toEqual([[id(x), 1, "a"], [id(y), 1, "b"], [id(y), 2, "b"], [id(w), 1, "b"]]);
    // The buckets are read by that column: b's three attempts, none of a's.
    expect((await store.log.attemptBuckets("b", T0, T0 + HOUR, HOUR)).map((b) => [b.attempts, b.succeeded])).toEqual([[3, 2]]);
  });

  it("counts deliveries retrying apart from those not yet attempted", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    for (let i = 0; i < 3; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    const jobs = await store.queue.claimDue(T0 + 10, lease(T0 + HOUR), 2);
    for (const job of jobs) await attempt(store, job, T0 + 20, 5, 503, { status: "pending", next_attempt_at: T0 + HOUR });
    const health = (await store.log.destinationsHealth({ ids: ["a"], since: T0 - 1, until: T0 + HOUR })).get("a")!;
    expect(health.counts).toMatchObject({ pending: 3, succeeded: 0, failed: 0 });
    expect(health.retrying).toBe(2);
    const stats = await store.log.deliveryStats({ since: T0 - 1, until: T0 + HOUR, bucket_ms: HOUR });
    expect(stats.retrying).toBe(2);
  });

  it("reads many destinations' health in one statement: each as read alone, only the tenant's, unknown ids left out", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b", "idle");
    await store.catalog.saveDestination(destination({ id: "c", tenant: "acme" }));
    // a: two succeed, one fails and retries; b: one fails for good; c (acme): one not yet tried; idle: nothing.
    for (let i = 0; i < 3; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    await store.queue.publish(newEvent({ at: T0 + 3, to: ["b"] }));
    await store.queue.publish(newEvent({ at: T0 + 4, to: ["c"], tenant: "acme" }));
    const jobs = await store.queue.claimDue(T0 + 10, lease(T0 + HOUR), 4);
    const of = (id: string) => jobs.filter((j) => j.delivery.destination_id === id);
    await attempt(store, of("a")[0]!, T0 + 20, 5, 200, { status: "succeeded" });
    await attempt(store, of("a")[1]!, T0 + 30, 5, 200, { status: "succeeded" });
    await attempt(store, of("a")[2]!, T0 + 40, 5, 503, { status: "pending", next_attempt_at: T0 + HOUR });
    await attempt(store, of("b")[0]!, T0 + 50, 5, 500, { status: "failed" });

    const window = { since: T0 - 1, until: T0 + HOUR };
    const all = await store.log.destinationsHealth({ ids: ["a", "b", "c", "idle", "gone"], ...window });
    expect([...all.keys()].sort()).toEqual(["a", "b", "c", "idle"]);
    for (const id of all.keys()) expect(all.get(id)).toEqual((await store.log.destinationsHealth({ ids: [id], ...window })).get(id)!);
    expect(all.get("a")).toMatchObject({ counts: { succeeded: 2, pending: 1 }, retrying: 1, last_failure_at: T0 + 40, last_error: "HTTP 503" });
    expect(all.get("a")!.last_success_at).not.toBeNull();
    expect(all.get("b")).toMatchObject({ counts: { failed: 1 }, retrying: 0, last_success_at: null, last_failure_at: T0 + 50, last_error: "HTTP 500" });
    expect(all.get("c")).toMatchObject({ counts: { pending: 1 }, retrying: 0, last_failure_at: null });
    expect(all.get("idle")).toEqual({ counts: { pending: 0, delivering: 0, succeeded: 0, failed: 0, cancelled: 0 }, retrying: 0, last_success_at: null, last_failure_at: null, last_error: null });
    // The window bounds the counts only (the last success and failure are the newest at any time).
    expect((await store.log.destinationsHealth({ ids: ["a"], since: T0 + 1, until: T0 + 2 })).get("a")).toMatchObject({ counts: { pending: 0, succeeded: 1 }, last_error: "HTTP 503" });
    // A tenant's read holds only its own destinations.
    expect([...(await store.log.destinationsHealth({ ids: ["a", "c"], tenant: "acme", ...window })).keys()]).toEqual(["c"]);
    expect((await store.log.destinationsHealth({ ids: [], ...window })).size).toBe(0);

    if ("db" in store) {
      // On SQLite, every table of the one statement is searched by an index, never scanned.
      const { sql, params } = destinationsHealthRead({ ids: ["a", "b"], tenant: "acme", ...window });
      const plan = ((store.db as Database).query(`EXPLAIN QUERY PLAN ${sql}`).all(params as never) as { detail: string }[]).map((r) => r.detail);
      expect(plan.filter((d) => /^SCAN (deliveries|attempts|destinations|d|a)\b/.test(d))).toEqual([]);
      expect(plan).toContain("SEARCH deliveries USING INDEX deliveries_destination (destination_id=? AND id>? AND id<?)");
    }
  });

  it("says how many deliveries are in flight and how many are due now", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    for (let i = 0; i < 5; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    await store.queue.claimDue(T0 + 10, lease(T0 + HOUR), 2);
    expect(await store.log.destinationLoad("a", T0 + 10)).toEqual({ in_flight: 2, due: 3 });
    expect(await store.log.destinationLoad("a", T0 - 10)).toEqual({ in_flight: 2, due: 0 });
    expect(await store.log.destinationLoad("b", T0 + 10)).toEqual({ in_flight: 0, due: 0 });
  });
});
