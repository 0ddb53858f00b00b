// The migration that gives attempts their destination (SQLite 20, PostgreSQL 13)
// on a database written before it: every attempt takes its delivery's
// destination, an attempt whose delivery is gone keeps NULL, and the health
// read finds the old attempts by the new index (on SQLite, since 22, by
// attempt_health, which that migration fills from them).
import { afterEach, describe, expect, it } from "bun:test";
import { Database } from "bun:sqlite";
import { SQL } from "bun";
import { join } from "node:path";
import { MIGRATIONS } from "../../src/store/sqlite/migrations.ts";
import { PG_MIGRATIONS } from "../../src/store/postgres/migrations.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { configuredKeys } from "../../src/store/sealing-keys.ts";
import type { Store } from "../../src/store/store.ts";
import { removeDir, tempDir } from "../support/herald.ts";
import { postgresSchema, STORE_NAMES, TEST_KEY_ENV } from "../support/test-stores.ts";

const T0 = Date.parse("2026-06-01T12:00:00Z");
const HOUR = 3_600_000;
/** The migration under test, found by what it creates, so a renumbering does not move the test. */
const before = (migrations: readonly string[]) => migrations.findIndex((m) => m.includes("CREATE INDEX attempts_destination"));

// Three deliveries to a, b and a, attempted once each (the first twice); one more attempt whose delivery retention already removed.
const DELIVERIES = [["dlv_1", "a"], ["dlv_2", "b"], ["dlv_3", "a"]] as const;
const ATTEMPTS = [["dlv_1", 1, 200], ["dlv_1", 2, 500], ["dlv_2", 1, 200], ["dlv_3", 1, 200], ["dlv_gone", 1, 200]] as const;
const INSERT_DELIVERY = `INSERT INTO deliveries (id, event_id, destination_id, tenant, event_type, status, attempts, schedule_start, created_at, updated_at, finalized_at)
  VALUES ($1, 'evt_1', $2, 'default', 'order.created', 'succeeded', 1, 0, $3, $3, $3)`;
const INSERT_ATTEMPT = `INSERT INTO attempts (delivery_id, number, id, started_at, duration_ms, request_url, request_headers, response_status)
  VALUES ($1, $2, $3, $4, 10, 'https://x', '{}', $5)`;
const EXPECTED: [string, number, string | null][] = [["dlv_1", 1, "a"], ["dlv_1", 2, "a"], ["dlv_2", 1, "b"], ["dlv_3", 1, "a"], ["dlv_gone", 1, null]];

async function expectUpgraded(store: Store, rows: [string, number, string | null][]) {
  expect(rows).toEqual(EXPECTED);
  expect((await store.log.attemptBuckets("a", T0, T0 + HOUR, HOUR)).map((b) => [b.attempts, b.succeeded])).toEqual([[3, 2]]);
}

let cleanup: (() => Promise<void>) | null = null;
afterEach(async () => {
  await cleanup?.();
  cleanup = null;
});

describe("attempts' destination, migrated", () => {
  it("fills every SQLite attempt from its delivery", async () => {
    const dir = tempDir("herald-attempt-destination-");
    const path = join(dir, "herald.db");
    const db = new Database(path, { create: true });
    for (const [i, sql] of MIGRATIONS.slice(0, before(MIGRATIONS)).entries()) {
      db.run(sql);
      db.run(`PRAGMA user_version = ${i + 1}`);
    }
    for (const [i, [id, to]] of DELIVERIES.entries()) db.query(INSERT_DELIVERY.replaceAll("$", "?")).run(id, to, T0 + i);
    for (const [id, n, status] of ATTEMPTS) db.query(INSERT_ATTEMPT.replaceAll("$", "?")).run(id, n, `att_${id}_${n}`, T0 + 1_000 + n, status);
    db.close();
    const store = new SqliteStore(path, "full");
    cleanup = async () => {
      await store.close();
      removeDir(dir);
    };
    const rows = store.db.query("SELECT delivery_id, number, destination_id FROM attempts ORDER BY delivery_id, number").values();
    await expectUpgraded(store, rows as [string, number, string | null][]);
    // Since SQLite 22 the health read's entries are attempt_health's (health-samples.ts), filled from the attempts by that migration.
    const samples = store.db.query("SELECT destination_id, delivery_id, number, ok FROM attempt_health ORDER BY delivery_id, number").values();
    expect(samples).toEqual([["a", "dlv_1", 1, 1], ["a", "dlv_1", 2, 0], ["b", "dlv_2", 1, 1], ["a", "dlv_3", 1, 1]]);
    const plan = store.db.query("EXPLAIN QUERY PLAN SELECT 1 FROM attempt_health WHERE destination_id = 'a' AND started_at >= 0 AND started_at < 1").all();
    expect(JSON.stringify(plan)).toContain("USING PRIMARY KEY (destination_id=? AND started_at>? AND started_at<?)");
    expect(store.db.query("SELECT name FROM sqlite_master WHERE name = 'attempts_destination'").all()).toEqual([]);
  });

  if (STORE_NAMES.includes("postgres")) {
    it("fills every PostgreSQL attempt from its delivery", async () => {
      const schema = await postgresSchema();
      const sql = new SQL(schema.url, { max: 1 });
      const version = before(PG_MIGRATIONS);
      for (const migration of PG_MIGRATIONS.slice(0, version)) await sql.unsafe(migration);
      await sql`CREATE TABLE herald_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`;
      await sql`INSERT INTO herald_schema (id, version) VALUES (1, ${version})`;
      for (const [i, [id, to]] of DELIVERIES.entries()) await sql.unsafe(INSERT_DELIVERY, [id, to, T0 + i]);
      for (const [id, n, status] of ATTEMPTS) await sql.unsafe(INSERT_ATTEMPT, [id, n, `att_${id}_${n}`, T0 + 1_000 + n, status]);
      await sql.close();
      const store = await openPostgresStore({ url: schema.url, pool_size: 2, keys: configuredKeys({ driver: "postgres", path: "" }, TEST_KEY_ENV) });
      cleanup = async () => {
        await store.close();
        await schema.drop();
      };
      const raw = (store as unknown as { sql: SQL }).sql;
      const rows = await raw`SELECT delivery_id, number, destination_id FROM attempts ORDER BY delivery_id, number`;
      await expectUpgraded(store, rows.map((r: { delivery_id: string; number: number; destination_id: string | null }) => [r.delivery_id, r.number, r.destination_id]));
    });
  }
});
