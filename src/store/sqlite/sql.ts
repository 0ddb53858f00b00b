// Small pieces of SQL the SQLite store's parts share: whole-millisecond times,
// WHERE clauses built from optional filters, paging, and the status terms its
// partial indexes need.
import { idFloor } from "../ids.ts";
import type { DeliveryStatus, Page, StatusCounts } from "../types.ts";
import { DELIVERY_STATUSES } from "../types.ts";

/** The final states, as an SQL list. */
export const FINAL = "('succeeded', 'failed', 'cancelled')";

/**
 * Times go into STRICT INTEGER columns: a fraction (a clock read from
 * performance.now(), a wait computed from one) would make SQLite refuse the
 * whole statement ("cannot store REAL value in INTEGER column"). Whole ms.
 */
export const ms = (t: number): number => Math.round(t);

/**
 * The status condition with the state written as a literal: the partial indexes
 * of migration 3 (deliveries_open, deliveries_leased) serve a query only when
 * its WHERE names their state, which a bound parameter cannot do.
 */
export function statusTerm(status: DeliveryStatus | undefined): string {
  if (status === undefined) return "";
  if (!DELIVERY_STATUSES.includes(status)) throw new Error(`unknown delivery status ${status}`);
  return `status = '${status}'`;
}

export function statusCounts(rows: { status: DeliveryStatus; n: number }[]): StatusCounts {
  const counts = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as StatusCounts;
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/**
 * Deliveries created in [since, until). Their ids are made from created_at and
 * sort by it (migration 4 dropped the created_at index), so the id range finds
 * the rows and the created_at terms keep the window exact.
 */
export function createdWithin(since: number | undefined, until: number | undefined): Condition[] {
  return [
    ["id >= $id_since", "id_since", since === undefined ? undefined : idFloor("dlv", since)],
    ["id < $id_until", "id_until", until === undefined ? undefined : idFloor("dlv", until)],
    ["created_at >= $since", "since", since],
    ["created_at < $until", "until", until],
  ];
}

export type Condition = [sql: string, name: string, value: string | number | undefined];

/** Builds a WHERE clause from the conditions whose value is given. */
export function conditions(list: Condition[]) {
  const clauses: string[] = [];
  const params: Record<string, string | number> = {};
  for (const [sql, name, value] of list) {
    if (value === undefined) continue;
    clauses.push(sql);
    if (name) params[name] = value; // a condition with no name carries its value as a literal
  }
  return { where: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

/** Rows were fetched with limit + 1: the extra row only tells that a next page exists. */
export function page<T>(rows: T[], limit: number, idOf: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { data: rows, next_cursor: null };
  const data = rows.slice(0, limit);
  return { data, next_cursor: idOf(data[data.length - 1]!) };
}
