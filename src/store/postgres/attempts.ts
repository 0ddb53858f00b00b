// Recording attempts on PostgreSQL: the attempt is logged, and the delivery
// moves to its outcome only while it still holds the attempt's lease (owner and
// until); otherwise the attempt is logged and counted and the row is left to
// whoever holds it now. A gathered batch runs in one transaction: one commit
// (one WAL flush) for every answer that came back in the same turn.
import type { SQL } from "bun";
import { newId } from "../ids.ts";
import { holdsLease } from "../lease-held.ts";
import type { AttemptRecord, BreakerChange, RecordedAttempt } from "../types.ts";
import { setEnabled } from "./catalog.ts";
import { parkedNow } from "./parking.ts";
import { recordset } from "./recordset.ts";
import { num } from "./rows.ts";

/** The attempts' columns, for the batch's one INSERT (rows from attemptRow). */
const ATTEMPTS = recordset("attempts", {
  id: "text", delivery_id: "text", destination_id: "text", number: "integer", started_at: "bigint", duration_ms: "bigint",
  request_url: "text", request_headers: "text", response_status: "integer", response_headers: "text", response_body: "text", error: "text",
});

/**
 * Records a batch of attempts in `tx`; what each did, in order. Set-based: one
 * UPDATE moves every delivery that still holds its lease, one INSERT logs every
 * attempt, and the destinations' health follows per destination. Statements
 * one record at a time cost a round trip each (three a record), which, with
 * the dispatcher waiting for its records, set the pace of every send.
 */
