// Backfill jobs on PostgreSQL (store.ts: BackfillStore), shared by every
// instance on the database. A job's lease is taken in one statement with FOR
// UPDATE SKIP LOCKED, as deliveries are claimed; a chunk locks its job row to
// check the lease, then writes its deliveries, cursor and counts in the same
// transaction. Deliveries inserted pending and due now fire herald_note_work
// (migration 2) at commit: the other instances claim them at once.
import type { SQL } from "bun";
import type { BackfillStore } from "../store.ts";
import type { BackfillChunk, BackfillJob, BackfillStatus, HeraldEvent, Lease, Page } from "../types.ts";
import { PARKING_DESTINATIONS } from "./parking.ts";
import { inTransaction } from "./transactions.ts";
import { guarded, limitOf, page, where } from "./query.ts";
import { num, numOrNull, toEvent } from "./rows.ts";

/**
 * The namespace of the transaction-level advisory locks that serialise chunks
 * writing to one destination (ASCII "HRLDBKFL"): the deliveries table has no
 * unique key on (event_id, destination_id), so two jobs for one destination
 * (two subscriptions, or the same window asked twice) must not both find an
 * event absent and both insert it. Publishes never take it: an event a chunk
 * can read was committed with its deliveries.
 */
const BACKFILL_LOCK_SPACE = 0x48524c44_424b464cn;

const at = (t: number) => Math.round(t);

export class PostgresBackfills implements BackfillStore {
  constructor(private readonly sql: SQL) {}

  create(job: BackfillJob): Promise<void> {
    return guarded(async () => {
      await this.sql`INSERT INTO backfill_jobs (id, subscription_id, destination_id, tenant, since, until, status, cursor_at,
          cursor_id, events_scanned, deliveries_created, lease_owner, lease_until, error, created_at, updated_at, finished_at)
        VALUES (${job.id}, ${job.subscription_id}, ${job.destination_id}, ${job.tenant}, ${at(job.since)}, ${at(job.until)},
          ${job.status}, ${job.cursor_at === null ? null : at(job.cursor_at)}, ${job.cursor_id}, ${job.events_scanned},
          ${job.deliveries_created}, ${job.lease_owner}, ${job.lease_until === null ? null : at(job.lease_until)}, ${job.error},
          ${at(job.created_at)}, ${at(job.updated_at)}, ${job.finished_at === null ? null : at(job.finished_at)})`;
    });
  }

