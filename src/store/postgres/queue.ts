// The job table on PostgreSQL: publishing (gathered), claiming due deliveries
// under a lease with FOR UPDATE SKIP LOCKED, recording attempts (gathered),
// handing leases back, and the instances whose leases they are.
import type { SQL } from "bun";
import { stillHeld } from "../lease-held.ts";
import type { ParkingSettled, QueueStore } from "../store.ts";
import type {
  AttemptRecord, BreakerSettings, Delivery, DeliveryJob, EventForDelivery, Lease, NewEvent, PublishResult, RecordedAttempt, RetryRefusal, RetrySelection,
} from "../types.ts";
import { recordAll } from "./attempts.ts";
import { Gatherer } from "./gather.ts";
import { Instances } from "./instances.ts";
import { createdWithin } from "./log.ts";
import { parkedNow, settleParking } from "./parking.ts";
import { publishBatch } from "./publish.ts";
import { guarded, where } from "./query.ts";
import { inTransaction } from "./transactions.ts";
import { toDelivery, toEventForDelivery } from "./rows.ts";

export interface QueueOptions {
  /** Most publishes (or attempt records) in one gathered transaction; 1 turns gathering off (for measuring). */
  batch_max: number;
  /** Gathered transactions that may run at once, each on its own pooled connection. */
  batch_in_flight: number;
  /** Connections in the pool: how many sessions a server restart may have left stale. */
  pool_size?: number;
}

/**
 * Runs the claim with sorting made the planner's last resort, so that `due`
 * walks deliveries_due in its order and stops at the LIMIT. Left to its
 * estimates, the planner reads and sorts the whole backlog for every claim
 * whenever it believes fewer rows are due than the claim asks for: on a
 * table it has no statistics of yet (a pending row is then 0.5 % of the
 * table) and, with statistics, when the deliveries go to one or a few
 * destinations (it then expects the held-destination filter to remove nearly
 * all of them). A claim of 1,000 rows of a 108,000-row backlog read all
 * 108,000 and sorted them on disk (bench/README.md, "PostgreSQL: where the
 * server's time goes"). JIT goes off with it: a plan whose cost holds the
 * penalty of a sort would be compiled by LLVM first (over a second a claim).
 * Both settings are local: they end with the transaction.
 */
async function inDueOrder<T>(sql: SQL, claim: (tx: SQL) => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`SELECT set_config('enable_sort', 'off', true), set_config('jit', 'off', true)`;
    return claim(tx);
  });
}

export class PostgresQueue implements QueueStore {
  readonly instances: Instances;
  private readonly publishes: Gatherer<NewEvent, PublishResult>;
  private readonly attempts: Gatherer<{ record: AttemptRecord; now: number }, RecordedAttempt>;
  /** Other instances share the database, as the last countInstances found. */
  private shared = false;

  constructor(private readonly sql: SQL, options: QueueOptions) {
    this.instances = new Instances(sql);
    // One more try than the pool has connections: every stale session may be met once.
    const tries = Math.max(5, (options.pool_size ?? 0) + 1);
    const publish = (items: NewEvent[]) => publishBatch(sql, items, tries);
    this.publishes = new Gatherer({
      batch: publish,
      one: async (item) => (await publish([item]))[0]!,
      max: options.batch_max,
      inFlight: options.batch_in_flight,
      // Three instances' single publishes, each instance up to two small
      // batches at once, cost the server and the Heralds about twice the
      // CPU a publish that one instance alone costs (bench/README.md, "one
      // publish transaction at a time"). Alone, the second hides the first's round trip.
      fullOnlyBeside: () => this.shared,
    });
    this.attempts = new Gatherer({
      batch: (items) => inTransaction(sql, (tx) => recordAll(tx, items)),
      one: async (item) => (await inTransaction(sql, (tx) => recordAll(tx, [item])))[0]!,
      max: options.batch_max,
      inFlight: options.batch_in_flight,
    });
  }

  /** Everything gathered has been written (close waits for it). */
  async drain(): Promise<void> {
    await Promise.all([this.publishes.drained(), this.attempts.drained()]);
  }

  publish(item: NewEvent): Promise<PublishResult> {
    return guarded(() => this.publishes.submit(item));
  }

  /** Each gathered as a publish is: the gatherer already writes up to batch_max of them in one transaction. */
  publishMany(items: NewEvent[]): Promise<PublishResult[]> {
    return Promise.all(items.map((item) => this.publish(item)));
  }

