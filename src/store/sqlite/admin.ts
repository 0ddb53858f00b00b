// The SQLite store's admin part: the readiness probe, online backups, retention
// (deleting what is finished and old), the maintenance lease, and the admin
// tokens Herald generated.
import type { Database } from "bun:sqlite";
import { statSync } from "node:fs";
import type { AdminStore } from "../store.ts";
import { FINAL, ms } from "./sql.ts";
import type { WriteBatcher } from "./write-batcher.ts";

/** Pages the probe asks the file to grow by, beyond its free pages. */
const PROBE_GROW_PAGES = 4;
/** With this many free pages (1 MiB at 4 KiB) writes have room without growing the file. */
const PROBE_MAX_FREE_PAGES = 256;

export class SqliteAdmin implements AdminStore {
  constructor(
    private readonly db: Database,
    private readonly batcher: WriteBatcher,
    /** The database file (":memory:" has none): its size and its WAL's are the store's. */
    private readonly path: string,
  ) {}

  async sizeBytes(): Promise<number> {
    if (this.path === ":memory:") return 0;
    const size = (file: string) => statSync(file, { throwIfNoEntry: false })?.size ?? 0;
    return size(this.path) + size(`${this.path}-wal`);
  }

  /**
   * The readiness probe. While the write batches succeed it only checks that the
   * write lock can be taken. Once a batch has failed (disk full, I/O error …) the
   * store stays not writable until a write commits again: a later batch, or the
   * probe write here (one tiny commit per /readyz, only while writes fail).
   */
  async probeWritable(): Promise<boolean> {
    if (this.batcher.failing) return this.probeWrite();
    try {
      this.db.run("BEGIN IMMEDIATE");
      this.db.run("ROLLBACK");
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Commits one tiny row (the WAL must take a frame: a full disk or a read-only
   * file fails here) after making the file grow inside a savepoint that is then
   * undone (a database at max_page_count, or with no room left for new pages,
   * fails here). The growth is sized past the free pages, which SQLite reuses
   * before growing the file, up to PROBE_MAX_FREE_PAGES: with that many free
   * pages (1 MiB at 4 KiB pages) there is room for writes anyway.
   */
  private probeWrite(): boolean {
    try {
      const pragma = (name: string) => Object.values(this.db.query(`PRAGMA ${name}`).get() as object)[0] as number;
      const free = pragma("freelist_count");
      const grow = free >= PROBE_MAX_FREE_PAGES ? 0 : (free + PROBE_GROW_PAGES) * pragma("page_size");
      this.db.run("BEGIN IMMEDIATE");
      if (grow > 0) {
        this.db.run("SAVEPOINT grow");
        this.db.query("INSERT OR REPLACE INTO store_probe (id, at, filler) VALUES (2, 0, zeroblob(?))").run(grow);
        this.db.run("ROLLBACK TO grow");
        this.db.run("RELEASE grow");
      }
      this.db.query("INSERT OR REPLACE INTO store_probe (id, at, filler) VALUES (1, ?, NULL)").run(Date.now());
      this.db.run("COMMIT");
      this.batcher.noteWritable();
      return true;
    } catch {
      try {
        if (this.db.inTransaction) this.db.run("ROLLBACK");
      } catch {}
      return false;
    }
  }

  /** An online, consistent copy of the database (VACUUM INTO reads one snapshot). */
  async backup(path: string): Promise<void> {
    this.db.run("VACUUM INTO ?", [path]);
  }

  /**
   * Deletes events created before `cutoff` whose deliveries are all final, with
   * their deliveries and attempts. Works in chunks so no transaction runs long.
   */
  async deleteFinishedBefore(cutoff: number, chunk = 1000): Promise<number> {
    let deleted = 0;
    for (;;) {
      const n = this.db.transaction(() => {
        const ids = this.db
          .query(
            `SELECT id FROM events e WHERE created_at < ? AND NOT EXISTS (
               SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status NOT IN ${FINAL}) LIMIT ?`,
          )
          .all(ms(cutoff), chunk) as { id: string }[];
        for (const { id } of ids) {
          // Each attempt's health sample goes with it (migration 22: the sample carries the attempt's key).
          this.db
            .query(
              `DELETE FROM attempt_health WHERE (destination_id, started_at, delivery_id, number) IN (
                 SELECT a.destination_id, a.started_at, a.delivery_id, a.number FROM attempts a
                 WHERE a.delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?))`,
            )
            .run(id);
          this.db.query("DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?)").run(id);
          this.db.query("DELETE FROM deliveries WHERE event_id = ?").run(id);
          this.db.query("DELETE FROM events WHERE id = ?").run(id);
        }
        return ids.length;
      }).immediate();
      deleted += n;
      if (n < chunk) return deleted;
    }
  }

  async leadMaintenance(instance: string, now: number, until: number): Promise<boolean> {
    return (
      this.db
        .query(
          `UPDATE maintenance_lease SET owner = $instance, until = $until
           WHERE id = 1 AND (owner = $instance OR owner IS NULL OR until <= $now OR owner NOT IN (SELECT id FROM instances))`,
        )
        .run({ instance, now: ms(now), until: ms(until) }).changes > 0
    );
  }

  async generatedTokenHashes(): Promise<string[]> {
    return (this.db.query("SELECT sha256 FROM generated_tokens").all() as { sha256: string }[]).map((r) => r.sha256);
  }

  async saveGeneratedToken(name: string, sha256: string, now: number): Promise<void> {
    this.db.query("INSERT INTO generated_tokens (name, sha256, created_at) VALUES (?, ?, ?)").run(name, sha256, ms(now));
  }
}