  get(id: string): Promise<BackfillJob | null> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT * FROM backfill_jobs WHERE id = ${id}`;
      return row ? toJob(row) : null;
    });
  }

  list(filter: { tenant?: string; subscription_id?: string; cursor?: string; limit: number }): Promise<Page<BackfillJob>> {
    const { clause, values } = where([
      ["tenant = ?", filter.tenant],
      ["subscription_id = ?", filter.subscription_id],
      ["id < ?", filter.cursor],
    ]);
    return guarded(async () => {
      const rows = await this.sql.unsafe(`SELECT * FROM backfill_jobs ${clause} ORDER BY id DESC LIMIT ${limitOf(filter.limit)}`, values);
      return page(rows.map(toJob), filter.limit, (j) => j.id);
    });
  }

  /**
   * FOR UPDATE SKIP LOCKED: a job another instance is claiming at this moment is
   * passed over; once that claim commits the lease is fresh and the job no
   * longer matches. Dead instances' rows are gone from `instances` (releaseDead).
   */
  claim(now: number, lease: Lease, limit: number): Promise<BackfillJob[]> {
    return guarded(async () => {
      const rows = await this.sql`WITH stale AS (
          SELECT id FROM backfill_jobs
          WHERE status = 'running' AND (lease_until <= ${at(now)} OR lease_owner NOT IN (SELECT id FROM instances))
          ORDER BY id LIMIT ${Math.max(0, Math.floor(limit))}
          FOR UPDATE SKIP LOCKED)
        UPDATE backfill_jobs j SET lease_owner = ${lease.owner}, lease_until = ${at(lease.until)}, updated_at = ${at(now)}
        FROM stale WHERE j.id = stale.id
        RETURNING j.*`;
      return rows.map(toJob);
    });
  }

  /** The cursor is the range's lower bound on events_created: each chunk starts where the last ended. */
  nextEvents(job: Pick<BackfillJob, "tenant" | "since" | "until" | "cursor_at" | "cursor_id">, limit: number): Promise<HeraldEvent[]> {
    const from = at(job.cursor_at ?? job.since);
    // Before the first chunk every event at `since` counts: every id sorts above ''.
    const after = job.cursor_id ?? "";
    return guarded(async () => {
      const rows = await this.sql`SELECT * FROM events
        WHERE created_at >= ${from} AND created_at < ${at(job.until)} AND (created_at > ${from} OR id > ${after})
          AND tenant = ${job.tenant}
        ORDER BY created_at, id LIMIT ${Math.max(0, Math.floor(limit))}`;
      return rows.map(toEvent);
    });
  }

  writeChunk(chunk: BackfillChunk, now: number): Promise<{ job: BackfillJob; created: number } | null> {
    return guarded(() => inTransaction(this.sql, (tx) => writeChunkIn(tx, chunk, at(now))));
  }

  finish(
    id: string, status: Exclude<BackfillStatus, "running" | "completed">, error: string | null, now: number,
    options: { lease?: Lease; tenant?: string | null },
  ): Promise<BackfillJob | null> {
    const owner = options.lease?.owner ?? null;
    const until = options.lease ? at(options.lease.until) : null;
    const tenant = options.tenant ?? null;
    return guarded(async () => {
      const [row] = await this.sql`UPDATE backfill_jobs SET status = ${status}, error = ${error}, finished_at = ${at(now)},
          updated_at = ${at(now)}, lease_owner = NULL, lease_until = NULL
        WHERE id = ${id} AND status = 'running'
          AND (${owner}::text IS NULL OR (lease_owner = ${owner} AND lease_until = ${until}))
          AND (${tenant}::text IS NULL OR tenant = ${tenant})
        RETURNING *`;
      return row ? toJob(row) : null;
    });
  }

  deleteFinishedBefore(cutoff: number): Promise<number> {
    return guarded(async () => {
      const result = await this.sql`DELETE FROM backfill_jobs WHERE finished_at IS NOT NULL AND finished_at < ${at(cutoff)}`;
      return result.count;
    });
  }
}

async function writeChunkIn(tx: SQL, c: BackfillChunk, now: number): Promise<{ job: BackfillJob; created: number } | null> {
  // The job row locked first: a claim or a cancel racing this chunk waits for it, or this chunk finds the lease gone.
  const [held] = await tx`SELECT destination_id FROM backfill_jobs
    WHERE id = ${c.job_id} AND status = 'running' AND lease_owner = ${c.lease.owner} AND lease_until = ${at(c.lease.until)}
    FOR UPDATE`;
  if (!held) return null;
  let created = 0;
  if (c.deliveries.length > 0) {
    await tx`SELECT pg_advisory_xact_lock(${BACKFILL_LOCK_SPACE.toString()}::bigint # hashtext(${held.destination_id})::bigint)`;
    const rows = c.deliveries.map((d) => ({
      id: d.id, event_id: d.event_id, destination_id: d.destination_id, subscription_id: d.subscription_id, tenant: d.tenant,
      event_type: d.event_type, due: at(d.next_attempt_at ?? now), created_at: at(d.created_at),
    }));
    const result = await tx`INSERT INTO deliveries (id, event_id, destination_id, subscription_id, tenant, event_type, status,
        attempts, schedule_start, next_attempt_at, created_at, updated_at, parked)
      SELECT v.id, v.event_id, v.destination_id, v.subscription_id, v.tenant, v.event_type, 'pending', 0, 0, v.due, v.created_at, ${now},
        v.destination_id IN (${tx.unsafe(PARKING_DESTINATIONS)})
      FROM json_to_recordset(${JSON.stringify(rows)}::text::json) AS v(id TEXT, event_id TEXT, destination_id TEXT,
        subscription_id TEXT, tenant TEXT, event_type TEXT, due BIGINT, created_at BIGINT)
      WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = v.event_id AND d.destination_id = v.destination_id)`;
    created = result.count;
  }
  const done = c.done;
  const [row] = await tx`UPDATE backfill_jobs SET
      cursor_at = coalesce(${c.cursor ? at(c.cursor.at) : null}::bigint, cursor_at),
      cursor_id = coalesce(${c.cursor?.id ?? null}::text, cursor_id),
      events_scanned = events_scanned + ${c.scanned}, deliveries_created = deliveries_created + ${created},
      status = CASE WHEN ${done}::boolean THEN 'completed' ELSE status END,
      finished_at = CASE WHEN ${done}::boolean THEN ${now}::bigint ELSE NULL END,
      lease_owner = CASE WHEN ${done}::boolean THEN NULL ELSE lease_owner END,
      lease_until = CASE WHEN ${done}::boolean THEN NULL ELSE ${at(c.renew_until)}::bigint END,
      updated_at = ${now}
    WHERE id = ${c.job_id}
    RETURNING *`;
  return { job: toJob(row), created };
}

function toJob(row: Record<string, any>): BackfillJob {
  return {
    id: row.id, subscription_id: row.subscription_id, destination_id: row.destination_id, tenant: row.tenant,
    since: num(row.since), until: num(row.until), status: row.status, cursor_at: numOrNull(row.cursor_at), cursor_id: row.cursor_id,
    events_scanned: num(row.events_scanned), deliveries_created: num(row.deliveries_created), lease_owner: row.lease_owner,
    lease_until: numOrNull(row.lease_until), error: row.error, created_at: num(row.created_at), updated_at: num(row.updated_at),
    finished_at: numOrNull(row.finished_at),
  };
}
