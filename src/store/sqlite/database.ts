// Opens Herald's SQLite file: every pragma is set here, in one place, and the
// embedded migrations are applied before anything else touches the schema.
import { Database } from "bun:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { MIGRATIONS } from "./migrations.ts";

export type Synchronous = "off" | "normal" | "full" | "extra";

export function openDatabase(path: string, synchronous: Synchronous): Database {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path, { create: true, strict: true });
  // WAL lets readers run beside the single writer; busy_timeout rides out a
  // `herald backup` or an operator's sqlite3 shell holding a lock briefly.
  // (busy_timeout first: setting journal_mode already needs a lock.)
  db.run("PRAGMA busy_timeout = 5000");
  // SQLite's default 4 KiB pages stay. 16 KiB pages cut the WAL's write calls
  // by a half to two thirds and Herald's CPU in the throughput benches by 8-15 %,
  // but a commit writes every page it dirtied whole: at 1,000 single publishes
  // a second Herald wrote 3.4 times the bytes (bench/README.md, "16 KiB pages"),
  // more than some cloud disks take.
  db.run("PRAGMA journal_mode = WAL");
  db.run(`PRAGMA synchronous = ${synchronous.toUpperCase()}`);
  db.run("PRAGMA foreign_keys = ON");
  // 16 MiB of page cache keeps the claim index and recent rows hot. 64 MiB
  // bought no speed in the deliver bench (180 vs 184 µs of CPU per delivery)
  // and filled up under load: peak RSS 305 instead of 345-372 MiB.
  db.run("PRAGMA cache_size = -16384");
  db.run("PRAGMA temp_store = MEMORY");
  // The WAL is copied into the database file (a checkpoint, inside the COMMIT
  // that crosses the mark) every 10,000 pages rather than SQLite's 1,000: a
  // page rewritten by several commits in between is copied once, and the
  // delivery path wrote 16 % fewer bytes in `fanout` (5.7 → 4.8 KiB a
  // delivery) with fan-out and batch ingest faster (bench/README.md, "a WAL
  // checkpoint every 10,000 pages"). The file then grows to ~40 MiB between
  // checkpoints; one that a large batch took past 64 MiB is cut back to that
  // when it starts over. Each checkpoint is larger (40-65 ms under load, once
  // a second): single publishes' p99 under load rose from ~8 to ~10 ms.
  db.run("PRAGMA wal_autocheckpoint = 10000");
  db.run("PRAGMA journal_size_limit = 67108864");
  migrate(db);
  return db;
}

function migrate(db: Database): void {
  const row = db.query("PRAGMA user_version").get() as { user_version: number };
  const current = row.user_version;
  if (current > MIGRATIONS.length) {
    throw new Error(`the database is at schema version ${current}, newer than this Herald (${MIGRATIONS.length}); upgrade Herald`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.run(MIGRATIONS[version]!);
      db.run(`PRAGMA user_version = ${version + 1}`);
    }).immediate();
  }
}
