// The writing side of `herald copy-store`: an empty PostgreSQL database (or
// schema), migrated like any Herald start would, then filled chunk by chunk,
// one transaction a chunk, with COPY … FROM STDIN (measured against multi-row
// INSERTs: copy-store.ts, DEFAULT_CHUNK). One reserved connection does it all and holds
// an advisory lock meanwhile, so two copies into one database cannot interleave.
import { SQL, type ReservedSQL } from "bun";
import { CopyRefused, type CopyRow, type CopyTable } from "../copy-tables.ts";
import { copyIn } from "./copy-in.ts";
import { migrate } from "./migrate.ts";

/** How a chunk goes over the wire: COPY's text format (the default), or INSERT … VALUES (kept to measure against). */
export type WriteMethod = "copy" | "insert";

/** The advisory lock a copy holds on its target: a fixed number (ASCII "HERALDCP"), like the migrations' own. */
const COPY_LOCK_KEY = 0x4845_5241_4c44_4350n;
/** PostgreSQL binds at most 65,535 parameters a statement. */
const MAX_PARAMETERS = 65_535;

export class PostgresCopyTarget {
  private operationalTypesCleared = false;

  private constructor(
    private readonly sql: SQL,
    private readonly conn: ReservedSQL,
    private readonly method: WriteMethod,
  ) {}

  /** Connects, migrates, takes the copy lock and refuses a target that holds anything already. */
  static async open(url: string, method: WriteMethod = "copy"): Promise<PostgresCopyTarget> {
    const sql = new SQL(url, { max: 1, connectionTimeout: 10 });
    let conn: ReservedSQL | null = null;
    try {
      await migrate(sql);
      conn = await sql.reserve();
      const [lock] = await conn`SELECT pg_try_advisory_lock(${COPY_LOCK_KEY.toString()}::bigint) AS taken`;
      if (!lock.taken) throw new CopyRefused("another herald copy-store is writing to this database now");
      const target = new PostgresCopyTarget(sql, conn, method);
      await target.refuseUnlessEmpty();
      return target;
    } catch (error) {
      conn?.release();
      await sql.close({ timeout: 0 }).catch(() => {});
      throw error;
    }
  }

  /**
   * Any catalogue row, event, delivery, attempt or token makes the target
   * non-empty: a copy merged into a live database would mix two histories and
   * could collide on ids. What any Herald writes when it starts on an empty
   * database does not count, so that instances may be started on the target
   * before the copy: its instance row, the maintenance lease, the probe's row
   * (none of them copied), and Herald's own operational event types (`herald.`
   * names are reserved), which the source's copies replace.
   */
  private async refuseUnlessEmpty(): Promise<void> {
    const [row] = await this.conn`SELECT
        EXISTS (SELECT 1 FROM event_types WHERE NOT (name LIKE 'herald.%' AND managed_by = 'config')) AS event_types,
        EXISTS (SELECT 1 FROM destinations) AS destinations,
        EXISTS (SELECT 1 FROM subscriptions) AS subscriptions,
        EXISTS (SELECT 1 FROM events) AS events,
        EXISTS (SELECT 1 FROM deliveries) AS deliveries,
        EXISTS (SELECT 1 FROM attempts) AS attempts,
        EXISTS (SELECT 1 FROM generated_tokens) AS generated_tokens,
        EXISTS (SELECT 1 FROM api_keys) AS api_keys`;
    const held = Object.keys(row).filter((table) => row[table]);
    if (held.length > 0) {
      throw new CopyRefused(
        `the target database is not empty (it holds ${held.join(", ").replaceAll("_", " ")}); ` +
          "copy-store copies only into an empty database: create a new one (or a schema of its own) and run it again",
      );
    }
  }

  /**
   * Writes one chunk of `table` in a transaction of its own. `meanwhile` runs
   * once the rows are on their way, while the server stores them: the caller
   * reads its next chunk there, so reading and storing overlap.
   */
  async write(table: CopyTable, rows: CopyRow[], meanwhile: () => void = () => {}): Promise<void> {
    await this.conn.begin(async (tx) => {
      if (table.name === "event_types" && !this.operationalTypesCleared) {
        // Herald's own event types, written by every start (engine/operational-events.ts).
        await tx`DELETE FROM event_types WHERE name LIKE 'herald.%' AND managed_by = 'config'`;
        this.operationalTypesCleared = true;
      }
      if (this.method === "copy") await copyIn(tx, table.name, table.columns, rows, meanwhile);
      else await insertRows(tx, table, rows, meanwhile);
    });
  }

  /**
   * Raises the catalogue version once more and tells every listening instance:
   * the triggers already raised it per catalogue row copied, and this makes
   * sure an instance that started on the empty database reloads even when the
   * source's catalogue was empty.
   */
  async finish(): Promise<number> {
    return this.conn.begin(async (tx) => {
      const [row] = await tx`UPDATE catalog_version SET version = version + 1 WHERE id = 1 RETURNING version`;
      await tx`SELECT pg_notify('herald_catalog', '')`;
      return Number(row.version);
    });
  }

  async close(): Promise<void> {
    // The session lock goes with the connection.
    this.conn.release();
    await this.sql.close({ timeout: 5 });
  }
}

/** Multi-row INSERT … VALUES, as many rows a statement as the parameter limit allows. */
async function insertRows(tx: SQL, table: CopyTable, rows: CopyRow[], meanwhile: () => void): Promise<void> {
  const perStatement = Math.floor(MAX_PARAMETERS / table.columns.length);
  const statements = [];
  for (let start = 0; start < rows.length; start += perStatement) {
    const objects = rows.slice(start, start + perStatement).map((row) => Object.fromEntries(table.columns.map((c, i) => [c, row[i]])));
    statements.push(tx`INSERT INTO ${tx(table.name)} ${tx(objects, ...table.columns)}`.execute());
  }
  meanwhile();
  await Promise.all(statements);
}
