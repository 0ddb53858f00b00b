// Store contract: the figures behind endpoint health — a destination's attempts
// in time buckets with nearest-rank latency percentiles, deliveries still
// retrying counted apart (so a success rate can count them against it), and
// what the destination has in flight and due now.
import { expect, it } from "bun:test";
import type { Store } from "../../src/store/store.ts";
import type { AttemptOutcome, DeliveryJob } from "../../src/store/types.ts";
import { describeEachStore } from "./stores.ts";
import { lease, leaseOf, newEvent, T0, withDestinations } from "./records.ts";

const HOUR = 3_600_000;

/** Records one attempt of the job, started at `at`, taking `duration_ms`, answered `status`. */
async function attempt(store: Store, job: DeliveryJob, at: number, duration_ms: number, status: number, outcome: AttemptOutcome) {
  await store.queue.recordAttempt({
    delivery_id: job.delivery.id,
    lease: leaseOf(job),
    attempt: { started_at: at, duration_ms, request_url: "https://hooks.example.com/a", request_headers: {}, response_status: status, response_headers: {}, response_body: "", error: status >= 300 ? `HTTP ${status}` : null },
    outcome,
  }, at + duration_ms);
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

  it("counts deliveries retrying apart from those not yet attempted", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    for (let i = 0; i < 3; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    const jobs = await store.queue.claimDue(T0 + 10, lease(T0 + HOUR), 2);
    for (const job of jobs) await attempt(store, job, T0 + 20, 5, 503, { status: "pending", next_attempt_at: T0 + HOUR });
    const health = await store.log.destinationHealth("a", T0 - 1, T0 + HOUR);
    expect(health.counts).toMatchObject({ pending: 3, succeeded: 0, failed: 0 });
    expect(health.retrying).toBe(2);
    const stats = await store.log.deliveryStats({ since: T0 - 1, until: T0 + HOUR, bucket_ms: HOUR });
    expect(stats.retrying).toBe(2);
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
