// Recording attempts on PostgreSQL: the attempt is logged, and the delivery
// moves to its outcome only while it still holds the attempt's lease (owner and
// until); otherwise the attempt is logged and counted and the row is left to
// whoever holds it now. A gathered batch runs in one transaction: one commit
// (one WAL flush) for every answer that came back in the same turn.
import type { SQL } from "bun";
import { newId } from "../ids.ts";
import type { AttemptRecord, BreakerChange, RecordedAttempt } from "../types.ts";
import { setEnabled } from "./catalog.ts";
import { num } from "./rows.ts";

/** Records a batch of attempts in `tx`; what each did, in order. */
export async function recordAll(tx: SQL, records: { record: AttemptRecord; now: number }[]): Promise<RecordedAttempt[]> {
  // In delivery-id order: two instances' batches then lock delivery rows in the
  // same order and wait for each other instead of deadlocking. The destinations'
  // health follows in a second pass, in destination-id order (arrival order
  // within one destination): a failing destination's row is written by every
  // failure now (the breaker's count), so its lock is taken last and in order.
  const order = records.map((_, i) => i).sort((a, b) => (records[a]!.record.delivery_id < records[b]!.record.delivery_id ? -1 : 1));
  const results: RecordedAttempt[] = new Array(records.length);
  const applied: { index: number; destination_id: string }[] = [];
  for (const i of order) {
    const destination = await recordOne(tx, records[i]!.record, records[i]!.now);
    results[i] = { applied: destination !== null, breaker: null };
    if (destination !== null) applied.push({ index: i, destination_id: destination });
  }
  applied.sort((a, b) => (a.destination_id < b.destination_id ? -1 : a.destination_id > b.destination_id ? 1 : a.index - b.index));
  for (const { index, destination_id } of applied) {
    const { record, now } = records[index]!;
    results[index]!.breaker = await recordHealth(tx, destination_id, record, now);
    if (record.disable_destination) await setEnabled(tx, destination_id, false, record.disable_destination, now);
  }
  return results;
}

/** Logs the attempt and moves the delivery; its destination's id when the outcome applied, else null. */
async function recordOne(tx: SQL, r: AttemptRecord, now: number): Promise<string | null> {
  const at = Math.round(now);
  const next = r.outcome.status === "pending" ? Math.round(r.outcome.next_attempt_at) : null;
  const finalized = r.outcome.status === "pending" ? null : at;
  // A failed probe is outside the delivery's schedule (AttemptRecord.probe).
  const outside = r.probe && r.outcome.status === "pending" ? 1 : 0;
  const [row] = await tx`UPDATE deliveries SET attempts = attempts + 1, status = ${r.outcome.status}, next_attempt_at = ${next},
      lease_until = NULL, lease_owner = NULL, last_status = ${r.attempt.response_status}, last_error = ${r.attempt.error},
      updated_at = ${at}, finalized_at = ${finalized}, schedule_start = schedule_start + ${outside}::integer
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
  return row ? row.destination_id : null;
}

/**
 * The destination's health after an applied attempt: failing_since and the
 * breaker (types.ts: BreakerHealth), written by one statement that also says
 * whether it opened or closed the breaker. The `old` CTE locks the row and,
 * under READ COMMITTED, reads its latest committed version after any wait, so
 * two instances recording at once count every failure and only one of them
 * sees the transition. Health columns: no catalogue version is raised (migration 3).
 */
async function recordHealth(tx: SQL, destinationId: string, r: AttemptRecord, now: number): Promise<BreakerChange | null> {
  const at = Math.round(now);
  if (r.outcome.status === "succeeded") {
    // Any success closes the breaker, on or off: the receiver is up. Nothing to
    // clear (nearly always): the CTE finds no row, and nothing is locked or written.
    const [row] = await tx`WITH old AS (
        SELECT id, breaker_opened_at FROM destinations
        WHERE id = ${destinationId} AND (failing_since IS NOT NULL OR consecutive_failures <> 0 OR breaker_opened_at IS NOT NULL)
        FOR UPDATE)
      UPDATE destinations d SET failing_since = NULL, consecutive_failures = 0, breaker_opened_at = NULL, breaker_probe_at = NULL,
        breaker_probe_started_at = NULL
      FROM old WHERE d.id = old.id
      RETURNING old.breaker_opened_at AS was_opened_at`;
    if (!row || row.was_opened_at === null) return null;
    return { destination_id: destinationId, change: "closed", opened_at: num(row.was_opened_at), next_probe_at: null };
  }
  const settings = r.breaker && r.breaker.failures > 0 ? r.breaker : null;
  if (!settings) {
    await tx`UPDATE destinations SET failing_since = ${at} WHERE id = ${destinationId} AND failing_since IS NULL`;
    return null;
  }
  const probeAt = Math.round(now + settings.probe_every_ms);
  const [row] = await tx`WITH old AS (
      SELECT id, consecutive_failures, breaker_opened_at FROM destinations WHERE id = ${destinationId} FOR UPDATE),
    next AS (
      SELECT id, consecutive_failures + 1 AS failures,
        (breaker_opened_at IS NULL AND consecutive_failures + 1 >= ${settings.failures}::integer) AS opens
      FROM old)
    UPDATE destinations d SET failing_since = coalesce(d.failing_since, ${at}), consecutive_failures = next.failures,
      breaker_opened_at = CASE WHEN next.opens THEN ${at} ELSE d.breaker_opened_at END,
      breaker_probe_at = CASE WHEN next.opens THEN ${probeAt} ELSE d.breaker_probe_at END,
      breaker_probe_started_at = NULL
    FROM next WHERE d.id = next.id
    RETURNING next.opens`;
  if (!row?.opens) return null;
  return { destination_id: destinationId, change: "opened", opened_at: at, next_probe_at: probeAt };
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
