// The SQLite store's log: events, deliveries and attempts read back, and the
// figures over them (counts by state, stats by time bucket, a destination's health).
import type { Database } from "bun:sqlite";
import type { HealthFilter, LogStore, QueueFigures } from "../store.ts";
import { HEALTH_COUNT_COLUMNS, healthCounts } from "../health-counts.ts";
import type { Attempt, AttemptBucket, Delivery, DeliveryFilter, DeliveryStats, DeliveryStatus, DestinationHealth, DestinationLoad, EventFilter, HeraldEvent, Page } from "../types.ts";
import type { HealthSamples } from "./health-samples.ts";
import { DELIVERY_COLUMNS, toAttempt, toDelivery, toEvent } from "./rows.ts";
import { conditions, createdWithin, ms, page, statusCounts, statusTerm } from "./sql.ts";

// Reads the queue also makes inside its own transactions (a repeated publish, a refused retry).
export function readEvent(db: Database, id: string): HeraldEvent | null {
  const row = db.query("SELECT id, type, tenant, data, created_at, deliver_at FROM events WHERE id = ?").get(id);
  return row ? toEvent(row) : null;
}

export function readDelivery(db: Database, id: string): Delivery | null {
  const row = db.query(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`).get(id);
  return row ? toDelivery(row) : null;
}

export function readDeliveriesOfEvent(db: Database, eventId: string): Delivery[] {
  return db.query(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE event_id = ? ORDER BY id`).all(eventId).map(toDelivery);
}

/**
 * LogStore.destinationsHealth as one statement for every destination asked (exported
 * for its plan: the tests and bench/health-history.ts), each part on an index: the
 * destinations by primary key, their counts from one range of deliveries_destination
 * (destination_id, id) per id, grouped by destination, and each one's newest success
 * and failure by subqueries walking that index backwards (the failure as one JSON
 * pair: a scalar subquery has one column).
 */
export function destinationsHealthRead(filter: HealthFilter): { sql: string; params: Record<string, string | number> } {
  const ids = "IN (SELECT value FROM json_each($ids))";
  const window = conditions([[`destination_id ${ids}`, "ids", JSON.stringify(filter.ids)], ...createdWithin(filter.since, filter.until)]);
  const sql = `SELECT d.id AS destination_id, c.*,
      (SELECT finalized_at FROM deliveries WHERE destination_id = d.id AND status = 'succeeded' ORDER BY id DESC LIMIT 1) AS last_success_at,
      (SELECT json_array(a.started_at, a.error) FROM attempts a WHERE a.delivery_id IN (
         SELECT id FROM deliveries WHERE destination_id = d.id AND last_error IS NOT NULL ORDER BY id DESC LIMIT 20)
       AND a.error IS NOT NULL ORDER BY a.started_at DESC LIMIT 1) AS last_failure
    FROM destinations d
    LEFT JOIN (SELECT destination_id AS counted, ${HEALTH_COUNT_COLUMNS} FROM deliveries ${window.where} GROUP BY destination_id) c ON c.counted = d.id
    WHERE d.id ${ids}${filter.tenant === undefined ? "" : " AND d.tenant = $tenant"}`;
  return { sql, params: { ...window.params, ...(filter.tenant === undefined ? {} : { tenant: filter.tenant }) } };
}

export class SqliteLog implements LogStore {
  constructor(
    private readonly db: Database,
    /** Endpoint health's samples not yet written (health-samples.ts): the health read writes them first. */
    private readonly healthSamples: HealthSamples,
  ) {}

  async getEvent(id: string): Promise<HeraldEvent | null> {
    return readEvent(this.db, id);
  }

  async listEvents(filter: EventFilter): Promise<Page<HeraldEvent>> {
    const { where, params } = conditions([
      ["type = $type", "type", filter.type],
      ["tenant = $tenant", "tenant", filter.tenant],
      ["created_at >= $since", "since", filter.since],
      ["created_at < $until", "until", filter.until],
      ["id < $cursor", "cursor", filter.cursor],
    ]);
    const rows = this.db
      .query(`SELECT id, type, tenant, data, created_at, deliver_at FROM events ${where} ORDER BY id DESC LIMIT ${filter.limit + 1}`)
      .all(params);
    return page(rows.map(toEvent), filter.limit, (e) => e.id);
  }

