// The one error a store throws when it cannot write at all — the disk is full,
// an I/O error, the file is read-only, another process held the write lock
// past busy_timeout, or PostgreSQL is unreachable, read-only or out of room —
// as opposed to a write the store refused (a duplicate id).
// The engine turns it into a 503 `storage_unavailable`; nothing it covers was committed.

/** SQLite result codes (and the extended codes that start with them) that mean the store cannot write now. */
const SQLITE_CODES = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|NOMEM|PROTOCOL)/;
/** The same from the file system (the WAL sync runs outside SQLite). */
const ERRNO_CODES = new Set(["ENOSPC", "EDQUOT", "EIO", "EROFS", "EBADF"]);
/**
 * PostgreSQL SQLSTATEs (Bun puts them in `errno`) that mean the server cannot
 * take writes now: 08 connection exceptions, 53 insufficient resources (disk
 * full, out of memory, too many connections), 57P operator intervention (admin
 * shutdown, crash shutdown, cannot connect now: a restart or a failover), and
 * 25006 read-only transaction (a standby, or default_transaction_read_only).
 */
const POSTGRES_SQLSTATES = /^(08|53|57P)|^25006$/;
/** Bun's own codes for a PostgreSQL connection that failed, closed or timed out (no SQLSTATE then). */
const POSTGRES_CLIENT_CODES = /^ERR_POSTGRES_(CONNECTION_|IDLE_TIMEOUT|LIFETIME_TIMEOUT|TLS_)/;

export class StoreUnavailableError extends Error {
  constructor(
    message: string,
    /** The underlying code (SQLITE_FULL, ENOSPC …), for the log; never shown to clients. */
    readonly reason: string,
  ) {
    super(message);
    this.name = "StoreUnavailableError";
  }
}

/** True when `error` says the store cannot write, not that one write was wrong. */
export function isStorageFailure(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  const { code, errno } = (error as { code?: unknown; errno?: unknown } | null) ?? {};
  if (typeof errno === "string" && POSTGRES_SQLSTATES.test(errno)) return true;
  return typeof code === "string" && (SQLITE_CODES.test(code) || ERRNO_CODES.has(code) || POSTGRES_CLIENT_CODES.test(code));
}

export function toUnavailable(error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const { code, errno } = (error as { code?: unknown; errno?: unknown } | null) ?? {};
  // A PostgreSQL server error carries its SQLSTATE in errno; Bun's code is only "ERR_POSTGRES_SERVER_ERROR" then.
  const reason = typeof errno === "string" ? `SQLSTATE ${errno}` : typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`the store could not commit the write (${reason})`, reason);
}
