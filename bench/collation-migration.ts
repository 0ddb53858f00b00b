// How long PostgreSQL migration 17 (every text column COLLATE "C") takes on a
// database holding COUNT events, each with one delivery and one attempt: the
// tables are not rewritten, but every index on a text column is rebuilt. In a
// durable cluster started here, in HERALD_BENCH_PG_LOCALE (en_US.UTF-8 unless
// given: the locale whose indexes the migration rebuilds; the OS must have it,
// `locale -a`). Prints the fill's time, the migration's (one transaction, as
// migrate.ts runs it) and the database's size.
// Run: bun bench/collation-migration.ts [count=1000000]
import { SQL } from "bun";
import { PG_MIGRATIONS } from "../src/store/postgres/migrations.ts";
import { newId } from "../src/store/ids.ts";
import { startCluster, stopCluster } from "../test/support/postgres-cluster.ts";

const COUNT = Number(process.argv[2] ?? 1_000_000);
const CHUNK = 10_000;
const locale = process.env.HERALD_BENCH_PG_LOCALE || "en_US.UTF-8";
const T0 = Date.now() - 30 * 24 * 3_600_000;
/** The migration, found by what it does. */
const version = PG_MIGRATIONS.findIndex((m) => m.includes('COLLATE "C"'));
if (version < 0) throw new Error("no migration sets COLLATE \"C\"");

const cluster = await startCluster({ durable: true, locale });
const sql = new SQL(cluster.url, { max: 1 });
try {
  for (const migration of PG_MIGRATIONS.slice(0, version)) await sql.unsafe(migration);
  const filled = performance.now();
  for (let i = 0; i < COUNT; i += CHUNK) {
    const n = Math.min(CHUNK, COUNT - i);
    const at = Array.from({ length: n }, (_, j) => T0 + (i + j) * 2);
    const events = at.map((t) => newId("evt", t));
    const deliveries = at.map((t) => newId("dlv", t));
    const destinations = at.map((_, j) => `dst_${(i + j) % 100}`);
    await sql`INSERT INTO events (id, type, tenant, data, created_at, request_hash)
      SELECT id, 'order.created', 'default', '{"order_id":12345,"amount":99.5}', at, 'hash'
      FROM unnest(${sql.array(events, "TEXT")}, ${sql.array(at, "BIGINT")}) AS t(id, at)`;
    await sql`INSERT INTO deliveries (id, event_id, destination_id, subscription_id, tenant, event_type, status, attempts, schedule_start,
        created_at, updated_at, finalized_at)
      SELECT d, e, dest, 'sub_' || dest, 'default', 'order.created', 'succeeded', 1, 0, at, at, at
      FROM unnest(${sql.array(deliveries, "TEXT")}, ${sql.array(events, "TEXT")}, ${sql.array(destinations, "TEXT")}, ${sql.array(at, "BIGINT")})
        AS t(d, e, dest, at)`;
    await sql`INSERT INTO attempts (delivery_id, number, id, destination_id, started_at, duration_ms, request_url, request_headers, response_status)
      SELECT d, 1, 'att' || substr(d, 4), dest, at, 20, 'https://example.com/hooks', '{"content-type":"application/json"}', 200
      FROM unnest(${sql.array(deliveries, "TEXT")}, ${sql.array(destinations, "TEXT")}, ${sql.array(at, "BIGINT")}) AS t(d, dest, at)`;
  }
  await sql`VACUUM ANALYZE`;
  console.log(`postgres (${locale}): ${COUNT} events, deliveries and attempts written in ${((performance.now() - filled) / 1000).toFixed(1)} s`);
  const started = performance.now();
  await sql.begin((tx) => tx.unsafe(PG_MIGRATIONS[version]!));
  console.log(`migration ${version + 1}: ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const [size] = await sql`SELECT pg_size_pretty(pg_database_size(current_database())) AS size`;
  console.log(`database: ${size.size}`);
} finally {
  await sql.close();
  stopCluster(cluster.dir);
}
