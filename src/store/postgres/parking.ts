// Parked rows on PostgreSQL (migration 16), as SQLite's parking.ts: a held
// destination's pending rows wait in deliveries_parked, out of the claim's
// way, and go back to deliveries_due when it is released, a bounded chunk per
// transaction. Several instances settle at once: each locks the destination
// rows it moves (FOR UPDATE SKIP LOCKED), so two never move one destination's
// rows together and neither waits for the other; the rows themselves are
// updated without SKIP LOCKED (a claim holds a row for one statement; a row it
// took is then delivering, which the move's WHERE checks again).
//
// Being unparked, a destination's rows already due are not moved: the claim
// takes them straight from deliveries_parked (queue.ts: claimDue's
// `unparking`), as it would have from deliveries_due. Moving them first
// rewrote each row (every index of it: not a HOT update) only for the claim to
// rewrite it again. Rows due later are moved; the state is 0 once none is left.
import type { SQL } from "bun";
import type { ParkingSettled } from "../store.ts";
import { inTransaction } from "./transactions.ts";

/**
 * The destinations whose new pending rows go parked (parked, or being parked),
 * as a set for `destination_id IN (…)`: read once per statement through
 * destinations_parking, empty nearly always. SQL text, no values in it.
 */
export const PARKING_DESTINATIONS = "SELECT id FROM destinations WHERE park_state IN (1, 2)";

/**
 * Whether a row of `deliveries` (named `row` in its statement) made pending goes
 * parked: as its destination's rows do now. SQL text, for `sql.unsafe` (no values in it).
 */
export function parkedNow(row = "deliveries"): string {
  return `coalesce((SELECT x.park_state IN (1, 2) FROM destinations x WHERE x.id = ${row}.destination_id), false)`;
}

/** Moves up to `budget` rows of the destinations whose move is under way; an unparking destination's rows due by `now` stay for the claim. */
export async function settleParking(sql: SQL, budget: number, verify: boolean, now: number): Promise<ParkingSettled> {
  let moved = 0;
  let more = false;
  if (verify) ({ moved, more } = await releaseStrays(sql, budget));
  const settled = await inTransaction(sql, async (tx) => {
    // Through destinations_moving (partial on park_state IN (2, 3)): empty nearly always.
    const moving = await tx`SELECT id, park_state, park_cursor FROM destinations WHERE park_state IN (2, 3)
      ORDER BY id FOR UPDATE SKIP LOCKED`;
    let done = 0;
    let left = false;
    for (const d of moving as { id: string; park_state: number; park_cursor: string | null }[]) {
      const room = budget - moved - done;
      if (room <= 0) return { done, left: true };
      const step = Number(d.park_state) === 2 ? await park(tx, d.id, d.park_cursor ?? "", room) : await unpark(tx, d.id, room, now);
      done += step.walked;
      if (step.done) await tx`UPDATE destinations SET park_state = ${Number(d.park_state) === 2 ? 1 : 0}, park_cursor = NULL WHERE id = ${d.id}`;
      else left = true;
    }
    return { done, left };
  });
  return { moved: moved + settled.done, more: more || settled.left };
}

/** Parks the destination's next pending rows by id after `cursor` (deliveries_waiting holds parked and unparked alike: the walk goes on where the last chunk ended). */
async function park(tx: SQL, destination: string, cursor: string, limit: number): Promise<{ walked: number; done: boolean }> {
  const [row] = await tx`WITH picked AS (
      SELECT id FROM deliveries WHERE destination_id = ${destination} AND status = 'pending' AND id > ${cursor} ORDER BY id LIMIT ${limit}),
    moved AS (
      UPDATE deliveries SET parked = true FROM picked WHERE deliveries.id = picked.id AND deliveries.status = 'pending' AND NOT deliveries.parked)
    SELECT count(*) AS walked, max(id) AS last FROM picked`;
  const walked = Number(row.walked);
  const done = walked < limit;
  if (!done) await tx`UPDATE destinations SET park_cursor = ${row.last} WHERE id = ${destination}`;
  return { walked, done };
}

/**
 * Unparks the destination's earliest parked rows due after `leaveDueBy` (null:
 * all of them; each chunk leaves deliveries_parked, so the next starts at the
 * same place). Done once nothing is left parked at all: the rows left due wait
 * for the claim, and keep the move under way (more) until it has taken them.
 */
async function unpark(tx: SQL, destination: string, limit: number, leaveDueBy: number | null): Promise<{ walked: number; done: boolean }> {
  const after = leaveDueBy ?? Number.MIN_SAFE_INTEGER;
  const [row] = await tx`WITH picked AS (
      SELECT id FROM deliveries WHERE destination_id = ${destination} AND status = 'pending' AND parked AND next_attempt_at > ${after}
      ORDER BY next_attempt_at, id LIMIT ${limit}),
    moved AS (
      UPDATE deliveries SET parked = false FROM picked WHERE deliveries.id = picked.id AND deliveries.status = 'pending' AND deliveries.parked)
    SELECT count(*) AS walked,
      EXISTS (SELECT 1 FROM deliveries WHERE destination_id = ${destination} AND status = 'pending' AND parked AND next_attempt_at <= ${after}) AS left_due
    FROM picked`;
  const walked = Number(row.walked);
  return { walked, done: walked < limit && !row.left_due };
}

/**
 * Parked rows of a destination that is not held (a publish that read the
 * state just before another instance finished unparking, a deleted
 * destination): the distinct destinations of deliveries_parked, one index
 * seek each (a recursive walk: PostgreSQL has no skip scan), whatever their
 * backlogs. One whose state says unparked starts a move back (park_state 3,
 * settled next); a gone one's rows are unparked here, a chunk at a time.
 */
async function releaseStrays(sql: SQL, budget: number): Promise<ParkingSettled> {
  const strays = (await sql`WITH RECURSIVE parked AS (
      SELECT (SELECT min(destination_id) FROM deliveries WHERE status = 'pending' AND parked) AS id
      UNION ALL
      SELECT (SELECT min(destination_id) FROM deliveries WHERE status = 'pending' AND parked AND destination_id > p.id)
      FROM parked p WHERE p.id IS NOT NULL)
    SELECT p.id, x.park_state FROM parked p LEFT JOIN destinations x ON x.id = p.id
    WHERE p.id IS NOT NULL AND (x.id IS NULL OR x.park_state = 0)`) as { id: string; park_state: number | null }[];
  let moved = 0;
  let more = false;
  for (const stray of strays) {
    if (stray.park_state !== null) {
      await sql`UPDATE destinations SET park_state = 3, park_cursor = NULL WHERE id = ${stray.id} AND park_state = 0`;
      continue;
    }
    const step = await inTransaction(sql, (tx) => unpark(tx, stray.id, Math.max(0, budget - moved), null));
    moved += step.walked;
    if (!step.done) more = true;
  }
  return { moved, more };
}