  /**
   * One statement. The CTE picks the earliest due rows and locks them FOR UPDATE
   * SKIP LOCKED: rows that another instance's claim has locked at this moment are
   * passed over instead of waited for, so claimers on separate connections get
   * disjoint rows without queueing behind each other. (A CTE rather than
   * `id IN (subquery)`: it is evaluated once, whatever plan the outer UPDATE gets.)
   * Deliveries of disabled destinations wait, and so do those of destinations
   * whose breaker is open, but for one probe each per interval: `probe_grants`
   * moves breaker_probe_at on in this same statement, and a claim racing on
   * another instance waits for that row, sees the moved time and grants nothing
   * (READ COMMITTED rechecks the WHERE on the row's latest version). A probe
   * for an ordered destination is its head; a limited destination with a
   * delivery leased gets none (a probe is one more request in flight).
   * Limited destinations (max_in_flight, ordered) are claimed first, apart
   * (claimLimited), and this statement passes them over. Deliveries of deleted
   * destinations are claimed and cancelled by the dispatcher (cancelOrphan).
   */
  claimDue(now: number, lease: Lease, limit: number, breaker?: BreakerSettings, anyLimited = true): Promise<DeliveryJob[]> {
    const at = Math.round(now);
    const probing = breaker !== undefined;
    const nextProbe = Math.round(now + (breaker?.probe_every_ms ?? 0));
    return guarded(async () => {
      // No limited destination in the caller's catalogue: no round trip to look for them.
      const held: Delivery[] = anyLimited ? await this.claimLimited(at, lease, Math.max(0, Math.floor(limit))) : [];
      const room = Math.max(0, Math.floor(limit) - held.length);
      const rows = await inDueOrder(this.sql, (tx) => tx`WITH probe_grants AS (
          UPDATE destinations x SET breaker_probe_at = ${nextProbe}, breaker_probe_started_at = ${at}
          WHERE ${probing}::boolean AND x.breaker_opened_at IS NOT NULL AND x.enabled AND x.breaker_probe_at <= ${at}
            -- OFFSET 0 keeps this EXISTS a check per open-breaker destination
            -- (none, nearly always). Turned into a join, the planner could read
            -- every due row first and group them by destination: ~7,500
            -- buffers a claim at a 170,000-row backlog (bench/README.md).
            AND EXISTS (SELECT 1 FROM deliveries p WHERE p.destination_id = x.id AND p.status = 'pending' AND p.next_attempt_at <= ${at} OFFSET 0)
            AND (x.max_in_flight IS NULL AND NOT x.ordered
              OR NOT EXISTS (SELECT 1 FROM deliveries q WHERE q.destination_id = x.id AND q.status = 'delivering'))
          RETURNING x.id, x.ordered),
        probes AS (
          SELECT pick.id FROM probe_grants g CROSS JOIN LATERAL (
            SELECT p.id, p.next_attempt_at FROM deliveries p
            WHERE p.destination_id = g.id AND p.status = 'pending' AND (g.ordered OR p.next_attempt_at <= ${at})
            ORDER BY CASE WHEN g.ordered THEN 0 ELSE p.next_attempt_at END, p.id LIMIT 1
            FOR UPDATE SKIP LOCKED) pick
          WHERE pick.next_attempt_at <= ${at}),
        due AS (
          SELECT id, next_attempt_at FROM deliveries d
          -- NOT parked: a held destination's rows are parked (parking.ts), out of
          -- deliveries_due; the NOT EXISTS stays as the safety net for those not yet.
          WHERE status = 'pending' AND NOT parked AND next_attempt_at <= ${at}
            AND NOT EXISTS (SELECT 1 FROM destinations x WHERE x.id = d.destination_id
              AND (NOT x.enabled OR x.breaker_opened_at IS NOT NULL OR x.max_in_flight IS NOT NULL OR x.ordered))
          ORDER BY next_attempt_at, id
          LIMIT ${room}
          FOR UPDATE SKIP LOCKED),
        -- A destination being unparked (park_state 3): its due rows are left parked
        -- for the claim (parking.ts), read from deliveries_parked in the same order.
        -- The state written with destinations_moving's predicate too, so the planner
        -- may read that partial index (empty nearly always).
        unparking AS (
          SELECT u.id, u.next_attempt_at FROM destinations x CROSS JOIN LATERAL (
            SELECT p.id, p.next_attempt_at FROM deliveries p
            WHERE p.destination_id = x.id AND p.status = 'pending' AND p.parked AND p.next_attempt_at <= ${at}
            ORDER BY p.next_attempt_at, p.id LIMIT ${room}
            FOR UPDATE SKIP LOCKED) u
          WHERE x.park_state IN (2, 3) AND x.park_state = 3),
        taken AS (
          SELECT id FROM (SELECT id, next_attempt_at FROM due UNION ALL SELECT id, next_attempt_at FROM unparking) m
          ORDER BY next_attempt_at, id LIMIT ${room}),
        picked AS (SELECT id, false AS probe FROM taken UNION ALL SELECT id, true AS probe FROM probes)
        UPDATE deliveries SET status = 'delivering', lease_until = ${Math.round(lease.until)}, lease_owner = ${lease.owner},
          next_attempt_at = NULL, updated_at = ${at}, parked = false
        FROM picked WHERE deliveries.id = picked.id
        RETURNING deliveries.*, picked.probe AS claimed_as_probe`);
      const probes = new Set<string>(rows.filter((r: Record<string, unknown>) => r.claimed_as_probe).map((r: Record<string, unknown>) => r.id as string));
      const jobs = await this.attachEvents([...held, ...rows.map(toDelivery)]);
      const limited = new Set(held.map((d) => d.id));
      if (probes.size === 0 && limited.size === 0) return jobs;
      return jobs.map((job) =>
        probes.has(job.delivery.id) ? { ...job, probe: true } : limited.has(job.delivery.id) ? { ...job, limited: true } : job,
      );
    });
  }