  async orderedHead(destinationId: string): Promise<{ head: Delivery; waiting: number } | null> {
    const row = this.db
      .query(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = (SELECT min(id) FROM (
           SELECT min(id) AS id FROM deliveries INDEXED BY deliveries_waiting WHERE destination_id = $d AND status = 'pending'
           UNION ALL SELECT min(id) FROM deliveries INDEXED BY deliveries_leased WHERE destination_id = $d AND status = 'delivering'))`,
      )
      .get({ d: destinationId });
    if (!row) return null;
    const { n } = this.db
      .query("SELECT count(*) AS n FROM deliveries INDEXED BY deliveries_leased WHERE destination_id = $d AND status = 'delivering'")
      .get({ d: destinationId }) as { n: number };
    const { m } = this.db
      .query("SELECT count(*) AS m FROM deliveries INDEXED BY deliveries_waiting WHERE destination_id = $d AND status = 'pending'")
      .get({ d: destinationId }) as { m: number };
    return { head: toDelivery(row), waiting: n + m - 1 };
  }

  async getDelivery(id: string): Promise<Delivery | null> {
    return readDelivery(this.db, id);
  }

  async deliveriesOfEvent(eventId: string): Promise<Delivery[]> {
    return readDeliveriesOfEvent(this.db, eventId);
  }

  async listDeliveries(filter: DeliveryFilter): Promise<Page<Delivery>> {
    const { where, params } = conditions([
      [statusTerm(filter.status), "", filter.status],
      ["destination_id = $destination_id", "destination_id", filter.destination_id],
      ["event_id = $event_id", "event_id", filter.event_id],
      ["event_type = $event_type", "event_type", filter.event_type],
      ["tenant = $tenant", "tenant", filter.tenant],
      ...createdWithin(filter.since, filter.until),
      ["id < $cursor", "cursor", filter.cursor],
    ]);
    // Delivering rows are few (leased, at most the dispatcher's capacity) but may be
    // the oldest of a large backlog: sorting them beats walking every newer row.
    const from = filter.status === "delivering" ? "deliveries INDEXED BY deliveries_leased" : "deliveries";
    const rows = this.db.query(`SELECT ${DELIVERY_COLUMNS} FROM ${from} ${where} ORDER BY id DESC LIMIT ${filter.limit + 1}`).all(params);
    return page(rows.map(toDelivery), filter.limit, (d) => d.id);
  }

  async attemptsOf(deliveryId: string): Promise<Attempt[]> {
    return this.db.query("SELECT * FROM attempts WHERE delivery_id = ? ORDER BY number").all(deliveryId).map(toAttempt);
  }

  /**
   * The first entry of deliveries_due (partial on pending, by next_attempt_at),
   * the first of each held destination's parked rows (one seek each in
   * deliveries_parked: the oldest due counts rows held by a disabled destination
   * or an open breaker too), and the few rows of destinations_breaker_open:
   * microseconds at any size.
   */
  async queueFigures(now: number): Promise<QueueFigures> {
    // Named: without statistics the planner took deliveries_open and sorted every pending row (57 ms at 100,000).
    const first = this.db
      .query(
        `SELECT min(at) AS at FROM (
           SELECT * FROM (SELECT next_attempt_at AS at FROM deliveries INDEXED BY deliveries_due
             WHERE status = 'pending' AND parked = 0 ORDER BY next_attempt_at LIMIT 1)
           UNION ALL
           SELECT (SELECT min(next_attempt_at) FROM deliveries INDEXED BY deliveries_parked
             WHERE destination_id = x.id AND status = 'pending' AND parked = 1)
           FROM destinations x WHERE x.park_state <> 0)`,
      )
      .get() as { at: number | null };
    const due = { at: first.at !== null && first.at <= ms(now) ? first.at : null };
    const breakers = this.db
      .query("SELECT count(*) AS open, count(breaker_probe_started_at) AS half_open FROM destinations WHERE breaker_opened_at IS NOT NULL")
      .get() as { open: number; half_open: number };
    return { oldest_due_at: due.at, breakers: { open: breakers.open - breakers.half_open, half_open: breakers.half_open } };
  }

  /** Counts deliveries by state, for metrics and the console. */
  async countDeliveriesByStatus(destinationId?: string): Promise<Record<string, number>> {
    if (destinationId) {
      const rows = this.db.query("SELECT status, count(*) AS n FROM deliveries WHERE destination_id = ? GROUP BY status").all(destinationId);
      return Object.fromEntries((rows as { status: string; n: number }[]).map((r) => [r.status, r.n]));
    }
    // No index holds every status (migration 3): the few states come from their
    // partial indexes, succeeded is the rest of a count(*), which SQLite answers
    // by counting the cells of the smallest index (~10 ms for a million rows).
    const counts: Record<string, number> = {};
    const few = this.db
      .query("SELECT status, count(*) AS n FROM deliveries WHERE status = 'pending' OR status = 'failed' OR status = 'cancelled' GROUP BY status")
      .all() as { status: string; n: number }[];
    for (const r of few) counts[r.status] = r.n;
    const count = (sql: string) => (this.db.query(sql).get() as { n: number }).n;
    const delivering = count("SELECT count(*) AS n FROM deliveries WHERE status = 'delivering'");
    if (delivering) counts.delivering = delivering;
    const succeeded = count("SELECT count(*) AS n FROM deliveries") - delivering - few.reduce((sum, r) => sum + r.n, 0);
    if (succeeded) counts.succeeded = succeeded;
    return counts;
  }

  /** Deliveries created in [since, until), optionally of one tenant or destination, by state and by bucket. */
  async deliveryStats(filter: { tenant?: string; destination_id?: string; since: number; until: number; bucket_ms: number }): Promise<DeliveryStats> {
    const { where, params } = conditions([
      ...createdWithin(filter.since, filter.until),
      ["tenant = $tenant", "tenant", filter.tenant],
      ["destination_id = $destination_id", "destination_id", filter.destination_id],
    ]);
    const counts = this.db.query(`SELECT status, count(*) AS n FROM deliveries ${where} GROUP BY status`).all(params) as { status: DeliveryStatus; n: number }[];
    const series = this.db
      .query(
        `SELECT (created_at / $bucket) * $bucket AS start, sum(status = 'succeeded') AS succeeded, sum(status = 'failed') AS failed,
           sum(status IN ('pending', 'delivering') AND attempts > 0) AS retrying
         FROM deliveries ${where} GROUP BY 1 ORDER BY 1`,
      )
      .all({ ...params, bucket: filter.bucket_ms }) as DeliveryStats["series"];
    return { counts: statusCounts(counts), retrying: series.reduce((sum, b) => sum + b.retrying, 0), series };
  }

  async destinationsHealth(filter: HealthFilter): Promise<Map<string, DestinationHealth>> {
    if (filter.ids.length === 0) return new Map();
    const { sql, params } = destinationsHealthRead(filter);
    const rows = this.db.query(sql).all(params) as ({ destination_id: string; last_success_at: number | null; last_failure: string | null } & Record<string, unknown>)[];
    return new Map(
      rows.map((r) => {
        const failure = r.last_failure === null ? null : (JSON.parse(r.last_failure) as [number, string]);
        return [r.destination_id, { ...healthCounts(r), last_success_at: r.last_success_at, last_failure_at: failure?.[0] ?? null, last_error: failure?.[1] ?? null }];
      }),
    );
  }

  /**
   * Percentiles in SQL: each bucket's durations ranked by a window function, the
   * nearest-rank p50/p95 picked by rank (ceil(p·n), as PostgreSQL's percentile_disc).
   * The window is one range of attempt_health (destination_id, started_at),
   * whatever the history kept (migration 22); this instance's samples not yet
   * written are written first (health-samples.ts).
   */
  async attemptBuckets(destinationId: string, since: number, until: number, bucket_ms: number): Promise<AttemptBucket[]> {
    await this.healthSamples.flush();
    return this.db
      .query(
        `WITH tried AS (
           SELECT (started_at / $bucket) * $bucket AS start, duration_ms AS ms, ok
           FROM attempt_health WHERE destination_id = $destination AND started_at >= $since AND started_at < $until),
         ranked AS (
           SELECT start, ms, ok, row_number() OVER (PARTITION BY start ORDER BY ms) AS rank, count(*) OVER (PARTITION BY start) AS n FROM tried)
         SELECT start, n AS attempts, sum(ok) AS succeeded,
           max(CASE WHEN rank = (n * 50 + 99) / 100 THEN ms END) AS p50_ms,
           max(CASE WHEN rank = (n * 95 + 99) / 100 THEN ms END) AS p95_ms
         FROM ranked GROUP BY start ORDER BY start`,
      )
      .all({ bucket: Math.max(1, Math.round(bucket_ms)), destination: destinationId, since: Math.round(since), until: Math.round(until) }) as AttemptBucket[];
  }

  async inFlight(destinationIds: string[]): Promise<Map<string, number>> {
    if (destinationIds.length === 0) return new Map();
    const rows = this.db
      .query(
        `SELECT destination_id, count(*) AS n FROM deliveries INDEXED BY deliveries_leased
         WHERE destination_id IN (SELECT value FROM json_each(?)) AND status = 'delivering' GROUP BY destination_id`,
      )
      .all(JSON.stringify(destinationIds)) as { destination_id: string; n: number }[];
    return new Map(rows.map((r) => [r.destination_id, r.n]));
  }

  async destinationLoad(destinationId: string, now: number): Promise<DestinationLoad> {
    // Each count from its own partial index (deliveries_leased, deliveries_waiting).
    const { in_flight } = this.db
      .query("SELECT count(*) AS in_flight FROM deliveries INDEXED BY deliveries_leased WHERE destination_id = ? AND status = 'delivering'")
      .get(destinationId) as { in_flight: number };
    const { due } = this.db
      .query("SELECT count(*) AS due FROM deliveries INDEXED BY deliveries_waiting WHERE destination_id = ? AND status = 'pending' AND next_attempt_at <= ?")
      .get(destinationId, Math.round(now)) as { due: number };
    return { in_flight, due };
  }
}
