// Keeping the PostgreSQL store: the readiness probe, retention in chunks, the
// maintenance lease, and the admin tokens Herald generated. Backups are the
// operator's (pg_dump).
import type { SQL } from "bun";
import type { AdminStore } from "../store.ts";
import { guarded, isSessionEnded } from "./query.ts";

export class PostgresAdmin implements AdminStore {
  constructor(
    private readonly sql: SQL,
    /** Connections in the pool: how many stale sessions one probe may have to step over. */
    private readonly poolSize = 1,
  ) {}

  /**
   * One tiny committed write: it fails on a lost connection, a read-only server
   * (a standby after a failover, 25006) or a full disk, which `SELECT 1` would
   * not notice. /readyz calls it, so it is one round trip and one row.
   *
   * A session the server ended while it was away (a restart, a failover,
   * terminated backends) fails once, on its next use, and the pool then opens
   * a fresh one. So the probe tries again on such a failure, up to once per
   * pooled connection: the first /readyz after the server takes writes again
   * says ready, rather than reporting each dead session in turn. The write is
   * an idempotent upsert, so trying it again is harmless.
   */
  async probeWritable(): Promise<boolean> {
    for (let tries = 1; ; tries++) {
      try {
        await this.sql`INSERT INTO store_probe (id, at) VALUES (1, ${Date.now()})
          ON CONFLICT (id) DO UPDATE SET at = excluded.at`;
        return true;
      } catch (error) {
        if (tries > this.poolSize || !isSessionEnded(error)) return false;
      }
    }
  }

  /**
   * The tables of Herald's schema with their indexes and TOAST: the schema is
   * Herald's, the database may hold others' (pg_database_size would count them).
   */
  sizeBytes(): Promise<number> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) AS bytes
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'm')`;
      return Number(row.bytes);
    });
  }

  /**
   * Not done by Herald: a consistent copy of a PostgreSQL database is pg_dump's
   * job (or the provider's snapshots), and it is the operator's to schedule.
   * Refusing plainly beats writing something that looks like a backup and is not.
   */
  async backup(_path: string): Promise<void> {
    throw new Error(
      "herald backup copies SQLite databases only; back up PostgreSQL with pg_dump (for example `pg_dump --format=custom \"$HERALD_DATABASE_URL\" > herald.dump`) or your provider's snapshots",
    );
  }

  /**
   * Deletes events created before `cutoff` whose deliveries are all final, with
   * their deliveries and attempts, `chunk` events per transaction so no
   * transaction holds locks for long. FOR UPDATE SKIP LOCKED: an event whose row
   * another instance's retention is deleting now is left to it, not waited for.
   */
  deleteFinishedBefore(cutoff: number, chunk = 1000): Promise<number> {
    return guarded(async () => {
      let deleted = 0;
      for (;;) {
        const [n] = await this.sql.begin(async (tx) => {
          const ids = (await tx`SELECT id FROM events e WHERE created_at < ${Math.round(cutoff)} AND NOT EXISTS (
              SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status NOT IN ('succeeded', 'failed', 'cancelled'))
            LIMIT ${chunk} FOR UPDATE SKIP LOCKED`).map((r: { id: string }) => r.id);
          if (ids.length === 0) return [0];
          const array = tx.array(ids, "TEXT");
          await tx`DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ANY(${array}))`;
          await tx`DELETE FROM deliveries WHERE event_id = ANY(${array})`;
          await tx`DELETE FROM events WHERE id = ANY(${array})`;
          return [ids.length];
        });
        deleted += n;
        if (n < chunk) return deleted;
      }
    });
  }

  /** One conditional UPDATE: whoever it matches holds the lease; row locks order two instances asking at once. */
  leadMaintenance(instance: string, now: number, until: number): Promise<boolean> {
    return guarded(async () => {
      const result = await this.sql`UPDATE maintenance_lease SET owner = ${instance}, until = ${Math.round(until)}
        WHERE id = 1 AND (owner = ${instance} OR owner IS NULL OR until <= ${Math.round(now)}
          OR owner NOT IN (SELECT id FROM instances))`;
      return result.count > 0;
    });
  }

  generatedTokenHashes(): Promise<string[]> {
    return guarded(async () => (await this.sql`SELECT sha256 FROM generated_tokens`).map((r: { sha256: string }) => r.sha256));
  }

  saveGeneratedToken(name: string, sha256: string, now: number): Promise<void> {
    return guarded(async () => {
      await this.sql`INSERT INTO generated_tokens (name, sha256, created_at) VALUES (${name}, ${sha256}, ${Math.round(now)})`;
    });
  }
}
