// `herald copy-store`: everything in a Herald SQLite file copied into an empty
// PostgreSQL database, for a team moving from one machine to several (issue 12).
// The source is read in key order in chunks inside one read snapshot
// (sqlite/copy-source.ts); each chunk is one transaction on the target
// (postgres/copy-target.ts).
//
// A delivery the source had in flight (`delivering`, leased to a process of the
// old database) arrives `pending`, due at the copy's start, its lease cleared:
// no instance of the new database holds it, and the expiry of a lease that names
// a process the new database never knew would only delay it. Its attempt count
// stays: an attempt that was in flight and never recorded is not counted, just
// as when a crash returns a lease. It may therefore be sent twice (the old send
// may have reached the destination), which is at-least-once as everywhere else.
import { CopyRefused, COPY_TABLES, type CopyRow, type CopyTable } from "./copy-tables.ts";
import { PostgresCopyTarget, type WriteMethod } from "./postgres/copy-target.ts";
import { SqliteCopySource } from "./sqlite/copy-source.ts";

export { CopyRefused } from "./copy-tables.ts";

export interface CopyOptions {
  from: string;
  /** postgres://user:password@host:port/database; never printed (see describeTarget). */
  to: string;
  now?: () => number;
  /** Rows a chunk (one transaction on the target). */
  chunk?: number;
  method?: WriteMethod;
  /** After every chunk written, and once more when a table is done (`finished`). */
  onProgress?: (progress: CopyProgress) => void;
}

export interface CopyProgress {
  table: string;
  done: number;
  total: number;
  finished: boolean;
}

export interface CopySummary {
  tables: { name: string; rows: number; ms: number }[];
  /** Deliveries that were `delivering` in the source and are `pending` in the target. */
  released_leases: number;
  catalog_version: number;
  /**
   * The key ids the source's secrets are sealed under (null: never sealed). They
   * are copied sealed, as they are: Herald on the target must start with the same
   * key, and nothing else about the copy depends on it.
   */
  sealed_with: string[] | null;
  ms: number;
}

/**
 * 5,000 rows a chunk, written with COPY. Measured with bench/copy-store.ts on
 * 100,000 events (300,001 rows), best of three on this shared 2-core machine:
 * COPY 87,000 rows/s at 5,000 a chunk, 80,000 at 20,000, 66,000 at 1,000;
 * multi-row INSERT 63,000 at 1,000 and 43,000 at 5,000. Larger chunks only hold
 * more memory and make a failed chunk's transaction bigger.
 */
export const DEFAULT_CHUNK = 5_000;

export async function copyStore(options: CopyOptions): Promise<CopySummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const chunk = Math.max(1, options.chunk ?? DEFAULT_CHUNK);
  // The source first: a wrong --from is reported without touching the target.
  const source = SqliteCopySource.open(options.from);
  try {
    const target = await withoutPassword(options.to, () => PostgresCopyTarget.open(options.to, options.method));
    try {
      const totals = COPY_TABLES.map((table) => source.count(table));
      const summary: CopySummary = { tables: [], released_leases: 0, catalog_version: 0, sealed_with: source.sealedWith(), ms: 0 };
      for (const [index, table] of COPY_TABLES.entries()) {
        const tableStarted = now();
        const total = totals[index]!;
        let done = 0;
        const chunks = source.chunks(table, chunk);
        let next = chunks.next();
        while (!next.done) {
          const rows = next.value;
          if (table.name === "deliveries") summary.released_leases += releaseLeases(table, rows, started);
          let upcoming: IteratorResult<CopyRow[]> | null = null;
          try {
            // The next chunk is read while the server stores this one.
            await withoutPassword(options.to, () => target.write(table, rows, () => void (upcoming = chunks.next())));
          } catch (error) {
            throw partial(table, done, error);
          }
          next = upcoming ?? chunks.next();
          done += rows.length;
          options.onProgress?.({ table: table.name, done, total, finished: false });
        }
        options.onProgress?.({ table: table.name, done, total, finished: true });
        summary.tables.push({ name: table.name, rows: done, ms: now() - tableStarted });
      }
      summary.catalog_version = await withoutPassword(options.to, () => target.finish());
      summary.ms = now() - started;
      return summary;
    } finally {
      await target.close();
    }
  } finally {
    source.close();
  }
}

/** A chunk failed: its transaction wrote nothing, the chunks before it stay, and the target is no longer empty. */
function partial(table: CopyTable, done: number, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(
    `copying ${table.name} failed after ${done.toLocaleString("en-US")} rows: ${message}. ` +
      "The target holds a partial copy: empty it (a new database, or drop and recreate its schema) before running copy-store again",
    { cause: error },
  );
}

/** Delivering rows become pending, due at `at`, their lease gone (see the top of this file); returns how many. */
function releaseLeases(table: CopyTable, rows: CopyRow[], at: number): number {
  const [status, next, until, owner, updated] = ["status", "next_attempt_at", "lease_until", "lease_owner", "updated_at"].map((c) =>
    table.columns.indexOf(c),
  ) as [number, number, number, number, number];
  let released = 0;
  for (const row of rows) {
    if (row[status] !== "delivering") continue;
    row[status] = "pending";
    row[next] = at;
    row[until] = null;
    row[owner] = null;
    row[updated] = at;
    released++;
  }
  return released;
}

/** The target as it may be shown: user, host, port and database, never the password or the query. */
export function describeTarget(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username ? `${decodeURIComponent(u.username)}@` : ""}${u.host}${u.pathname}`;
  } catch {
    return "the target database";
  }
}

/** Runs `work`; an error whose message repeats the URL's password is rethrown with it masked. */
async function withoutPassword<T>(url: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof CopyRefused) throw error;
    let password = "";
    try {
      password = decodeURIComponent(new URL(url).password);
    } catch {}
    const message = error instanceof Error ? error.message : String(error);
    if (!password || !message.includes(password)) throw error;
    throw new Error(message.replaceAll(password, "***"));
  }
}
