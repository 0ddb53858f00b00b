// Backfill jobs on SQLite (store.ts: BackfillStore): the job rows, the events a
// job reads next, and each chunk's deliveries written with the job's cursor in
// one group-committed transaction. Several processes may share the file: the
// chunk's lease check and its writes run inside the batch's IMMEDIATE
// transaction, so no other process writes in between.
import type { Database } from "bun:sqlite";
import type { BackfillStore } from "../store.ts";
import type { BackfillChunk, BackfillJob, BackfillStatus, HeraldEvent, Lease, Page } from "../types.ts";
import { parkedNow } from "./parking.ts";
import { toEvent } from "./rows.ts";
import { conditions, ms, page } from "./sql.ts";
import type { WriteBatcher } from "./write-batcher.ts";

export class SqliteBackfills implements BackfillStore {
  constructor(
    private readonly db: Database,
    private readonly batcher: WriteBatcher,
  ) {}

  async create(job: BackfillJob): Promise<void> {
    this.db
      .query(
        `INSERT INTO backfill_jobs (id, subscription_id, destination_id, tenant, since, until, status, cursor_at, cursor_id,
           events_scanned, deliveries_created, lease_owner, lease_until, error, created_at, updated_at, finished_at)
         VALUES ($id, $subscription_id, $destination_id, $tenant, $since, $until, $status, $cursor_at, $cursor_id,
           $events_scanned, $deliveries_created, $lease_owner, $lease_until, $error, $created_at, $updated_at, $finished_at)`,
      )
      .run(jobParams(job));
  }

  async get(id: string): Promise<BackfillJob | null> {
    const row = this.db.query("SELECT * FROM backfill_jobs WHERE id = ?").get(id);
    return row ? toJob(row) : null;
  }

  async list(filter: { tenant?: string; subscription_id?: string; cursor?: string; limit: number }): Promise<Page<BackfillJob>> {
    const { where, params } = conditions([
      ["tenant = $tenant", "tenant", filter.tenant],
      ["subscription_id = $subscription_id", "subscription_id", filter.subscription_id],
      ["id < $cursor", "cursor", filter.cursor],
    ]);
    const rows = this.db.query(`SELECT * FROM backfill_jobs ${where} ORDER BY id DESC LIMIT ${filter.limit + 1}`).all(params);
    return page(rows.map(toJob), filter.limit, (j) => j.id);
  }

  /**
   * One UPDATE: SQLite has one writer at a time, so two processes claiming at
   * once run one after the other, and the second finds the lease renewed.
   * Dead processes' rows are gone from `instances` (releaseLeasesOfDeadInstances).
   */
  async claim(now: number, lease: Lease, limit: number): Promise<BackfillJob[]> {
    const rows = this.db
      .query(
        `UPDATE backfill_jobs SET lease_owner = $owner, lease_until = $until, updated_at = $now
         WHERE id IN (
           SELECT id FROM backfill_jobs
           WHERE status = 'running' AND (lease_until <= $now OR lease_owner NOT IN (SELECT id FROM instances))
           ORDER BY id LIMIT $limit)
         RETURNING *`,
      )
      .all({ owner: lease.owner, until: ms(lease.until), now: ms(now), limit: Math.max(0, Math.floor(limit)) });
    return rows.map(toJob);
  }

  /**
   * The cursor is the range's lower bound (created_at >= cursor_at), so each
   * chunk starts where the last ended on events_created instead of scanning the
   * window from its start again; the id breaks ties within one millisecond.
   */
  async nextEvents(job: Pick<BackfillJob, "tenant" | "since" | "until" | "cursor_at" | "cursor_id">, limit: number): Promise<HeraldEvent[]> {
    const rows = this.db
      .query(
        `SELECT * FROM events INDEXED BY events_created
         WHERE created_at >= $from AND created_at < $until AND (created_at > $from OR id > $after) AND tenant = $tenant
         ORDER BY created_at, id LIMIT $limit`,
      )
      .all({
        from: ms(job.cursor_at ?? job.since),
        // Before the first chunk: every event at `since` counts (every id is above '').
        after: job.cursor_id ?? "",
        until: ms(job.until),
        tenant: job.tenant,
        limit: Math.max(0, Math.floor(limit)),
      });
    return rows.map(toEvent);
  }

  writeChunk(chunk: BackfillChunk, now: number): Promise<{ job: BackfillJob; created: number } | null> {
    return this.batcher.submit(() => this.writeChunkNow(chunk, now));
  }

