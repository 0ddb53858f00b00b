// Applies PG_MIGRATIONS at open, once per database however many instances open
// it together: the whole run holds a transaction-level advisory lock, so a second
// instance waits for the first to finish and then finds nothing left to do.
import type { SQL } from "bun";
import { PG_MIGRATIONS } from "./migrations.ts";

/**
 * The advisory lock key of migrations: a fixed number (ASCII "HERALDMG") so that
 * every Herald build agrees on it, and unlike the random keys of instances
 * (migrations.ts: instances.lock_key). Transaction-level: it goes with the
 * transaction, even if the process dies half way, and DDL commits or rolls back whole.
 */
export const MIGRATION_LOCK_KEY = 0x4845_5241_4c44_4d47n;

export async function migrate(sql: SQL): Promise<void> {
  // Up to date already (the usual start): no lock and no write, so an instance
  // can also open a read-only server (a standby during a failover) and serve reads.
  if ((await schemaVersion(sql)) === PG_MIGRATIONS.length) return;
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
    // Lock first, then look: the table may have been made by whoever held the lock before us.
    await tx`CREATE TABLE IF NOT EXISTS herald_schema (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)`;
    const [row] = await tx`SELECT version FROM herald_schema WHERE id = 1`;
    const current: number = row?.version ?? 0;
    if (current > PG_MIGRATIONS.length) {
      throw new Error(`the database is at schema version ${current}, newer than this Herald (${PG_MIGRATIONS.length}); upgrade Herald`);
    }
    for (let version = current; version < PG_MIGRATIONS.length; version++) {
      await tx.unsafe(PG_MIGRATIONS[version]!);
    }
    if (current < PG_MIGRATIONS.length) {
      await tx`INSERT INTO herald_schema (id, version) VALUES (1, ${PG_MIGRATIONS.length})
               ON CONFLICT (id) DO UPDATE SET version = excluded.version`;
    }
  });
}

/** The version recorded in herald_schema, 0 when there is none yet. */
async function schemaVersion(sql: SQL): Promise<number> {
  const [table] = await sql`SELECT to_regclass('herald_schema') IS NOT NULL AS present`;
  if (!table.present) return 0;
  const [row] = await sql`SELECT version FROM herald_schema WHERE id = 1`;
  return row?.version ?? 0;
}
