// Times the endpoint-health query (LogStore.attemptBuckets) on 100,000 attempts of
// one destination spread over the last 24 hours: hourly buckets over 24 h and daily
// over 7 d, median of 5 runs. SQLite by default; PostgreSQL too with
// HERALD_BENCH_POSTGRES_URL. Run: bun bench/endpoint-health.ts [count]
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { openPostgresStore } from "../src/store/postgres/postgres-store.ts";
import type { Store } from "../src/store/store.ts";
import { newId } from "../src/store/ids.ts";
import { configuredKeys } from "../src/store/sealing-keys.ts";
import { destination, newEvent } from "../test/store/records.ts";

const COUNT = Number(process.argv[2] ?? 100_000);
const HOUR = 3_600_000;
const now = Date.now();

/** One delivery per attempt, created and attempted at a time spread evenly over the last 24 h. */
function rows() {
  return Array.from({ length: COUNT }, (_, i) => {
    const at = now - 24 * HOUR + Math.floor((i * 24 * HOUR) / COUNT);
    return { id: newId("dlv", at), at, ms: 20 + ((i * 7919) % 500), ok: i % 10 !== 0 };
  });
}

async function fill(store: Store, insert: (event_id: string, r: ReturnType<typeof rows>) => Promise<void>) {
  await store.catalog.saveDestination(destination({ id: "a" }));
  const item = newEvent({ at: now - 25 * HOUR, to: ["a"] });
  await store.queue.publish(item);
  await insert(item.event.id, rows());
}

async function time(store: Store, label: string) {
  for (const [range, span, bucket] of [["24h", 24 * HOUR, HOUR], ["7d", 7 * 24 * HOUR, 24 * HOUR]] as const) {
    const runs: number[] = [];
    let buckets = 0;
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      buckets = (await store.log.attemptBuckets("a", now - span, now + 1, bucket)).length;
      runs.push(performance.now() - t);
    }
    runs.sort((a, b) => a - b);
    console.log(`${label} ${range}: ${COUNT} attempts, ${buckets} buckets, median ${runs[2]!.toFixed(1)} ms (min ${runs[0]!.toFixed(1)}, max ${runs[4]!.toFixed(1)})`);
  }
}

const dir = mkdtempSync(join(tmpdir(), "herald-bench-health-"));
const sqlite = new SqliteStore(join(dir, "herald.db"), "normal");
await fill(sqlite, async (event_id, list) => {
  const db = sqlite.db;
  const d = db.query("INSERT INTO deliveries (id, event_id, destination_id, tenant, event_type, status, attempts, schedule_start, created_at, updated_at, finalized_at) VALUES (?, ?, 'a', 'default', 'order.created', 'succeeded', 1, 0, ?, ?, ?)");
  const a = db.query("INSERT INTO attempts (delivery_id, destination_id, number, id, started_at, duration_ms, request_url, request_headers, response_status, error) VALUES (?, 'a', 1, ?, ?, ?, 'https://x', '{}', ?, ?)");
  db.transaction(() => {
    for (const r of list) {
      d.run(r.id, event_id, r.at, r.at + r.ms, r.at + r.ms);
      a.run(r.id, newId("att", r.at), r.at, r.ms, r.ok ? 200 : 500, r.ok ? null : "HTTP 500");
    }
  })();
});
await time(sqlite, "sqlite");
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

const url = process.env.HERALD_BENCH_POSTGRES_URL;
if (url) {
  const store = await openPostgresStore({ url, pool_size: 4, keys: configuredKeys({ driver: "postgres", path: "" }, { HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") }) });
  const sql = (store as unknown as { sql: import("bun").SQL }).sql;
  await fill(store, async (event_id, list) => {
    for (let i = 0; i < list.length; i += 5000) {
      const part = list.slice(i, i + 5000);
      await sql`INSERT INTO deliveries (id, event_id, destination_id, tenant, event_type, status, attempts, schedule_start, created_at, updated_at, finalized_at)
        SELECT id, ${event_id}, 'a', 'default', 'order.created', 'succeeded', 1, 0, at, at + ms, at + ms
        FROM unnest(${sql.array(part.map((r) => r.id), "TEXT")}, ${sql.array(part.map((r) => r.at), "BIGINT")}, ${sql.array(part.map((r) => r.ms), "BIGINT")}) AS t(id, at, ms)`;
      await sql`INSERT INTO attempts (delivery_id, destination_id, number, id, started_at, duration_ms, request_url, request_headers, response_status, error)
        SELECT id, 'a', 1, id, at, ms, 'https://x', '{}', CASE WHEN ok THEN 200 ELSE 500 END, CASE WHEN ok THEN NULL ELSE 'HTTP 500' END
        FROM unnest(${sql.array(part.map((r) => r.id), "TEXT")}, ${sql.array(part.map((r) => r.at), "BIGINT")}, ${sql.array(part.map((r) => r.ms), "BIGINT")}, ${sql.array(part.map((r) => r.ok), "BOOLEAN")}) AS t(id, at, ms, ok)`;
    }
    await sql`ANALYZE deliveries`;
    await sql`ANALYZE attempts`;
  });
  await time(store, "postgres");
  await store.close();
}
