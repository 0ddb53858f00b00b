// Recording attempts on PostgreSQL: the attempt is logged, and the delivery
// moves to its outcome only while it still holds the attempt's lease (owner and
// until); otherwise the attempt is logged and counted and the row is left to
// whoever holds it now. A gathered batch runs in one transaction: one commit
// (one WAL flush) for every answer that came back in the same turn.
import type { SQL } from "bun";
import { newId } from "../ids.ts";
import type { AttemptRecord } from "../types.ts";
import { setEnabled } from "./catalog.ts";

/** Records a batch of attempts in `tx`; whether each outcome applied, in order. */
export async function recordAll(tx: SQL, records: { record: AttemptRecord; now: number }[]): Promise<boolean[]> {
  // In delivery-id order: two instances' batches then lock delivery rows in the
  // same order and wait for each other instead of deadlocking (destination rows
  // can still cross; a deadlock reruns the transaction: queue.ts inTransaction).
  const order = records.map((_, i) => i).sort((a, b) => (records[a]!.record.delivery_id < records[b]!.record.delivery_id ? -1 : 1));
  const applied: boolean[] = new Array(records.length);
  for (const i of order) applied[i] = await recordOne(tx, records[i]!.record, records[i]!.now);
  return applied;
}

async function recordOne(tx: SQL, r: AttemptRecord, now: number): Promise<boolean> {
  const at = Math.round(now);
  const next = r.outcome.status === "pending" ? Math.round(r.outcome.next_attempt_at) : null;
  const finalized = r.outcome.status === "pending" ? null : at;
  const [row] = await tx`UPDATE deliveries SET attempts = attempts + 1, status = ${r.outcome.status}, next_attempt_at = ${next},
      lease_until = NULL, lease_owner = NULL, last_status = ${r.attempt.response_status}, last_error = ${r.attempt.error},
      updated_at = ${at}, finalized_at = ${finalized}
    WHERE id = ${r.delivery_id} AND status = 'delivering' AND lease_owner = ${r.lease.owner} AND lease_until = ${Math.round(r.lease.until)}
    RETURNING attempts, destination_id`;
  // No row: the lease ran out and was returned or taken over, or the delivery was
  // cancelled while the attempt ran. The attempt was made, so it is logged and
  // counted (keeping `attempts` the highest number logged, so the holder's own
  // attempt gets the next number), but the row's state is its present holder's.
  const number: number = row ? row.attempts : await countStrayAttempt(tx, r.delivery_id);
  const a = r.attempt;
  await tx`INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, request_url, request_headers,
      response_status, response_headers, response_body, error)
    VALUES (${newId("att", a.started_at)}, ${r.delivery_id}, ${number}, ${Math.round(a.started_at)}, ${Math.round(a.duration_ms)},
      ${a.request_url}, ${JSON.stringify(a.request_headers)}, ${a.response_status},
      ${a.response_headers === null ? null : JSON.stringify(a.response_headers)}, ${a.response_body}, ${a.error})`;
  if (!row) return false;
  // failing_since is delivery health: these writes do not raise the catalogue version (migration 1's trigger list).
  if (r.outcome.status === "succeeded") {
    await tx`UPDATE destinations SET failing_since = NULL WHERE id = ${row.destination_id} AND failing_since IS NOT NULL`;
  } else {
    await tx`UPDATE destinations SET failing_since = ${at} WHERE id = ${row.destination_id} AND failing_since IS NULL`;
  }
  if (r.disable_destination) await setEnabled(tx, row.destination_id, false, r.disable_destination, now);
  return true;
}

/** Numbers an attempt whose lease was lost and counts it on its delivery (rare). */
async function countStrayAttempt(tx: SQL, deliveryId: string): Promise<number> {
  const [row] = await tx`UPDATE deliveries SET attempts = greatest(attempts,
      (SELECT coalesce(max(number), 0) FROM attempts WHERE delivery_id = ${deliveryId})) + 1
    WHERE id = ${deliveryId} RETURNING attempts`;
  if (row) return row.attempts;
  const [logged] = await tx`SELECT coalesce(max(number), 0) + 1 AS n FROM attempts WHERE delivery_id = ${deliveryId}`;
  return logged.n;
}
