// The endpoint-health reads (LogStore.destinationsHealth and attemptBuckets, what
// GET /v1/destinations/{id}/health runs) on a destination with a long history:
// DAYS days of deliveries, PER_DAY a day, one attempt each, read over the last
// 24 h. Prints each read's plan (SQLite: EXPLAIN QUERY PLAN; PostgreSQL:
// EXPLAIN) and its median time over 5 runs, so that a read that walks the
// whole history instead of the window shows in both. SQLite always; PostgreSQL
// too with HERALD_BENCH_POSTGRES_URL (an empty database: the bench writes its tables there).
// Run: bun bench/health-history.ts [days=30] [per_day=10000]  (a busy last day alone: 1 100000)
import { join } from "node:path";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { openPostgresStore } from "../src/store/postgres/postgres-store.ts";
import type { Store } from "../src/store/store.ts";
import { newId } from "../src/store/ids.ts";
import { destinationsHealthRead } from "../src/store/sqlite/log.ts";
import { destinationsHealthRead as pgHealthRead } from "../src/store/postgres/log.ts";
import { configuredKeys } from "../src/store/sealing-keys.ts";
import { destination, newEvent } from "../test/store/records.ts";

const DAYS = Number(process.argv[2] ?? 30);
const PER_DAY = Number(process.argv[3] ?? 10_000);
const HOUR = 3_600_000;
const now = Date.now();

/** Deliveries spread evenly over the last DAYS days, each attempted once, 5 s after it was made; one in ten failed. */
function rows() {
  const count = DAYS * PER_DAY;
  return Array.from({ length: count }, (_, i) => {
    const at = now - DAYS * 24 * HOUR + Math.floor((i * DAYS * 24 * HOUR) / count);
    return { id: newId("dlv", at), at, ms: 20 + ((i * 7919) % 500), ok: i % 10 !== 0 };
  });
}

const since = now - 24 * HOUR;
const until = now + 1;
// The statements as the stores run them (src/store/*/log.ts), for their plans.
const SQLITE_READS: [string, string, Record<string, unknown>][] = [
  ["attemptBuckets", `SELECT started_at, duration_ms, ok FROM attempt_health WHERE destination_id = $destination AND started_at >= $since AND started_at < $until`,
   { destination: "a", since, until }],
  ["destinationsHealth", destinationsHealthRead({ ids: ["a"], since, until }).sql, destinationsHealthRead({ ids: ["a"], since, until }).params],
];

async function time(store: Store, label: string) {
  for (const [name, read] of [
    ["attemptBuckets 24h", () => store.log.attemptBuckets("a", since, until, HOUR)],
    ["attemptBuckets 7d", () => store.log.attemptBuckets("a", now - 7 * 24 * HOUR, until, 24 * HOUR)],
    ["destinationsHealth 24h", () => store.log.destinationsHealth({ ids: ["a"], since, until })],
  ] as const) {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await read();
      runs.push(performance.now() - t);
    }
    runs.sort((a, b) => a - b);
    console.log(`${label} ${name}: ${DAYS * PER_DAY} deliveries over ${DAYS} d, median ${runs[2]!.toFixed(1)} ms (min ${runs[0]!.toFixed(1)}, max ${runs[4]!.toFixed(1)})`);
  }
}

