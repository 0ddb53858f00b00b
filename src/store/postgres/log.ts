// The log on PostgreSQL: events, deliveries and attempts read back, newest
// first in pages by id, and the figures over them (counts, series, health).
import type { SQL, SQLArrayParameter } from "bun";
import { idFloor } from "../ids.ts";
import type { HealthFilter, LogStore, QueueFigures } from "../store.ts";
import { HEALTH_COUNT_COLUMNS, healthCounts } from "../health-counts.ts";
import type {
  Attempt, AttemptBucket, Delivery, DeliveryFilter, DeliveryStats, DeliveryStatus, DestinationHealth, DestinationLoad, EventFilter, HeraldEvent, Page, StatusCounts,
} from "../types.ts";
import { DELIVERY_STATUSES } from "../types.ts";
import { type Condition, guarded, limitOf, page, where } from "./query.ts";
import { num, toAttempt, toDelivery, toEvent } from "./rows.ts";

/**
 * LogStore.destinationsHealth as one statement for every destination asked, as in
 * SQLite's store (exported for its plan: bench/health-history.ts): the
 * destinations by primary key, their counts from deliveries_destination
 * (destination_id, id) grouped by destination, and each one's newest success and
 * failure by lateral reads walking that index backwards.
 */
export function destinationsHealthRead(filter: HealthFilter, array: (ids: string[]) => SQLArrayParameter): { sql: string; values: unknown[] } {
  const ids = array(filter.ids);
  const window = where([["destination_id = ANY(?)", ids], ...createdWithin(filter.since, filter.until)]);
  const chosen = where([["d.id = ANY(?)", ids], ["d.tenant = ?", filter.tenant]], window.values.length + 1);
  const sql = `SELECT d.id AS destination_id, c.*, s.finalized_at AS last_success_at, f.started_at AS last_failure_at, f.error AS last_error
    FROM destinations d
    LEFT JOIN (SELECT destination_id AS counted, ${HEALTH_COUNT_COLUMNS} FROM deliveries ${window.clause} GROUP BY destination_id) c ON c.counted = d.id
    LEFT JOIN LATERAL (SELECT finalized_at FROM deliveries WHERE destination_id = d.id AND status = 'succeeded' ORDER BY id DESC LIMIT 1) s ON true
    LEFT JOIN LATERAL (SELECT a.started_at, a.error FROM attempts a WHERE a.delivery_id IN (
        SELECT id FROM deliveries WHERE destination_id = d.id AND last_error IS NOT NULL ORDER BY id DESC LIMIT 20)
      AND a.error IS NOT NULL ORDER BY a.started_at DESC LIMIT 1) f ON true
    ${chosen.clause}`;
  return { sql, values: [...window.values, ...chosen.values] };
}

export class PostgresLog implements LogStore {
  constructor(private readonly sql: SQL) {}

