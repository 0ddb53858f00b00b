// The one error a store throws when it cannot write at all — the disk is full,
// an I/O error, the file is read-only, or another process held the write lock
// past busy_timeout — as opposed to a write the store refused (a duplicate id).
// The engine turns it into a 503 `storage_unavailable`; nothing it covers was committed.

/** SQLite result codes (and the extended codes that start with them) that mean the store cannot write now. */
const SQLITE_CODES = /^SQLITE_(FULL|IOERR|BUSY|LOCKED|READONLY|CANTOPEN|NOMEM|PROTOCOL)/;
/** The same from the file system (the WAL sync runs outside SQLite). */
const ERRNO_CODES = new Set(["ENOSPC", "EDQUOT", "EIO", "EROFS", "EBADF"]);

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
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (SQLITE_CODES.test(code) || ERRNO_CODES.has(code));
}

export function toUnavailable(error: unknown): StoreUnavailableError {
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const reason = typeof code === "string" ? code : error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`the store could not commit the write (${reason})`, reason);
}