  /**
   * The deliveries of limited destinations, within their limits across
   * instances. The limited destinations with due work are locked first (FOR
   * UPDATE SKIP LOCKED: one being claimed elsewhere right now is left to that
   * claim); the second statement then counts their leased rows in a snapshot
   * taken after the locks, so it sees every lease that an earlier holder of a
   * lock committed. max_in_flight: up to the limit less what is leased, earliest
   * published first; ordered: the head only (earliest waiting by id, the
   * publish order), when due and nothing of it is leased. Nothing to do (no
   * limited destination, nearly always) costs one read of an empty index.
   */
  private async claimLimited(at: number, lease: Lease, limit: number): Promise<Delivery[]> {
    if (limit === 0) return [];
    const candidates = await this.sql`SELECT id FROM destinations
      WHERE (max_in_flight IS NOT NULL OR ordered) AND enabled AND breaker_opened_at IS NULL`;
    if (candidates.length === 0) return [];
    const ids = candidates.map((r: { id: string }) => r.id);
    return inTransaction(this.sql, async (tx) => {
      const locked = await tx`SELECT id FROM destinations
        WHERE id = ANY(${tx.array(ids, "TEXT")}) AND (max_in_flight IS NOT NULL OR ordered) AND enabled AND breaker_opened_at IS NULL
        ORDER BY id FOR UPDATE SKIP LOCKED`;
      if (locked.length === 0) return [];
      const rows = await tx`WITH room AS (
          SELECT x.id, x.ordered,
            (CASE WHEN x.ordered THEN 1 ELSE x.max_in_flight END)
              - (SELECT count(*) FROM deliveries l WHERE l.destination_id = x.id AND l.status = 'delivering') AS free
          FROM destinations x WHERE x.id = ANY(${tx.array(locked.map((r: { id: string }) => r.id), "TEXT")})),
        picked AS (
          SELECT w.id FROM room r CROSS JOIN LATERAL (
            SELECT p.id, p.next_attempt_at FROM deliveries p
            WHERE p.destination_id = r.id AND p.status = 'pending' AND (r.ordered OR p.next_attempt_at <= ${at})
            ORDER BY p.id LIMIT greatest(r.free, 0)) w
          WHERE w.next_attempt_at <= ${at}
          LIMIT ${limit})
        UPDATE deliveries SET status = 'delivering', lease_until = ${Math.round(lease.until)}, lease_owner = ${lease.owner},
          next_attempt_at = NULL, updated_at = ${at}, parked = false
        FROM picked WHERE deliveries.id = picked.id AND deliveries.status = 'pending'
        RETURNING deliveries.*`;
      return rows.map(toDelivery);
    });
  }

