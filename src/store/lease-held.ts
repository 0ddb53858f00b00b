// The lease test both stores make in Herald on delivery rows read by id alone:
// the read-back of leases waiting on disk (readLeased), and PostgreSQL's record
// path. Made in the statement it cost more: PostgreSQL's planner walked the
// lease index (787 ms for 1,000 rows), SQLite took each lease end out of JSON
// pairs (2.4–2.6 against 1.9–2.0 µs a row: bench/read-leased-ab.ts).

type Row = Record<string, unknown>;

/**
 * Whether a delivery row, as read, is still leased to `owner` under the lease
 * that ends at `until` (its lease_until as written; PostgreSQL gives the int8 as a string).
 */
export function holdsLease(row: Row, owner: string, until: number): boolean {
  return row.status === "delivering" && row.lease_owner === owner && Number(row.lease_until) === Math.round(until);
}

/** Of `rows` read by id, those still leased to `owner` under the lease end `leases` gives each, in `leases`' order. */
export function stillHeld<R extends Row>(rows: Iterable<R>, owner: string, leases: Map<string, number>): R[] {
  const byId = new Map<unknown, R>();
  for (const row of rows) byId.set(row.id, row);
  const held: R[] = [];
  for (const [id, until] of leases) {
    const row = byId.get(id);
    if (row && holdsLease(row, owner, until)) held.push(row);
  }
  return held;
}
