// SQLite reads breaker state once per group commit, not once per write
// (queue.ts: openBreakersInBatch for publishes, healthInBatch for attempt
// records), so what the batch's own writes change must still be seen by the
// writes after them: a publish after the record that opened a breaker is held
// back, one after the record that closed it leases, and a batch of records
// counts failures and opens and closes exactly as the same records one batch
// each. Writes submitted in one turn share one batch, run in order.
import { afterEach, expect, it } from "bun:test";
import { join } from "node:path";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import type { AttemptRecord, BreakerSettings, DeliveryJob } from "../src/store/types.ts";
import { removeDir, tempDir } from "./support/herald.ts";
import { answered, lease, newEvent, T0, withDestinations } from "./store/records.ts";

const BREAKER: BreakerSettings = { failures: 1, probe_every_ms: 10_000 };
let dir = "";
let store: SqliteStore | null = null;
afterEach(async () => {
  await store?.close();
  store = null;
  removeDir(dir);
});

async function open(): Promise<SqliteStore> {
  dir = tempDir("herald-breaker-batch-");
  store = new SqliteStore(join(dir, "herald.db"), "full");
  await withDestinations(store, "a");
  return store;
}

const attempt = (job: DeliveryJob, ok: boolean, at: number, probe = false, breaker = BREAKER) => answered(job, ok, at, { breaker, probe });

/** A publish, a record and a publish submitted in one turn: one group commit, run in this order. */
async function publishAroundRecord(s: SqliteStore, record: AttemptRecord, at: number) {
  const [before, recorded, after] = await Promise.all([
    s.queue.publish(newEvent({ at, to: ["a"], status: "delivering" })),
    s.queue.recordAttempt(record, at),
    s.queue.publish(newEvent({ at, to: ["a"], status: "delivering" })),
  ]);
  return { before: before.deliveries[0]!.status, change: recorded.breaker?.change ?? null, after: after.deliveries[0]!.status };
}

it("a publish after the record that opened the breaker, in the same batch, is held back", async () => {
  const s = await open();
  await s.queue.publish(newEvent({ at: T0, to: ["a"] }));
  const [job] = await s.queue.claimDue(T0, lease(T0 + 60_000), 10, BREAKER);
  expect(await publishAroundRecord(s, attempt(job!, false, T0 + 100), T0 + 100)).toEqual({ before: "delivering", change: "opened", after: "pending" });
});

it("a publish after the record that closed the breaker, in the same batch, is leased", async () => {
  const s = await open();
  await s.queue.publish(newEvent({ at: T0, to: ["a"] }));
  const [job] = await s.queue.claimDue(T0, lease(T0 + 60_000), 10, BREAKER);
  expect((await s.queue.recordAttempt(attempt(job!, false, T0 + 100), T0 + 100)).breaker?.change).toBe("opened");
  const [probe] = await s.queue.claimDue(T0 + 10_100, lease(T0 + 70_100), 10, BREAKER);
  expect(probe!.probe).toBe(true);
  expect(await publishAroundRecord(s, attempt(probe!, true, T0 + 10_200, true), T0 + 10_200)).toEqual({ before: "pending", change: "closed", after: "delivering" });
});

it("a batch of attempt records counts, opens and closes as the same records one batch each", async () => {
  const outcomes = [false, false, false, false, true, false, false];
  const threshold: BreakerSettings = { failures: 3, probe_every_ms: 10_000 };
  async function run(together: boolean) {
    const s = await open();
    for (const _ of outcomes) await s.queue.publish(newEvent({ at: T0, to: ["a"] }));
    const jobs = await s.queue.claimDue(T0, lease(T0 + 60_000), 10, threshold);
    const records = outcomes.map((ok, i) => attempt(jobs[i]!, ok, T0 + 100 + i, false, threshold));
    const recorded = together
      ? await Promise.all(records.map((r, i) => s.queue.recordAttempt(r, T0 + 100 + i)))
      : await (async () => {
          const one = [];
          for (const [i, r] of records.entries()) one.push(await s.queue.recordAttempt(r, T0 + 100 + i));
          return one;
        })();
    const seen = { changes: recorded.map((r) => r.breaker), destination: await s.catalog.getDestination("a") };
    await s.close();
    store = null;
    removeDir(dir);
    return seen;
  }
  const together = await run(true);
  expect(together.changes.map((c) => c?.change ?? null)).toEqual([null, null, "opened", null, "closed", null, null]);
  expect(together.destination!.breaker).toEqual({ consecutive_failures: 2, opened_at: null, next_probe_at: null, probe_started_at: null });
  expect(together.destination!.failing_since).toBe(T0 + 105);
  expect(together).toEqual(await run(false));
});
