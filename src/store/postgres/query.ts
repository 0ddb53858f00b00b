// Small helpers every part shares: storage failures turned into
// StoreUnavailableError, WHERE clauses built from the filters that are given,
// and pages read with one row more than asked.
import type { SQLArrayParameter } from "bun";
import type { Page } from "../types.ts";
import { isStorageFailure, toUnavailable } from "../unavailable.ts";

/** Runs `work`, turning a lost connection, a read-only server or a full disk into StoreUnavailableError (a 503). */
export async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw isStorageFailure(error) ? toUnavailable(error) : error;
  }
}

/**
 * True when the error says the session itself is gone — the server ended it
 * (57P01 admin shutdown, 57P02 crash shutdown) or the connection closed —
 * rather than that the server refused the statement. The pool replaces such a
 * connection, so the next statement may well succeed.
 */
export function isSessionEnded(error: unknown): boolean {
  const state = sqlState(error);
  if (state === "57P01" || state === "57P02") return true;
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ERR_POSTGRES_CONNECTION_CLOSED";
}

/** The SQLSTATE of a server error (Bun puts it in `errno`), or undefined. */
export function sqlState(error: unknown): string | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === "string" ? errno : undefined;
}

/** A condition: SQL with `?` standing for its one value (an array: sql.array); skipped when the value is undefined. */
export type Condition = [sql: string, value: string | number | boolean | SQLArrayParameter | undefined];

/** Builds `WHERE …` with $1, $2 … from the conditions whose value is given; `first` numbers after earlier params. */
export function where(list: Condition[], first = 1): { clause: string; values: unknown[] } {
  const clauses: string[] = [];
  const values: unknown[] = [];
  for (const [sql, value] of list) {
    if (value === undefined) continue;
    values.push(value);
    clauses.push(sql.replace("?", `$${first + values.length - 1}`));
  }
  return { clause: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", values };
}

/** Rows were fetched with limit + 1: the extra row only tells that a next page exists. */
export function page<T>(rows: T[], limit: number, idOf: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { data: rows, next_cursor: null };
  const data = rows.slice(0, limit);
  return { data, next_cursor: idOf(data[data.length - 1]!) };
}

/** A limit as SQL text: always an integer (it is written into the statement, not bound). */
export const limitOf = (limit: number): number => Math.max(0, Math.floor(limit)) + 1;