  private writeChunkNow(c: BackfillChunk, now: number): { job: BackfillJob; created: number } | null {
    const held = this.db
      .query("SELECT 1 FROM backfill_jobs WHERE id = ? AND status = 'running' AND lease_owner = ? AND lease_until = ?")
      .get(c.job_id, c.lease.owner, ms(c.lease.until));
    if (!held) return null;
    // Insert-if-absent per (event, destination), on deliveries_event: the table
    // has no unique key there (publish never needs one), and one writer at a time
    // makes the check and the insert one step.
    const insert = this.db.query(
      `INSERT INTO deliveries (id, event_id, destination_id, subscription_id, tenant, event_type, status, attempts,
         schedule_start, next_attempt_at, lease_until, lease_owner, last_status, last_error, created_at, updated_at, finalized_at, parked)
       SELECT $id, $event_id, $destination_id, $subscription_id, $tenant, $event_type, 'pending', 0, 0, $next_attempt_at,
         NULL, NULL, NULL, NULL, $created_at, $updated_at, NULL, ${parkedNow("$destination_id")}
       WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = $event_id AND destination_id = $destination_id)`,
    );
    let created = 0;
    for (const d of c.deliveries) {
      created += insert.run({
        id: d.id, event_id: d.event_id, destination_id: d.destination_id, subscription_id: d.subscription_id, tenant: d.tenant,
        event_type: d.event_type, next_attempt_at: ms(d.next_attempt_at ?? now), created_at: ms(d.created_at), updated_at: ms(d.updated_at),
      }).changes;
    }
    const row = this.db
      .query(
        `UPDATE backfill_jobs SET
           cursor_at = coalesce($cursor_at, cursor_at), cursor_id = coalesce($cursor_id, cursor_id),
           events_scanned = events_scanned + $scanned, deliveries_created = deliveries_created + $created,
           status = CASE WHEN $done THEN 'completed' ELSE status END,
           finished_at = CASE WHEN $done THEN $now ELSE NULL END,
           lease_owner = CASE WHEN $done THEN NULL ELSE $owner END,
           lease_until = CASE WHEN $done THEN NULL ELSE $renew END,
           updated_at = $now
         WHERE id = $id
         RETURNING *`,
      )
      .get({
        id: c.job_id, cursor_at: c.cursor ? ms(c.cursor.at) : null, cursor_id: c.cursor?.id ?? null, scanned: c.scanned, created,
        done: c.done ? 1 : 0, now: ms(now), owner: c.lease.owner, renew: ms(c.renew_until),
      });
    return { job: toJob(row), created };
  }

  async finish(
    id: string, status: Exclude<BackfillStatus, "running" | "completed">, error: string | null, now: number,
    options: { lease?: Lease; tenant?: string | null },
  ): Promise<BackfillJob | null> {
    const { where, params } = conditions([
      ["id = $id", "id", id],
      ["status = 'running'", "", "running"],
      ["lease_owner = $owner", "owner", options.lease?.owner],
      ["lease_until = $until", "until", options.lease ? ms(options.lease.until) : undefined],
      ["tenant = $tenant", "tenant", options.tenant ?? undefined],
    ]);
    const row = this.db
      .query(`UPDATE backfill_jobs SET status = $status, error = $error, finished_at = $now, updated_at = $now,
         lease_owner = NULL, lease_until = NULL ${where} RETURNING *`)
      .get({ ...params, status, error, now: ms(now) });
    return row ? toJob(row) : null;
  }

  async deleteFinishedBefore(cutoff: number): Promise<number> {
    return this.db.query("DELETE FROM backfill_jobs WHERE finished_at IS NOT NULL AND finished_at < ?").run(ms(cutoff)).changes;
  }
}

function jobParams(j: BackfillJob): Record<string, string | number | null> {
  return {
    id: j.id, subscription_id: j.subscription_id, destination_id: j.destination_id, tenant: j.tenant, since: ms(j.since),
    until: ms(j.until), status: j.status, cursor_at: j.cursor_at === null ? null : ms(j.cursor_at), cursor_id: j.cursor_id,
    events_scanned: j.events_scanned, deliveries_created: j.deliveries_created, lease_owner: j.lease_owner,
    lease_until: j.lease_until === null ? null : ms(j.lease_until), error: j.error, created_at: ms(j.created_at),
    updated_at: ms(j.updated_at), finished_at: j.finished_at === null ? null : ms(j.finished_at),
  };
}

function toJob(row: any): BackfillJob {
  return {
    id: row.id, subscription_id: row.subscription_id, destination_id: row.destination_id, tenant: row.tenant, since: row.since,
    until: row.until, status: row.status, cursor_at: row.cursor_at, cursor_id: row.cursor_id, events_scanned: row.events_scanned,
    deliveries_created: row.deliveries_created, lease_owner: row.lease_owner, lease_until: row.lease_until, error: row.error,
    created_at: row.created_at, updated_at: row.updated_at, finished_at: row.finished_at,
  };
}