export async function recordAll(tx: SQL, records: { record: AttemptRecord; now: number }[]): Promise<RecordedAttempt[]> {
  const results: RecordedAttempt[] = records.map(() => ({ applied: false, breaker: null }));
  // Each attempt's number and its delivery's destination, for its row (types.ts: Attempt).
  const numbers: number[] = new Array(records.length);
  const attemptsOf: (string | null)[] = new Array(records.length).fill(null);
  // Two answers for one delivery in one batch (a lost lease's late answer and its
  // holder's) must be applied in turn: one UPDATE … FROM would apply only one.
  const ids = records.map((r) => r.record.delivery_id);
  if (new Set(ids).size === ids.length) {
    // Locked in delivery-id order first: two instances' batches then wait for
    // each other instead of deadlocking. The lock reads each row's latest
    // version (READ COMMITTED), and nothing can change a locked row before this
    // transaction ends, so whether a record still holds its lease is told here.
    const locked: { id: string; status: string; lease_owner: string | null; lease_until: unknown }[] = await tx`
      SELECT id, status, lease_owner, lease_until FROM deliveries WHERE id = ANY(${tx.array([...ids].sort(), "TEXT")}) ORDER BY id FOR UPDATE`;
    const current = new Map(locked.map((row) => [row.id, row]));
    const holding = (r: AttemptRecord): boolean => {
      const row = current.get(r.delivery_id);
      return row !== undefined && holdsLease(row, r.lease.owner, r.lease.until);
    };
    const moves = records.flatMap(({ record: r, now }, index) => (!holding(r) ? [] : [{
      index,
      id: r.delivery_id,
      status: r.outcome.status,
      next: r.outcome.status === "pending" ? Math.round(r.outcome.next_attempt_at) : null,
      finalized: r.outcome.status === "pending" ? null : Math.round(now),
      last_status: r.attempt.response_status,
      last_error: storable(r.attempt.error),
      at: Math.round(now),
      // A failed probe is outside the delivery's schedule (AttemptRecord.probe).
      outside: r.probe && r.outcome.status === "pending" ? 1 : 0,
    }]));
    // Joined on the primary key alone, the rows already locked and checked: with
    // the lease test (status = 'delivering') in its WHERE, the planner joined the
    // batch by hash with a bitmap scan of deliveries_leased, which visits every
    // dead entry of that index (a bitmap scan never marks them dead) — 125,800
    // entries for 255 rows late in a 200,000-delivery run, ~200 µs of the
    // server a delivery (bench/README.md, "PostgreSQL: where the server's time goes").
    const moved: { index: number; attempts: number; destination_id: string }[] = moves.length === 0 ? [] : await tx`
      UPDATE deliveries d SET attempts = d.attempts + 1, status = v.status, next_attempt_at = v.next, lease_until = NULL,
        lease_owner = NULL, last_status = v.last_status, last_error = v.last_error, updated_at = v.at,
        finalized_at = v.finalized, schedule_start = d.schedule_start + v.outside,
        -- A retry of a destination whose rows are parked (parking.ts) waits parked too.
        parked = CASE WHEN v.status = 'pending' THEN ${tx.unsafe(parkedNow("d"))} ELSE false END
      FROM json_to_recordset(${JSON.stringify(moves)}::text::json) AS v("index" INTEGER, id TEXT,
        status TEXT, next BIGINT, finalized BIGINT, last_status INTEGER, last_error TEXT, at BIGINT, outside INTEGER)
      WHERE d.id = v.id
      RETURNING v."index" AS index, d.attempts, d.destination_id`;
    for (const row of moved) {
      numbers[row.index] = row.attempts;
      attemptsOf[row.index] = row.destination_id;
      results[row.index]!.applied = true;
    }
    // No row: the lease ran out and was returned or taken over, or the delivery was
    // cancelled while the attempt ran (rare): logged and counted one by one.
    for (let i = 0; i < records.length; i++) {
      if (results[i]!.applied) continue;
      const stray = await countStrayAttempt(tx, records[i]!.record.delivery_id);
      numbers[i] = stray.number;
      attemptsOf[i] = stray.destination_id;
    }
  } else {
    const order = records.map((_, i) => i).sort((a, b) => (ids[a]! < ids[b]! ? -1 : 1));
    for (const i of order) {
      const moved = await moveOne(tx, records[i]!.record, records[i]!.now);
      numbers[i] = moved.number;
      attemptsOf[i] = moved.attempt_of;
      results[i]!.applied = moved.applied;
    }
  }
  await tx.unsafe(ATTEMPTS.insert, [JSON.stringify(records.map(({ record }, i) => attemptRow(record, numbers[i]!, attemptsOf[i] ?? null)))]);

  // The destinations' health: in destination-id order (arrival order within one
  // destination), so their row locks are taken last and in order. A failing
  // destination's row is written by every failure (the breaker's count); of
  // successes in a row only the first writes anything: it already closed the
  // breaker and cleared failing_since, so the next would find nothing to change.
  // An applied outcome's delivery exists, so its attempt's destination is known.
  const applied = records.map((_, i) => i).filter((i) => results[i]!.applied);
  const destinationOf = (i: number) => attemptsOf[i]!;
  applied.sort((a, b) => (destinationOf(a) < destinationOf(b) ? -1 : destinationOf(a) > destinationOf(b) ? 1 : a - b));
  if (applied.every((i) => records[i]!.record.outcome.status === "succeeded" && !records[i]!.record.disable_destination)) {
    // Successes only (nearly always): every destination's health in one statement
    // instead of one per destination (a fan-out's batch spans many). What each
    // destination's first success in the batch would have done alone, it does;
    // the rest of its run would find nothing to change.
    const first = new Map<string, number>();
    for (const i of applied) if (!first.has(destinationOf(i))) first.set(destinationOf(i), i);
    if (first.size === 0) return results;
    for (const closed of await healthAfterSuccess(tx, [...first.keys()])) results[first.get(closed.destination_id)!]!.breaker = closed;
    return results;
  }
  let previous: { destination: string; succeeded: boolean } | null = null;
  for (const index of applied) {
    const { record, now } = records[index]!;
    const destination = destinationOf(index);
    const succeeded = record.outcome.status === "succeeded";
    const repeat = succeeded && previous?.destination === destination && previous.succeeded && !record.disable_destination;
    previous = { destination, succeeded };
    if (repeat) continue;
    results[index]!.breaker = await recordHealth(tx, destination, record, now);
    if (record.disable_destination) await setEnabled(tx, destination, false, record.disable_destination, now);
  }
  return results;
}

function attemptRow(r: AttemptRecord, number: number, destination_id: string | null): Record<string, unknown> {
  const a = r.attempt;
  return {
    id: newId("att", a.started_at), delivery_id: r.delivery_id, destination_id, number, started_at: Math.round(a.started_at),
    duration_ms: Math.round(a.duration_ms), request_url: a.request_url, request_headers: JSON.stringify(a.request_headers),
    response_status: a.response_status, response_headers: a.response_headers === null ? null : JSON.stringify(a.response_headers),
    response_body: storable(a.response_body), error: storable(a.error),
  };
}