  getEvent(id: string): Promise<HeraldEvent | null> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT id, type, tenant, data, created_at, deliver_at FROM events WHERE id = ${id}`;
      return row ? toEvent(row) : null;
    });
  }

  listEvents(filter: EventFilter): Promise<Page<HeraldEvent>> {
    const { clause, values } = where([
      ["type = ?", filter.type],
      ["tenant = ?", filter.tenant],
      ["created_at >= ?", filter.since],
      ["created_at < ?", filter.until],
      ["id < ?", filter.cursor],
    ]);
    return guarded(async () => {
      const rows = await this.sql.unsafe(
        `SELECT id, type, tenant, data, created_at, deliver_at FROM events ${clause} ORDER BY id DESC LIMIT ${limitOf(filter.limit)}`,
        values,
      );
      return page(rows.map(toEvent), filter.limit, (e) => e.id);
    });
  }

  orderedHead(destinationId: string): Promise<{ head: Delivery; waiting: number } | null> {
    return guarded(async () => {
      // Pending and delivering apart, each matching one partial index (migration 5).
      const [row] = await this.sql`SELECT d.*,
          (SELECT count(*) FROM deliveries WHERE destination_id = ${destinationId} AND status = 'pending')
            + (SELECT count(*) FROM deliveries WHERE destination_id = ${destinationId} AND status = 'delivering') - 1 AS waiting_behind
        FROM deliveries d WHERE d.id = LEAST(
          (SELECT min(id) FROM deliveries WHERE destination_id = ${destinationId} AND status = 'pending'),
          (SELECT min(id) FROM deliveries WHERE destination_id = ${destinationId} AND status = 'delivering'))`;
      return row ? { head: toDelivery(row), waiting: Number(row.waiting_behind) } : null;
    });
  }

  getDelivery(id: string): Promise<Delivery | null> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT * FROM deliveries WHERE id = ${id}`;
      return row ? toDelivery(row) : null;
    });
  }

  deliveriesOfEvent(eventId: string): Promise<Delivery[]> {
    return guarded(async () => (await this.sql`SELECT * FROM deliveries WHERE event_id = ${eventId} ORDER BY id`).map(toDelivery));
  }

  listDeliveries(filter: DeliveryFilter): Promise<Page<Delivery>> {
    if (filter.status !== undefined && !DELIVERY_STATUSES.includes(filter.status)) throw new Error(`unknown delivery status ${filter.status}`);
    const { clause, values } = where([
      ["status = ?", filter.status],
      ["destination_id = ?", filter.destination_id],
      ["event_id = ?", filter.event_id],
      ["event_type = ?", filter.event_type],
      ["tenant = ?", filter.tenant],
      ...createdWithin(filter.since, filter.until),
      ["id < ?", filter.cursor],
    ]);
    return guarded(async () => {
      const rows = await this.sql.unsafe(`SELECT * FROM deliveries ${clause} ORDER BY id DESC LIMIT ${limitOf(filter.limit)}`, values);
      return page(rows.map(toDelivery), filter.limit, (d) => d.id);
    });
  }

  attemptsOf(deliveryId: string): Promise<Attempt[]> {
    return guarded(async () => (await this.sql`SELECT * FROM attempts WHERE delivery_id = ${deliveryId} ORDER BY number`).map(toAttempt));
  }

  /**
   * The first entry of deliveries_due (partial on pending and unparked), the
   * first of each held destination's parked rows (deliveries_parked: the oldest
   * due counts rows held by a disabled destination or an open breaker too), and
   * the few rows of destinations_breaker_open.
   */
  queueFigures(now: number): Promise<QueueFigures> {
    return guarded(async () => {
      // The first entry of each partial index, as the SQLite store reads them.
      const [first] = await this.sql`SELECT least(
          (SELECT next_attempt_at FROM deliveries WHERE status = 'pending' AND NOT parked ORDER BY next_attempt_at LIMIT 1),
          (SELECT min((SELECT min(p.next_attempt_at) FROM deliveries p WHERE p.destination_id = x.id AND p.status = 'pending' AND p.parked))
            -- park_state <> 0, written as the predicates of destinations_parking and
            -- destinations_moving so the planner can read both partial indexes.
            FROM destinations x WHERE x.park_state IN (1, 2) OR x.park_state IN (2, 3))) AS at`;
      const due = { at: first.at !== null && num(first.at) <= now ? first.at : null };
      const [breakers] = await this.sql`SELECT count(*) AS open, count(breaker_probe_started_at) AS half_open
        FROM destinations WHERE breaker_opened_at IS NOT NULL`;
      const halfOpen = num(breakers.half_open);
      return {
        oldest_due_at: due.at === null ? null : num(due.at),
        breakers: { open: num(breakers.open) - halfOpen, half_open: halfOpen },
      };
    });
  }

  countDeliveriesByStatus(destinationId?: string): Promise<Record<string, number>> {
    return guarded(async () => {
      const rows = destinationId === undefined
        ? await this.sql`SELECT status, count(*) AS n FROM deliveries GROUP BY status`
        : await this.sql`SELECT status, count(*) AS n FROM deliveries WHERE destination_id = ${destinationId} GROUP BY status`;
      return Object.fromEntries(rows.map((r: { status: string; n: string }) => [r.status, num(r.n)]));
    });
  }

  deliveryStats(filter: { tenant?: string; destination_id?: string; since: number; until: number; bucket_ms: number }): Promise<DeliveryStats> {
    const terms: Condition[] = [
      ...createdWithin(filter.since, filter.until),
      ["tenant = ?", filter.tenant],
      ["destination_id = ?", filter.destination_id],
    ];
    const { clause, values } = where(terms);
    const numberedAfterBucket = where(terms, 2).clause;
    const bucket = Math.max(1, Math.round(filter.bucket_ms));
    return guarded(async () => {
      const counts = await this.sql.unsafe(`SELECT status, count(*) AS n FROM deliveries ${clause} GROUP BY status`, values);
      const series = await this.sql.unsafe(
        `SELECT (created_at / $1) * $1 AS start,
           count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           count(*) FILTER (WHERE status IN ('pending', 'delivering') AND attempts > 0) AS retrying
         FROM deliveries ${numberedAfterBucket} GROUP BY 1 ORDER BY 1`,
        [bucket, ...values],
      );
      const shaped = series.map((r: Record<string, string>) => ({
        start: num(r.start), succeeded: num(r.succeeded), failed: num(r.failed), retrying: num(r.retrying),
      }));
      return {
        counts: statusCounts(counts),
        retrying: shaped.reduce((sum: number, b: { retrying: number }) => sum + b.retrying, 0),
        series: shaped,
      };
    });
  }

  destinationsHealth(filter: HealthFilter): Promise<Map<string, DestinationHealth>> {
    if (filter.ids.length === 0) return Promise.resolve(new Map());
    const { sql, values } = destinationsHealthRead(filter, (ids) => this.sql.array(ids, "TEXT"));
    return guarded(async () => {
      const rows = await this.sql.unsafe(sql, values);
      return new Map<string, DestinationHealth>(
        rows.map((r: Record<string, string | null>) => [
          r.destination_id!,
          {
            ...healthCounts(r),
            last_success_at: r.last_success_at === null ? null : num(r.last_success_at),
            last_failure_at: r.last_failure_at === null ? null : num(r.last_failure_at),
            last_error: r.last_error,
          },
        ]),
      );
    });
  }

  /**
   * Each bucket's nearest-rank percentiles by percentile_disc (the smallest
   * duration with at least p of them at or below it). Each attempt names its
   * destination (migration 13): the window is one range of attempts_destination
   * (destination_id, started_at), as in SQLite's store.
   */
  attemptBuckets(destinationId: string, since: number, until: number, bucket_ms: number): Promise<AttemptBucket[]> {
    const bucket = Math.max(1, Math.round(bucket_ms));
    return guarded(async () => {
      const rows = await this.sql`SELECT (started_at / ${bucket}) * ${bucket} AS start, count(*) AS attempts,
          count(*) FILTER (WHERE error IS NULL AND response_status BETWEEN 200 AND 299) AS succeeded,
          percentile_disc(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50_ms,
          percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) AS p95_ms
        FROM attempts
        WHERE destination_id = ${destinationId} AND started_at >= ${Math.round(since)} AND started_at < ${Math.round(until)}
        GROUP BY 1 ORDER BY 1`;
      return rows.map((r: Record<string, string | null>) => ({
        start: num(r.start!), attempts: num(r.attempts!), succeeded: num(r.succeeded!),
        p50_ms: r.p50_ms === null ? null : num(r.p50_ms!), p95_ms: r.p95_ms === null ? null : num(r.p95_ms!),
      }));
    });
  }

  inFlight(destinationIds: string[]): Promise<Map<string, number>> {
    if (destinationIds.length === 0) return Promise.resolve(new Map());
    return guarded(async () => {
      const rows = await this.sql`SELECT destination_id, count(*) AS n FROM deliveries
        WHERE destination_id = ANY(${this.sql.array(destinationIds, "TEXT")}) AND status = 'delivering' GROUP BY destination_id`;
      return new Map<string, number>(rows.map((r: { destination_id: string; n: string }) => [r.destination_id, num(r.n)]));
    });
  }

  destinationLoad(destinationId: string, now: number): Promise<DestinationLoad> {
    return guarded(async () => {
      // Each count from its own partial index (deliveries_leased, deliveries_waiting).
      const [row] = await this.sql`SELECT
          (SELECT count(*) FROM deliveries WHERE destination_id = ${destinationId} AND status = 'delivering') AS in_flight,
          (SELECT count(*) FROM deliveries WHERE destination_id = ${destinationId} AND status = 'pending' AND next_attempt_at <= ${Math.round(now)}) AS due`;
      return { in_flight: num(row.in_flight), due: num(row.due) };
    });
  }
}

function statusCounts(rows: { status: DeliveryStatus; n: string }[]): StatusCounts {
  const counts = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as StatusCounts;
  for (const row of rows) counts[row.status] = num(row.n);
  return counts;
}

/**
 * Deliveries created in [since, until). Their ids are UUIDv7 made from
 * created_at (ids.ts), so the id range uses the primary key and the created_at
 * terms keep the window exact.
 */
export function createdWithin(since: number | undefined, until: number | undefined): Condition[] {
  return [
    ["id >= ?", since === undefined ? undefined : idFloor("dlv", since)],
    ["id < ?", until === undefined ? undefined : idFloor("dlv", until)],
    ["created_at >= ?", since],
    ["created_at < ?", until],
  ];
}
