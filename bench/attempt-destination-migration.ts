// How long the migration that gives attempts their destination (SQLite 20,
// PostgreSQL 13) takes on a database with COUNT attempts (one per delivery, 100
// destinations): the column, its fill from the deliveries and the index, timed
// apart; then SQLite 22 (attempt_health filled from those attempts), whole.
// SQLite always; PostgreSQL too with HERALD_BENCH_POSTGRES_URL (an empty
// database: the bench writes its tables there).
// Run: bun bench/attempt-destination-migration.ts [count=1000000]
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MIGRATIONS } from "../src/store/sqlite/migrations.ts";
import { PG_MIGRATIONS } from "../src/store/postgres/migrations.ts";
import { newId } from "../src/store/ids.ts";

const COUNT = Number(process.argv[2] ?? 1_000_000);
const T0 = Date.now() - 30 * 24 * 3_600_000;
/** The migration, found by what it creates, and its statements one by one (each is one line). */
const at = (migrations: readonly string[]) => migrations.findIndex((m) => m.includes("CREATE INDEX attempts_destination"));
const steps = (migration: string) => migration.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("--"));

function timed(label: string, run: () => unknown): Promise<void> | void {
  const t = performance.now();
  const done = () => console.log(`${label}: ${((performance.now() - t) / 1000).toFixed(2)} s`);
  const result = run();
  if (result instanceof Promise) return result.then(done);
  done();
}

const dir = mkdtempSync(join(tmpdir(), "herald-bench-migration-"));
const db = new Database(join(dir, "herald.db"), { create: true });
db.run("PRAGMA journal_mode = WAL");
db.run("PRAGMA synchronous = NORMAL");
const version = at(MIGRATIONS);
for (const sql of MIGRATIONS.slice(0, version)) db.run(sql);
const d = db.query(`INSERT INTO deliveries (id, event_id, destination_id, tenant, event_type, status, attempts, schedule_start, created_at, updated_at, finalized_at)
  VALUES (?, 'evt_1', ?, 'default', 'order.created', 'succeeded', 1, 0, ?, ?, ?)`);
const a = db.query(`INSERT INTO attempts (delivery_id, number, id, started_at, duration_ms, request_url, request_headers, response_status)
  VALUES (?, 1, ?, ?, 20, 'https://x', '{}', 200)`);
const ids: string[] = [];
db.transaction(() => {
  for (let i = 0; i < COUNT; i++) {
    const t = T0 + i * 2;
    const id = newId("dlv", t);
    ids.push(id);
    d.run(id, `dst_${i % 100}`, t, t, t);
    a.run(id, newId("att", t), t);
  }
})();
db.run("PRAGMA wal_checkpoint(TRUNCATE)");
console.log(`sqlite: ${COUNT} attempts, migration ${version + 1}`);
for (const step of steps(MIGRATIONS[version]!)) timed(`  ${step.slice(0, 60)}`, () => db.run(step));
// Then SQLite 22, which moves the health read's entries to attempt_health (health-samples.ts), timed whole.
const health = MIGRATIONS.findIndex((m) => m.includes("CREATE TABLE attempt_health"));
for (const sql of MIGRATIONS.slice(version + 1, health)) db.run(sql);
console.log(`sqlite: migration ${health + 1}`);
timed("  attempt_health made and filled, attempts_destination dropped", () => db.transaction(() => db.run(MIGRATIONS[health]!))());
db.close();
rmSync(dir, { recursive: true, force: true });

const url = process.env.HERALD_BENCH_POSTGRES_URL;
if (url) {
  const sql = new SQL(url, { max: 1 });
  const pgVersion = at(PG_MIGRATIONS);
  for (const migration of PG_MIGRATIONS.slice(0, pgVersion)) await sql.unsafe(migration);
  for (let i = 0; i < COUNT; i += 10_000) {
    const part = ids.slice(i, i + 10_000);
    const dest = part.map((_, j) => `dst_${(i + j) % 100}`);
    await sql`INSERT INTO deliveries (id, event_id, destination_id, tenant, event_type, status, attempts, schedule_start, created_at, updated_at, finalized_at)
      SELECT id, 'evt_1', dest, 'default', 'order.created', 'succeeded', 1, 0, ${T0}, ${T0}, ${T0}
      FROM unnest(${sql.array(part, "TEXT")}, ${sql.array(dest, "TEXT")}) AS t(id, dest)`;
    await sql`INSERT INTO attempts (delivery_id, number, id, started_at, duration_ms, request_url, request_headers, response_status)
      SELECT id, 1, id, ${T0}, 20, 'https://x', '{}', 200 FROM unnest(${sql.array(part, "TEXT")}) AS t(id)`;
  }
  await sql`VACUUM ANALYZE deliveries`;
  await sql`VACUUM ANALYZE attempts`;
  console.log(`postgres: ${COUNT} attempts, migration ${pgVersion + 1} (one transaction, as migrate.ts runs it)`);
  await sql.begin(async (tx) => {
    for (const step of steps(PG_MIGRATIONS[pgVersion]!)) await timed(`  ${step.slice(0, 60)}`, () => tx.unsafe(step));
  });
  await sql.close();
}
