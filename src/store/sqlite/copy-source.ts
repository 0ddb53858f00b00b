// The reading side of `herald copy-store`: a Herald SQLite file opened read-only
// and read table by table in key order, in chunks, all inside one read
// transaction, so the copy is one consistent snapshot even if a Herald still
// writes to the file (WAL readers do not block the writer, nor it them).
import { Database } from "bun:sqlite";
import { existsSync, statSync } from "node:fs";
import { CopyRefused, type CopyRow, type CopyTable } from "../copy-tables.ts";
import { sealedWith } from "../sealing.ts";
import { MIGRATIONS } from "./migrations.ts";

export class SqliteCopySource {
  private constructor(private readonly db: Database) {}

  /**
   * Opens `path` read-only: the copy never changes its source, not even to
   * migrate it. Refuses a missing file, a file that is not SQLite, a SQLite
   * database that is not Herald's, and one at another schema version than this
   * Herald's (its columns would not be the ones COPY_TABLES names).
   */
  static open(path: string): SqliteCopySource {
    if (!existsSync(path)) throw new CopyRefused(`${path}: no such file`);
    if (!statSync(path).isFile()) throw new CopyRefused(`${path}: not a file`);
    let db: Database;
    try {
      db = new Database(path, { readonly: true, strict: true });
    } catch (error) {
      throw new CopyRefused(`${path}: cannot be opened as a SQLite database (${(error as Error).message})`);
    }
    try {
      db.run("PRAGMA busy_timeout = 5000");
      const version = readVersion(db, path);
      const tables = new Set((db.query("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as { name: string }[]).map((r) => r.name));
      if (version === 0 || !["events", "deliveries", "destinations", "catalog_version"].every((t) => tables.has(t))) {
        throw new CopyRefused(`${path}: not a Herald database (no Herald tables in it)`);
      }
      if (version < MIGRATIONS.length) {
        throw new CopyRefused(
          `${path}: written by an older Herald (schema ${version}, this Herald's is ${MIGRATIONS.length}); ` +
            "start this Herald on it once (it upgrades the file at start), stop it, then copy",
        );
      }
      if (version > MIGRATIONS.length) {
        throw new CopyRefused(`${path}: written by a newer Herald (schema ${version}, this Herald's is ${MIGRATIONS.length}); copy it with that Herald`);
      }
      // The snapshot starts at the first read below and holds until close().
      db.run("BEGIN");
      return new SqliteCopySource(db);
    } catch (error) {
      db.close();
      throw error;
    }
  }

  count(table: CopyTable): number {
    return (this.db.query(`SELECT count(*) AS n FROM ${table.name}`).get() as { n: number }).n;
  }

  /** The key ids of the source's sealing check value (store/sealing.ts), null when it was never sealed. */
  sealedWith(): string[] | null {
    const row = this.db.query("SELECT check_value FROM sealing WHERE id = 1").get() as { check_value: string } | null;
    return row ? sealedWith(row.check_value) : null;
  }

  /**
   * The table's rows in key order, `size` at a time, each row its values in
   * COPY_TABLES' column order with booleans as booleans. Keyset paging: each
   * chunk starts after the last key of the one before, on the key's index, so
   * the millionth row costs what the first did.
   */
  *chunks(table: CopyTable, size: number): Generator<CopyRow[]> {
    const columns = table.columns.join(", ");
    const keys = table.key.join(", ");
    const first = this.db.query(`SELECT ${columns} FROM ${table.name} ORDER BY ${keys} LIMIT ${size}`);
    const next = this.db.query(
      `SELECT ${columns} FROM ${table.name} WHERE (${keys}) > (${table.key.map(() => "?").join(", ")}) ORDER BY ${keys} LIMIT ${size}`,
    );
    const keyAt = table.key.map((k) => table.columns.indexOf(k));
    const booleanAt = table.booleans.map((b) => table.columns.indexOf(b));
    let rows = first.values() as CopyRow[];
    while (rows.length > 0) {
      const last = rows[rows.length - 1]!;
      const after = keyAt.map((i) => last[i]!) as (string | number)[];
      for (const row of rows) for (const i of booleanAt) row[i] = row[i] === 1;
      yield rows;
      if (rows.length < size) return;
      rows = next.values(...after) as CopyRow[];
    }
  }

  close(): void {
    this.db.close();
  }
}

function readVersion(db: Database, path: string): number {
  try {
    return (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
  } catch (error) {
    // SQLITE_NOTADB: "file is not a database".
    throw new CopyRefused(`${path}: not a SQLite database (${(error as Error).message})`);
  }
}