/**
 * Text as PostgreSQL can keep it: its text type has no NUL character, and one
 * in a receiver's answer would fail the whole record (the lease would run out
 * and the delivery be sent again, without end). It becomes U+FFFD, as an
 * undecodable byte already does (sender.ts reads the body as UTF-8).
 */
function storable(text: string | null): string | null {
  return text === null || !text.includes("\0") ? text : text.replaceAll("\0", "\uFFFD");
}

/** Moves one delivery (the path for a batch with two answers for one delivery): its attempt's number and destination, and whether the outcome applied. */
async function moveOne(tx: SQL, r: AttemptRecord, now: number): Promise<{ number: number; attempt_of: string | null; applied: boolean }> {
  const at = Math.round(now);
  const next = r.outcome.status === "pending" ? Math.round(r.outcome.next_attempt_at) : null;
  const finalized = r.outcome.status === "pending" ? null : at;
  const outside = r.probe && r.outcome.status === "pending" ? 1 : 0;
  const [row] = await tx`UPDATE deliveries SET attempts = attempts + 1, status = ${r.outcome.status}, next_attempt_at = ${next},
      lease_until = NULL, lease_owner = NULL, last_status = ${r.attempt.response_status}, last_error = ${storable(r.attempt.error)},
      updated_at = ${at}, finalized_at = ${finalized}, schedule_start = schedule_start + ${outside}::integer,
      parked = CASE WHEN ${r.outcome.status === "pending"} THEN ${tx.unsafe(parkedNow())} ELSE false END
    WHERE id = ${r.delivery_id} AND status = 'delivering' AND lease_owner = ${r.lease.owner} AND lease_until = ${Math.round(r.lease.until)}
    RETURNING attempts, destination_id`;
  if (row) return { number: row.attempts, attempt_of: row.destination_id, applied: true };
  const stray = await countStrayAttempt(tx, r.delivery_id);
  return { number: stray.number, attempt_of: stray.destination_id, applied: false };
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
  if (r.outcome.status === "succeeded") return (await healthAfterSuccess(tx, [destinationId]))[0] ?? null;
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
/**
 * The health of destinations after a success each: any success closes the
 * breaker, on or off (the receiver is up), and clears failing_since and the
 * failure count. Nothing to clear (nearly always): the CTE finds no row, and
 * nothing is locked or written. Rows are locked in id order (the batch's order
 * for destination rows). Answers the breakers it closed.
 */
async function healthAfterSuccess(tx: SQL, destinationIds: string[]): Promise<BreakerChange[]> {
  const rows = await tx`WITH old AS (
      SELECT id, breaker_opened_at FROM destinations
      WHERE id = ANY(${tx.array(destinationIds, "TEXT")}) AND (failing_since IS NOT NULL OR consecutive_failures <> 0 OR breaker_opened_at IS NOT NULL)
      -- COLLATE "C": byte order, the JavaScript order in which the mixed path
      -- locks destination rows one by one; the database's collation (en_US…)
      -- may order mixed-case ids otherwise, and two instances would deadlock.
      ORDER BY id COLLATE "C" FOR UPDATE)
    UPDATE destinations d SET failing_since = NULL, consecutive_failures = 0, breaker_opened_at = NULL, breaker_probe_at = NULL,
      breaker_probe_started_at = NULL
    FROM old WHERE d.id = old.id
    RETURNING old.id, old.breaker_opened_at AS was_opened_at`;
  return rows
    .filter((row: { was_opened_at: unknown }) => row.was_opened_at !== null)
    .map((row: { id: string; was_opened_at: unknown }) => ({ destination_id: row.id, change: "closed" as const, opened_at: num(row.was_opened_at), next_probe_at: null }));
}

/** Numbers an attempt whose lease was lost and counts it on its delivery, with the delivery's destination (null when it is gone); rare. */
async function countStrayAttempt(tx: SQL, deliveryId: string): Promise<{ number: number; destination_id: string | null }> {
  const [row] = await tx`UPDATE deliveries SET attempts = greatest(attempts,
      (SELECT coalesce(max(number), 0) FROM attempts WHERE delivery_id = ${deliveryId})) + 1
    WHERE id = ${deliveryId} RETURNING attempts, destination_id`;
  if (row) return { number: row.attempts, destination_id: row.destination_id };
  const [logged] = await tx`SELECT coalesce(max(number), 0) + 1 AS n FROM attempts WHERE delivery_id = ${deliveryId}`;
  return { number: logged.n, destination_id: null };
}
