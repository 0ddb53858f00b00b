// Work on PostgreSQL run again after a failure that left nothing committed: a
// deadlock or serialization failure, and for publishes a session the server
// ended. Each try is a whole transaction, or one statement committed on its own.
import type { SQL } from "bun";
import { sqlState } from "./query.ts";

/**
 * SQLSTATEs after which a whole transaction is simply run again: 40P01
 * deadlock (two batches waiting on each other's unique keys or destination
 * rows) and 40001 serialization failure. Nothing of it was committed.
 */
const RETRYABLE = new Set(["40P01", "40001"]);
/**
 * Publishes are also run again when the server ended the session they ran on
 * (57P01, 57P02: it was restarted, failed over or had its backends
 * terminated). Each pooled connection from before fails once, on first use,
 * and the pool opens a fresh one; without this, the first publishes after the
 * server is back would answer 503 though it takes writes. Safe: the server ends
 * a session only outside a commit, and a publish writes each event under its
 * own id anyway (a batch that had committed would find its keyed events and
 * answer them as repeats, and fail on the ids of the others, never write twice).
 */
export const PUBLISH_RETRYABLE = new Set([...RETRYABLE, "57P01", "57P02"]);

/** Runs `work` in a transaction, the whole transaction again after a retryable failure. */
export function inTransaction<T>(sql: SQL, work: (tx: SQL) => Promise<T>, tries = 5, retryable = RETRYABLE): Promise<T> {
  return retried(() => sql.begin(work), tries, retryable);
}

/** Runs `work` again after an error whose SQLSTATE is in `retryable`, at most `tries` times in all. */
export async function retried<T>(work: () => Promise<T>, tries: number, retryable: Set<string>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= tries || !retryable.has(sqlState(error) ?? "")) throw error;
    }
  }
}