  settleParking(budget: number, verify: boolean, now: number): Promise<ParkingSettled> {
    return guarded(() => settleParking(this.sql, budget, verify, Math.round(now)));
  }

  openBreakers(): Promise<string[]> {
    return guarded(async () => (await this.sql`SELECT id FROM destinations WHERE breaker_opened_at IS NOT NULL`).map((r: { id: string }) => r.id));
  }

  /** Reads the events of these deliveries in one query, for the sender. */
  private async attachEvents(deliveries: Delivery[]): Promise<DeliveryJob[]> {
    if (deliveries.length === 0) return [];
    const ids = [...new Set(deliveries.map((d) => d.event_id))];
    const rows = await this.sql`SELECT id, type, created_at, data AS data_json FROM events WHERE id = ANY(${this.sql.array(ids, "TEXT")})`;
    const events = new Map<string, EventForDelivery>(rows.map((row: Record<string, unknown>) => [row.id as string, toEventForDelivery(row)]));
    // Earliest due first, as claimed (RETURNING promises no order).
    return deliveries.flatMap((d) => {
      const event = events.get(d.event_id);
      return event ? [{ delivery: d, event }] : [];
    });
  }

  readLeased(owner: string, leases: Map<string, number>): Promise<DeliveryJob[]> {
    if (leases.size === 0) return Promise.resolve([]);
    return guarded(async () => {
      // Read by primary key alone; which rows still hold their lease is decided
      // here. With the lease test in its WHERE the planner, its statistics
      // taken before the burst, looped over every leased row of deliveries_leased
      // and matched each against the whole list: 787 ms for 1,000 rows at a
      // 20,000-row backlog (bench/README.md), as the records' UPDATE once did.
      const rows = await this.sql`SELECT * FROM deliveries WHERE id = ANY(${this.sql.array([...leases.keys()], "TEXT")})`;
      return this.attachEvents(stillHeld(rows as Record<string, unknown>[], owner, leases).map(toDelivery));
    });
  }

  holdsLease(id: string, lease: Lease): Promise<boolean> {
    return guarded(async () => {
      const rows = await this.sql`SELECT 1 FROM deliveries
        WHERE id = ${id} AND status = 'delivering' AND lease_owner = ${lease.owner} AND lease_until = ${Math.round(lease.until)}`;
      return rows.length === 1;
    });
  }

  releaseLease(id: string, lease: Lease, now: number, dueAt = now): Promise<void> {
    return guarded(async () => {
      await this.sql`UPDATE deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL,
          next_attempt_at = ${Math.round(dueAt)}, updated_at = ${Math.round(now)}, parked = ${this.sql.unsafe(parkedNow())}
        WHERE id = ${id} AND status = 'delivering' AND lease_owner = ${lease.owner} AND lease_until = ${Math.round(lease.until)}`;
    });
  }

  extendLease(id: string, lease: Lease, until: number): Promise<boolean> {
    return guarded(async () => {
      const rows = await this.sql`UPDATE deliveries SET lease_until = ${Math.round(until)}
        WHERE id = ${id} AND status = 'delivering' AND lease_owner = ${lease.owner} AND lease_until = ${Math.round(lease.until)}
        RETURNING 1`;
      return rows.length === 1;
    });
  }

  releaseExpiredLeases(now: number): Promise<number> {
    const at = Math.round(now);
    return guarded(async () => {
      const result = await this.sql`UPDATE deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL,
          next_attempt_at = ${at}, updated_at = ${at}, parked = ${this.sql.unsafe(parkedNow())}
        WHERE status = 'delivering' AND lease_until <= ${at}`;
      return result.count;
    });
  }

  cancelOrphan(id: string, now: number): Promise<boolean> {
    const at = Math.round(now);
    return guarded(async () => {
      const result = await this.sql`UPDATE deliveries SET status = 'cancelled', finalized_at = ${at}, updated_at = ${at},
          next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL, last_error = coalesce(last_error, 'destination deleted')
        WHERE id = ${id} AND status = 'delivering'
          AND NOT EXISTS (SELECT 1 FROM destinations WHERE destinations.id = deliveries.destination_id)`;
      return result.count > 0;
    });
  }

  recordAttempt(record: AttemptRecord, now: number): Promise<RecordedAttempt> {
    return guarded(() => this.attempts.submit({ record, now }));
  }