const dir = mkdtempSync(join(tmpdir(), "herald-bench-history-"));
const sqlite = new SqliteStore(join(dir, "herald.db"), "normal");
await sqlite.catalog.saveDestination(destination({ id: "a" }));
const item = newEvent({ at: now - (DAYS + 1) * 24 * HOUR, to: ["a"] });
await sqlite.queue.publish(item);
const list = rows();
{
  const db = sqlite.db;
  const d = db.query("INSERT INTO deliveries (id, event_id, destination_id, tenant, event_type, status, attempts, schedule_start, last_error, created_at, updated_at, finalized_at) VALUES (?, ?, 'a', 'default', 'order.created', ?, 1, 0, ?, ?, ?, ?)");
  const a = db.query("INSERT INTO attempts (delivery_id, destination_id, number, id, started_at, duration_ms, request_url, request_headers, response_status, error) VALUES (?, 'a', 1, ?, ?, ?, 'https://x', '{}', ?, ?)");
  // Each attempt's endpoint-health sample, as the store's records write it (health-samples.ts).
  const h = db.query("INSERT INTO attempt_health (destination_id, started_at, delivery_id, number, duration_ms, ok) VALUES ('a', ?, ?, 1, ?, ?)");
  db.transaction(() => {
    for (const r of list) {
      d.run(r.id, item.event.id, r.ok ? "succeeded" : "failed", r.ok ? null : "HTTP 500", r.at, r.at + 5_000 + r.ms, r.at + 5_000 + r.ms);
      a.run(r.id, newId("att", r.at + 5_000), r.at + 5_000, r.ms, r.ok ? 200 : 500, r.ok ? null : "HTTP 500");
      h.run(r.at + 5_000, r.id, r.ms, r.ok ? 1 : 0);
    }
  })();
  db.exec("ANALYZE");
  for (const [name, statement, params] of SQLITE_READS) {
    const plan = db.query(`EXPLAIN QUERY PLAN ${statement}`).all(params as never) as { detail: string }[];
    console.log(`sqlite plan, ${name}: ${plan.map((p) => p.detail).join(" | ")}`);
  }
}
await time(sqlite, "sqlite");
await sqlite.close();
rmSync(dir, { recursive: true, force: true });

const url = process.env.HERALD_BENCH_POSTGRES_URL;
if (url) {
  const store = await openPostgresStore({ url, pool_size: 4, keys: configuredKeys({ driver: "postgres", path: "" }, { HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") }) });
  const sql = (store as unknown as { sql: import("bun").SQL }).sql;
  await store.catalog.saveDestination(destination({ id: "a" }));
  await store.queue.publish(item);
  for (let i = 0; i < list.length; i += 5000) {
    const part = list.slice(i, i + 5000);
    await sql`INSERT INTO deliveries (id, event_id, destination_id, tenant, event_type, status, attempts, schedule_start, last_error, created_at, updated_at, finalized_at)
      SELECT id, ${item.event.id}, 'a', 'default', 'order.created', CASE WHEN ok THEN 'succeeded' ELSE 'failed' END, 1, 0,
        CASE WHEN ok THEN NULL ELSE 'HTTP 500' END, at, at + 5000 + ms, at + 5000 + ms
      FROM unnest(${sql.array(part.map((r) => r.id), "TEXT")}, ${sql.array(part.map((r) => r.at), "BIGINT")}, ${sql.array(part.map((r) => r.ms), "BIGINT")}, ${sql.array(part.map((r) => r.ok), "BOOLEAN")}) AS t(id, at, ms, ok)`;
    await sql`INSERT INTO attempts (delivery_id, destination_id, number, id, started_at, duration_ms, request_url, request_headers, response_status, error)
      SELECT id, 'a', 1, id, at + 5000, ms, 'https://x', '{}', CASE WHEN ok THEN 200 ELSE 500 END, CASE WHEN ok THEN NULL ELSE 'HTTP 500' END
      FROM unnest(${sql.array(part.map((r) => r.id), "TEXT")}, ${sql.array(part.map((r) => r.at), "BIGINT")}, ${sql.array(part.map((r) => r.ms), "BIGINT")}, ${sql.array(part.map((r) => r.ok), "BOOLEAN")}) AS t(id, at, ms, ok)`;
  }
  await sql`ANALYZE deliveries`;
  await sql`ANALYZE attempts`;
  const pgReads: [string, string, unknown[]][] = [
    ["attemptBuckets", `SELECT started_at, duration_ms FROM attempts WHERE destination_id = $1 AND started_at >= $2 AND started_at < $3`, ["a", since, until]],
    ["destinationsHealth", ...(({ sql: text, values }) => [text, values] as const)(pgHealthRead({ ids: ["a"], since, until }, (ids) => sql.array(ids, "TEXT")))],
  ];
  for (const [name, statement, params] of pgReads) {
    const plan = (await sql.unsafe(`EXPLAIN ${statement}`, params)) as { "QUERY PLAN": string }[];
    console.log(`postgres plan, ${name}:\n  ${plan.map((p) => p["QUERY PLAN"]).join("\n  ")}`);
  }
  await time(store, "postgres");
  await store.close();
}
