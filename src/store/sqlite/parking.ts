// Parked rows on SQLite (migration 21): a held destination's pending rows wait
// in deliveries_parked, out of the claim's way, and go back to deliveries_due
// when it is released. destinations.park_state says where they go and whether
// they are all there (0 unparked, 1 parked, 2 being parked, 3 being
// unparked); the triggers of migration 21 start a move when a destination
// becomes held or released, and this file makes it, a bounded chunk per
// transaction, so a breaker that opens over a large backlog never holds the
// write lock (or the thread) for long.
//
// Being unparked, a destination's rows already due are not moved: the claim
// takes them straight from deliveries_parked (queue.ts: CLAIM_UNPARKING), as
// it would have from deliveries_due, in due order with the rest. Moving them
// first rewrote each row and two index entries only for the claim to rewrite
// them again (a million rows behind a destination enabled again: ~5 % of the
// drain's thread). Rows due later are moved; the state is 0 once none is left.
import type { Database } from "bun:sqlite";
import type { ParkingSettled } from "../store.ts";

/**
 * Whether a row made pending by a rare write (a lease handed back, a re-queue,
 * a backfill) goes parked: as its destination's rows do now. SQL text; one
 * primary-key read per row; a destination gone leaves it unparked (the claim
 * cancels it).
 */
export function parkedNow(destinationId = "deliveries.destination_id"): string {
  return `coalesce((SELECT park_state = 1 OR park_state = 2 FROM destinations WHERE destinations.id = ${destinationId}), 0)`;
}

/**
 * Moves up to `budget` rows of the destinations whose move is under way (and,
 * with `verify`, of those left parked by mistake), in one IMMEDIATE
 * transaction. An unparking destination's rows due by `now` stay for the claim.
 */
export function settleParking(db: Database, budget: number, verify: boolean, now: number): ParkingSettled {
  return db
    .transaction(() => {
      let moved = 0;
      let more = false;
      if (verify) ({ moved, more } = releaseStrays(db, budget));
      // Through destinations_park (partial on park_state <> 0): empty nearly always.
      const moving = db
        .query("SELECT id, park_state, park_cursor FROM destinations WHERE park_state <> 0 AND park_state >= 2 ORDER BY id")
        .all() as { id: string; park_state: number; park_cursor: string | null }[];
      for (const d of moving) {
        const room = budget - moved;
        if (room <= 0) return { moved, more: true };
        const step = d.park_state === 2 ? park(db, d.id, d.park_cursor ?? "", room) : unpark(db, d.id, room, now);
        moved += step.walked;
        if (step.done) db.query("UPDATE destinations SET park_state = ?, park_cursor = NULL WHERE id = ? AND park_state = ?").run(d.park_state === 2 ? 1 : 0, d.id, d.park_state);
        else more = true;
      }
      return { moved, more };
    })
    .immediate();
}

/**
 * Parks the destination's next pending rows by id after `cursor`, through
 * deliveries_waiting (which holds every pending row, parked or not: the walk
 * goes on from where the last chunk ended rather than past the rows it parked).
 * A row made pending meanwhile behind the cursor was written parked already (the
 * writes read park_state); one that was not is held back by the claim's filter.
 */
function park(db: Database, destination: string, cursor: string, limit: number): { walked: number; done: boolean } {
  const ids = db
    .query("SELECT id FROM deliveries INDEXED BY deliveries_waiting WHERE destination_id = ? AND status = 'pending' AND id > ? ORDER BY id LIMIT ?")
    .all(destination, cursor, limit) as { id: string }[];
  if (ids.length > 0) {
    db.query("UPDATE deliveries SET parked = 1 WHERE id IN (SELECT value FROM json_each(?)) AND parked = 0").run(JSON.stringify(ids.map((r) => r.id)));
  }
  const done = ids.length < limit;
  if (!done) db.query("UPDATE destinations SET park_cursor = ? WHERE id = ?").run(ids[ids.length - 1]!.id, destination);
  return { walked: ids.length, done };
}

/**
 * Unparks the destination's earliest parked rows due after `leaveDueBy` (null:
 * all of them): each chunk leaves deliveries_parked, so the next starts at the
 * same place. Done once nothing is left parked at all: the rows left due wait
 * for the claim, and keep the move under way (more) until it has taken them.
 */
function unpark(db: Database, destination: string, limit: number, leaveDueBy: number | null): { walked: number; done: boolean } {
  const after = leaveDueBy ?? Number.MIN_SAFE_INTEGER;
  const walked = db
    .query(
      `UPDATE deliveries SET parked = 0 WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_parked
         WHERE destination_id = ? AND status = 'pending' AND parked = 1 AND next_attempt_at > ? ORDER BY next_attempt_at, id LIMIT ?)`,
    )
    .run(destination, after, limit).changes;
  if (walked === limit) return { walked, done: false };
  const left = db
    .query("SELECT 1 FROM deliveries INDEXED BY deliveries_parked WHERE destination_id = ? AND status = 'pending' AND parked = 1 LIMIT 1")
    .get(destination);
  return { walked, done: left === null };
}

/**
 * Parked rows of a destination that is not held: its state says unparked, or
 * it is gone. Each destination with parked rows is one seek in
 * deliveries_parked (the next destination_id after the last), so the check
 * costs as many seeks as there are such destinations, whatever their backlogs.
 * One whose state says unparked starts a move back (park_state 3, settled
 * below); a gone one's rows are unparked here (the claim then cancels them).
 */
function releaseStrays(db: Database, budget: number): ParkingSettled {
  const next = db.query(
    "SELECT destination_id AS id FROM deliveries INDEXED BY deliveries_parked WHERE status = 'pending' AND parked = 1 AND destination_id > ? ORDER BY destination_id LIMIT 1",
  );
  const stateOf = db.query("SELECT park_state FROM destinations WHERE id = ?");
  let moved = 0;
  let more = false;
  for (let last = ""; ; ) {
    const row = next.get(last) as { id: string } | null;
    if (!row) break;
    last = row.id;
    const state = stateOf.get(last) as { park_state: number } | null;
    if (state === null) {
      const step = unpark(db, last, Math.max(0, budget - moved), null);
      moved += step.walked;
      if (!step.done) more = true;
    } else if (state.park_state === 0) {
      db.query("UPDATE destinations SET park_state = 3, park_cursor = NULL WHERE id = ? AND park_state = 0").run(last);
    }
  }
  return { moved, more };
}