  leaseForRetry(id: string, now: number, lease: Lease, tenant: string | null): Promise<{ job: DeliveryJob } | { error: RetryRefusal }> {
    const at = Math.round(now);
    return guarded(async () => {
      // One statement takes the row when it may be retried; only a refusal reads
      // it again, to say why. Another tenant's delivery reads as missing.
      const [row] = await this.sql`UPDATE deliveries SET status = 'delivering', lease_until = ${Math.round(lease.until)},
          lease_owner = ${lease.owner}, next_attempt_at = NULL, finalized_at = NULL, schedule_start = attempts, updated_at = ${at},
          parked = false
        WHERE id = ${id} AND status IN ('pending', 'succeeded', 'failed') AND (${tenant}::text IS NULL OR tenant = ${tenant})
        RETURNING *`;
      if (!row) {
        const [current] = await this.sql`SELECT status, tenant FROM deliveries WHERE id = ${id}`;
        if (!current || (tenant !== null && current.tenant !== tenant)) return { error: "not_found" as const };
        return { error: current.status === "cancelled" ? ("cancelled" as const) : ("in_flight" as const) };
      }
      const [job] = await this.attachEvents([toDelivery(row)]);
      return job ? { job } : { error: "not_found" as const };
    });
  }

  /**
   * Cancels the event's pending deliveries in one statement. A row a claim has
   * locked meanwhile is waited for and checked again (READ COMMITTED): once
   * claimed it is delivering, and is left to its send.
   */
  cancelPendingOfEvent(eventId: string, now: number, tenant: string | null): Promise<number> {
    const at = Math.round(now);
    return guarded(async () => {
      const result = await this.sql`UPDATE deliveries SET status = 'cancelled', finalized_at = ${at}, updated_at = ${at},
          next_attempt_at = NULL, last_error = 'cancelled through the API'
        WHERE event_id = ${eventId} AND status = 'pending' AND (${tenant}::text IS NULL OR tenant = ${tenant})`;
      return result.count;
    });
  }

  requeueFailed(destinationId: string, since: number, until: number, now: number): Promise<number> {
    const { clause, values } = where([["destination_id = ?", destinationId], ...createdWithin(since, until)], 2);
    return guarded(async () => {
      const result = await this.sql.unsafe(
        `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, finalized_at = NULL, schedule_start = attempts, updated_at = $1,
           parked = ${parkedNow()}
         ${clause} AND status = 'failed'`,
        [Math.round(now), ...values],
      );
      return result.count;
    });
  }

  requeueSelected(selection: RetrySelection, now: number): Promise<number> {
    const byFilter = "filter" in selection ? selection.filter : {};
    const { clause, values } = where([
      // The ids as one array: any number of them in one bound parameter.
      ["id = ANY(?)", "ids" in selection ? this.sql.array(selection.ids, "TEXT") : undefined],
      ["tenant = ?", selection.tenant ?? undefined],
      ["destination_id = ?", byFilter.destination_id],
      ["event_type = ?", byFilter.event_type],
      ...createdWithin(byFilter.since, byFilter.until),
    ], 2);
    return guarded(async () => {
      const result = await this.sql.unsafe(
        `UPDATE deliveries SET status = 'pending', next_attempt_at = $1, finalized_at = NULL, schedule_start = attempts, updated_at = $1,
           parked = ${parkedNow()}
         ${clause ? `${clause} AND` : "WHERE"} status = 'failed'`,
        [Math.round(now), ...values],
      );
      return result.count;
    });
  }

  // ── instances (instances.ts) ─────────────────────────────────────────────

  registerInstance(id: string, now: number): Promise<void> {
    return guarded(() => this.instances.register(id, now));
  }

  heartbeat(id: string, now: number): Promise<void> {
    return guarded(() => this.instances.heartbeat(id, now));
  }

  retireInstance(id: string, now: number): Promise<number> {
    return guarded(() => this.instances.retire(id, now));
  }

  releaseLeasesOfDeadInstances(now: number, staleBefore: number): Promise<number> {
    return guarded(() => this.instances.releaseDead(now, staleBefore));
  }

  countInstances(): Promise<number> {
    return guarded(async () => {
      const n = Number((await this.sql`SELECT count(*) AS n FROM instances`)[0].n);
      this.shared = n > 1;
      return n;
    });
  }
}
