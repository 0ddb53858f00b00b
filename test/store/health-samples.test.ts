// SQLite's endpoint-health samples (health-samples.ts, migration 22): gathered
// in memory by the records and written to attempt_health in bulk, in key order,
// once per flush; a repeated sample (a replayed record) kept once; a flush
// started by the count alone; the health read exact on the instance that
// recorded; what is gathered written when the store closes; a sample deleted
// with its attempt by retention.
import { afterEach, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { FLUSH_AT_SAMPLES, HealthSamples, type HealthSample } from "../../src/store/sqlite/health-samples.ts";
import { openDatabase } from "../../src/store/sqlite/database.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { WriteBatcher } from "../../src/store/sqlite/write-batcher.ts";
import { removeDir, tempDir } from "../support/herald.ts";
import { attemptRecord, lease, newEvent, T0, withDestinations } from "./records.ts";

const HOUR = 3_600_000;
let dir = "";
afterEach(() => {
  if (dir) removeDir(dir);
  dir = "";
});

const sample = (destination_id: string, started_at: number, delivery_id: string, ok = true): HealthSample =>
  ({ destination_id, started_at, delivery_id, number: 1, duration_ms: 10, ok });

describe("endpoint health samples (SQLite)", () => {
  it("writes nothing until a flush, then every sample once, in key order", async () => {
    dir = tempDir("herald-health-samples-");
    const db = openDatabase(join(dir, "herald.db"), "normal");
    const batcher = new WriteBatcher(db);
    // A flush far off: only flush() writes here.
    const samples = new HealthSamples(db, batcher, 60_000);
    const rows = () => db.query("SELECT destination_id, started_at, delivery_id FROM attempt_health").values();
    samples.add(sample("b", T0 + 2, "dlv_3"));
    samples.add(sample("a", T0 + 1, "dlv_2"));
    samples.add(sample("b", T0, "dlv_1"));
    // The same attempt again (a record replayed after a failed batch).
    samples.add(sample("a", T0 + 1, "dlv_2"));
    expect(rows()).toEqual([]);
    expect(batcher.pending).toBe(0);
    await samples.flush();
    expect(rows()).toEqual([["a", T0 + 1, "dlv_2"], ["b", T0, "dlv_1"], ["b", T0 + 2, "dlv_3"]]);
    await samples.flush(); // nothing gathered: nothing written
    expect(rows()).toHaveLength(3);
    db.close();
  });

  it("starts a flush by itself once FLUSH_AT_SAMPLES are gathered", async () => {
    dir = tempDir("herald-health-samples-");
    const db = openDatabase(join(dir, "herald.db"), "normal");
    const batcher = new WriteBatcher(db);
    const samples = new HealthSamples(db, batcher, 60_000);
    for (let i = 0; i < FLUSH_AT_SAMPLES - 1; i++) samples.add(sample("a", T0 + i, `dlv_${i}`));
    expect(batcher.pending).toBe(0);
    samples.add(sample("a", T0 + FLUSH_AT_SAMPLES, "dlv_last"));
    expect(batcher.pending).toBe(1);
    batcher.flush();
    expect((db.query("SELECT count(*) AS n FROM attempt_health").get() as { n: number }).n).toBe(FLUSH_AT_SAMPLES);
    db.close();
  });

  it("reads the recording instance's samples at once, keeps them across a close, and deletes them with their attempts", async () => {
    dir = tempDir("herald-health-samples-");
    const path = join(dir, "herald.db");
    let store = new SqliteStore(path, "full");
    await withDestinations(store, "a");
    await store.queue.publish(newEvent({ at: T0, to: ["a"] }));
    const [job] = await store.queue.claimDue(T0 + 10, lease(T0 + HOUR), 10);
    await store.queue.recordAttempt(attemptRecord(job!, { status: "succeeded" }, T0 + 20), T0 + 20);
    // Read at once by the instance that recorded it (it writes its samples first).
    expect((await store.log.attemptBuckets("a", T0, T0 + HOUR, HOUR)).map((b) => [b.attempts, b.succeeded])).toEqual([[1, 1]]);

    // One more, recorded just before the store closes: written by the close.
    await store.queue.publish(newEvent({ at: T0 + 30, to: ["a"] }));
    const [second] = await store.queue.claimDue(T0 + 40, lease(T0 + HOUR), 10);
    await store.queue.recordAttempt(attemptRecord(second!, { status: "pending", next_attempt_at: T0 + HOUR }, T0 + 50), T0 + 50);
    store.closeNow();
    store = new SqliteStore(path, "full");
    expect((store.db.query("SELECT count(*) AS n FROM attempt_health").get() as { n: number }).n).toBe(2);

    // Retention takes the first event (all final) with its attempt and that attempt's sample, and leaves the second.
    expect(await store.admin.deleteFinishedBefore(T0 + 25)).toBe(1);
    expect(store.db.query("SELECT delivery_id FROM attempt_health").values()).toEqual([[second!.delivery.id]]);
    await store.close();
  });
});
