// The SQLite store's queue: the job table. Publishing (an event with its
// deliveries), claiming due deliveries under a lease, recording attempts,
// handing leases back, and the instances that hold them. The two hot writes
// (publishes, attempt results) are group-committed by the WriteBatcher; the
// rest are single statements or short transactions.
import type { Database } from "bun:sqlite";
import { newId } from "../ids.ts";
import { stillHeld } from "../lease-held.ts";
import type { ParkingSettled, QueueStore } from "../store.ts";
import type { AttemptRecord, BreakerChange, BreakerSettings, Delivery, DeliveryJob, Lease, NewEvent, PublishResult, RecordedAttempt, RetryRefusal, RetrySelection } from "../types.ts";
import { setEnabled } from "./catalog.ts";
import { answeredOk, type HealthSamples } from "./health-samples.ts";
import { InstanceLock, lockPath, probeLock, removeLock } from "./instance-lock.ts";
import { readDeliveriesOfEvent, readDelivery, readEvent } from "./log.ts";
import { parkedNow, settleParking } from "./parking.ts";
import { PublishRows } from "./publish-rows.ts";
import { DELIVERY_COLUMNS, toDelivery } from "./rows.ts";
import { conditions, createdWithin, ms, statusTerm } from "./sql.ts";
import type { WriteBatcher } from "./write-batcher.ts";

export class SqliteQueue implements QueueStore {
  /** The lock of the instance registered through this store, if any (instance-lock.ts). */
  private instanceLock: { id: string; lock: InstanceLock } | null = null;
  /** releaseLeasesOfDeadInstances has made one full pass (see there). */
  private orphansReturned = false;
  /** The destinations a publish must not lease for, and those whose pending rows go parked, as read in one batch transaction (heldInBatch). */
  private heldSeen: { transaction: number; held: Held } | null = null;
  /** Destinations' health as read, then written, in one batch transaction (healthInBatch). */
  private healthSeen: { transaction: number; byId: Map<string, Health> } | null = null;
  /** Publishes' events and deliveries, gathered for the batch's multi-row INSERTs. */
  private readonly rows: PublishRows;

  constructor(
    private readonly db: Database,
    private readonly batcher: WriteBatcher,
    /** The database file (":memory:" for none): instance locks live beside it. */
    private readonly path: string,
    /** Each attempt's sample for endpoint health, written in bulk (health-samples.ts). */
    private readonly healthSamples: HealthSamples,
  ) {
    this.rows = new PublishRows(db);
  }

  // ── publishing ───────────────────────────────────────────────────────────

  /**
   * Writes each event with its deliveries (group-committed with other writes).
   * An event whose idempotency key or producer id its tenant has used already is
   * not written again: the original comes back, and `same_request` says whether
   * the body matched. A producer id that another tenant's event holds as its id
   * is still this tenant's to use: the event gets a generated id instead.
   */
  publish(item: NewEvent): Promise<PublishResult> {
    return this.batcher.submit(() => this.publishNow(item), true);
  }

  /** One write of the group commit for all of them: a write queued per event (its promise, its closure) cost ~1 µs of the ~13 an event costs (bench/README.md). */
  publishMany(items: NewEvent[]): Promise<PublishResult[]> {
    return this.batcher.submit(() => items.map((item) => this.publishNow(item)), true);
  }

  private publishNow(item: NewEvent): PublishResult {
    let id = item.event.id;
    // An event with neither idempotency key nor producer id cannot be a repeat:
    // its rows are gathered and written with the batch's others (publish-rows.ts;
    // were its generated id taken all the same, that INSERT would fail and the
    // batch's replay would write each publish alone). Any other is inserted
    // first, and the original looked for only when the id or key is taken: a
    // repeat is rare, and the lookup cost every publish a search. A failed
    // INSERT undoes only itself (ON CONFLICT ABORT); the batch's transaction goes on.
    const gathered = this.batcher.deferring && item.idempotency_key === null && !item.producer_id;
    if (gathered) {
      this.batcher.defer(this.rows);
      this.rows.addEvent(item, id);
    } else {
      try {
        this.rows.writeEvent(item, id);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== "SQLITE_CONSTRAINT_PRIMARYKEY" && code !== "SQLITE_CONSTRAINT_UNIQUE") throw error;
        const existing = this.findExisting(item);
        if (existing) {
          return {
            created: false,
            event: readEvent(this.db, existing.id)!,
            deliveries: readDeliveriesOfEvent(this.db, existing.id),
            same_request: existing.request_hash === item.request_hash,
          };
        }
        // Not this tenant's: another tenant's event holds the id. This one is stored
        // under a generated id, and nothing of the other event is read or shown.
        if (!item.producer_id || code !== "SQLITE_CONSTRAINT_PRIMARYKEY") throw error;
        id = newId("evt", item.event.created_at);
        this.rows.writeEvent(item, id);
      }
    }
    const moved = id !== item.event.id;
    const event = moved ? { ...item.event, id } : item.event;
    let deliveries = moved ? item.deliveries.map((d) => ({ ...d, event_id: id })) : item.deliveries;
    // No lease past an open breaker, nor for a destination with a limit that only
    // the claim counts (max_in_flight, ordered): written pending instead. The
    // pending rows of a destination whose rows are parked go parked (out of
    // deliveries_due); one read of both sets per batch transaction (heldInBatch).
    const { hold, park } = this.heldInBatch();
    if (hold.size > 0 && deliveries.some((d) => d.status === "delivering")) {
      deliveries = deliveries.map((d) => (d.status === "delivering" && hold.has(d.destination_id) ? heldBack(d) : d));
    }
    for (const d of deliveries) this.rows.addDelivery(d, park.size > 0 && d.status === "pending" && park.has(d.destination_id));
    // Not gathered: written now (a repeat later in the batch reads them).
    if (!gathered) this.rows.flush();
    return { created: true, event, deliveries };
  }

  /** The event this tenant already published with this producer id or idempotency key, if any. */
  private findExisting(item: NewEvent): { id: string; request_hash: string } | null {
    const { tenant } = item.event;
    type Row = { id: string; request_hash: string } | null;
    if (item.producer_id) {
      const byId =
        (this.db.query("SELECT id, request_hash FROM events WHERE tenant = ? AND producer_id = ?").get(tenant, item.producer_id) as Row) ??
        // Published before migration 5, when the producer id was always the stored id.
        (this.db.query("SELECT id, request_hash FROM events WHERE id = ? AND tenant = ?").get(item.producer_id, tenant) as Row);
      if (byId) return byId;
    }
    if (item.idempotency_key === null) return null;
    return this.db
      .query("SELECT id, request_hash FROM events WHERE tenant = ? AND idempotency_key = ?")
      .get(tenant, item.idempotency_key) as Row;
  }

  /**
   * Claims up to `limit` due pending deliveries of enabled destinations,
   * leasing them to `lease.owner` until `lease.until`, and reads their events.
   * Limited destinations (max_in_flight, ordered) first, each within its limit,
   * then the rest in one statement.
   */
  async claimDue(now: number, lease: Lease, limit: number, breaker?: BreakerSettings, anyLimited = true): Promise<DeliveryJob[]> {
    // Two reads, no write lock, choose between the plain claim and the one with
    // limits and probes: is a probe due, is any destination limited (both no,
    // nearly always, each answered by an empty partial index). Either claim then
    // runs in one IMMEDIATE transaction (claimRows reads, then leases, under the
    // write lock); each statement checks again what it relies on, so a change
    // made between the reads and it is honoured.
    const probing =
      breaker !== undefined &&
      this.db.query("SELECT 1 FROM destinations WHERE breaker_opened_at IS NOT NULL AND breaker_probe_at <= ? LIMIT 1").get(ms(now)) !== null;
    const limited = anyLimited
      ? (this.db
          .query("SELECT id, ordered FROM destinations WHERE (max_in_flight IS NOT NULL OR ordered = 1) AND enabled = 1 AND breaker_opened_at IS NULL")
          .all() as { id: string; ordered: number }[])
      : [];
    if (!probing && limited.length === 0) return this.db.transaction(() => this.claimRows(now, lease, limit)).immediate();
    const { probes, held, rows } = this.db
      .transaction(() => {
        const probes = probing ? this.claimProbes(now, lease, breaker) : [];
        const held = this.claimLimited(limited, now, lease, limit);
        return { probes, held, rows: this.claimRows(now, lease, limit - held.length) };
      })
      .immediate();
    return [
      ...this.attachEvents(held).map((job) => ({ ...job, limited: true })),
      ...rows,
      ...this.attachEvents(probes).map((job) => ({ ...job, probe: true })),
    ];
  }

  /**
   * The deliveries of limited destinations, each in one statement that counts
   * its leased rows (every instance's: the write lock makes the count and the
   * lease one step). max_in_flight: up to the limit less what is leased, earliest
   * published first. ordered: the head only (the destination's earliest waiting
   * delivery by id, the publish order), when it is due and nothing of the
   * destination is leased; a head waiting for its retry holds the rest back.
   */
  private claimLimited(destinations: { id: string; ordered: number }[], now: number, lease: Lease, limit: number): Delivery[] {
    const taken: Delivery[] = [];
    // parked = 0: a limited destination's rows are parked (claimed here through
    // deliveries_waiting); a row not pending is never parked.
    const set = `UPDATE deliveries SET status = 'delivering', lease_until = $lease, lease_owner = $owner, next_attempt_at = NULL, parked = 0,
      updated_at = $now`;
    const leased = `(SELECT count(*) FROM deliveries INDEXED BY deliveries_leased WHERE destination_id = $destination AND status = 'delivering')`;
    const ready = `destinations.id = $destination AND destinations.enabled = 1 AND destinations.breaker_opened_at IS NULL`;
    const head = this.db.query(
      `${set}
       WHERE id = (SELECT id FROM deliveries INDEXED BY deliveries_waiting WHERE destination_id = $destination AND status = 'pending' ORDER BY id LIMIT 1)
         AND next_attempt_at <= $now
         AND EXISTS (SELECT 1 FROM destinations WHERE ${ready} AND destinations.ordered = 1)
         AND ${leased} = 0
       RETURNING ${DELIVERY_COLUMNS}`,
    );
    const upTo = this.db.query(
      `${set}
       WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_waiting
         WHERE destination_id = $destination AND status = 'pending' AND next_attempt_at <= $now ORDER BY id
         LIMIT coalesce((SELECT max(0, min($limit, destinations.max_in_flight - ${leased})) FROM destinations
           WHERE ${ready} AND destinations.ordered = 0 AND destinations.max_in_flight IS NOT NULL), 0))
       RETURNING ${DELIVERY_COLUMNS}`,
    );
    for (const { id, ordered } of destinations) {
      const room = limit - taken.length;
      if (room <= 0) break;
      const params = { destination: id, now: ms(now), lease: ms(lease.until), owner: lease.owner };
      const rows = ordered === 1 ? head.all(params) : upTo.all({ ...params, limit: room });
      for (const row of rows) taken.push(toDelivery(row));
    }
    return taken;
  }

  /**
   * One probe per open breaker whose probe time has come and that has a due
   * delivery: moving breaker_probe_at on by probe_every is the grant, made in
   * the claim's transaction, so the next claim (here or in another process)
   * finds it taken until the next interval. The probe is the earliest due; for
   * an ordered destination, its head. A limited destination (max_in_flight,
   * ordered) with a delivery leased gets no probe until it ends: a probe is one
   * more request in flight.
   */
  private claimProbes(now: number, lease: Lease, breaker: BreakerSettings): Delivery[] {
    const granted = this.db
      .query(
        `UPDATE destinations SET breaker_probe_at = $next, breaker_probe_started_at = $now
         WHERE breaker_opened_at IS NOT NULL AND enabled = 1 AND breaker_probe_at <= $now
           -- Its rows are parked or being parked: deliveries_waiting holds them either way
           -- (next_attempt_at is in it: no row read), and its first entries are the oldest.
           AND EXISTS (SELECT 1 FROM deliveries INDEXED BY deliveries_waiting
             WHERE destination_id = destinations.id AND status = 'pending' AND next_attempt_at <= $now)
           AND (max_in_flight IS NULL AND ordered = 0 OR NOT EXISTS (SELECT 1 FROM deliveries INDEXED BY deliveries_leased
             WHERE destination_id = destinations.id AND status = 'delivering'))
         RETURNING id, ordered`,
      )
      .all({ now: ms(now), next: ms(now + breaker.probe_every_ms) }) as { id: string; ordered: number }[];
    const takeHead = this.db.query(
      `UPDATE deliveries SET status = 'delivering', lease_until = $lease, lease_owner = $owner, next_attempt_at = NULL, parked = 0,
         updated_at = $now
       WHERE id = (SELECT id FROM deliveries INDEXED BY deliveries_waiting
         WHERE destination_id = $destination AND status = 'pending' ORDER BY id LIMIT 1)
         AND next_attempt_at <= $now
       RETURNING ${DELIVERY_COLUMNS}`,
    );
    // The earliest due of its parked rows; while they are still being parked
    // (or one was written unparked), its earliest published due row.
    const take = this.db.query(
      `UPDATE deliveries SET status = 'delivering', lease_until = $lease, lease_owner = $owner, next_attempt_at = NULL, parked = 0,
         updated_at = $now
       WHERE id = coalesce(
         (SELECT id FROM deliveries INDEXED BY deliveries_parked
           WHERE destination_id = $destination AND status = 'pending' AND parked = 1 AND next_attempt_at <= $now
           ORDER BY next_attempt_at, id LIMIT 1),
         (SELECT id FROM deliveries INDEXED BY deliveries_waiting
           WHERE destination_id = $destination AND status = 'pending' AND next_attempt_at <= $now ORDER BY id LIMIT 1))
       RETURNING ${DELIVERY_COLUMNS}`,
    );
    return granted.flatMap(({ id, ordered }) => {
      const row = (ordered === 1 ? takeHead : take).get({ now: ms(now), lease: ms(lease.until), owner: lease.owner, destination: id });
      return row ? [toDelivery(row)] : [];
    });
  }

  /**
   * The claim proper: due rows of enabled destinations whose breaker is closed,
   * with their events. Run inside an IMMEDIATE transaction (the caller's): the
   * rows are read with their events in one statement (a large event's data
   * apart, once: CLAIM_INLINE_DATA_BYTES), then leased by id, and the write
   * lock keeps the steps one. An `UPDATE … RETURNING *` followed by
   * a read of the events cost ~2 µs more per row (SQLite gathers the returned
   * rows in a temporary table; bench/README.md, issue 17).
   */
  private claimRows(now: number, lease: Lease, limit: number): DeliveryJob[] {
    if (limit <= 0) return [];
    const at = ms(now);
    let rows = this.db.query(CLAIM_DUE).all({ now: at, limit }) as Record<string, any>[];
    // Destinations being unparked (parking.ts): their due rows are still parked, claimed
    // from there in the same due order. Through destinations_park: empty nearly always.
    const unparking = this.db.query("SELECT id FROM destinations WHERE park_state <> 0 AND park_state = 3").all() as { id: string }[];
    for (const { id } of unparking) {
      const parked = this.db.query(CLAIM_UNPARKING).all({ destination: id, now: at, limit }) as Record<string, any>[];
      if (parked.length > 0) rows = rows.length === 0 ? parked : inDueOrder(rows.concat(parked)).slice(0, limit);
    }
    if (rows.length === 0) return [];
    const until = ms(lease.until);
    // parked = 0 costs no index entry more: every index parked is in has status in it too.
    const leased = this.db
      .query(
        `UPDATE deliveries SET status = 'delivering', lease_until = $lease, lease_owner = $owner, next_attempt_at = NULL,
           updated_at = $now, parked = 0
         WHERE id IN (SELECT value FROM json_each($ids)) AND +status = 'pending'`,
      )
      .run({ ids: JSON.stringify(rows.map((row) => row.id)), now: at, lease: until, owner: lease.owner });
    // The write lock makes the read and the lease one step: every row read is leased.
    // Were one not, its job would go out with no lease and could be sent twice.
    if (leased.changes !== rows.length) throw new Error(`claim leased ${leased.changes} of the ${rows.length} rows it read`);
    // Each row as the UPDATE left it.
    for (const row of rows) Object.assign(row, { status: "delivering", lease_until: until, lease_owner: lease.owner, next_attempt_at: null, updated_at: at });
    return this.jobsOf(rows);
  }

  async readLeased(owner: string, leases: Map<string, number>): Promise<DeliveryJob[]> {
    if (leases.size === 0) return [];
    const ids = JSON.stringify([...leases.keys()]);
    // One read transaction: a large event's second read (jobsOf) sees what the first joined.
    return this.db.transaction(() => this.jobsOf(stillHeld(this.db.query(READ_LEASED).all({ ids }) as Record<string, any>[], owner, leases)))();
  }

  /**
   * Jobs from rows read with their events (CLAIM_DUE, READ_LEASED). A row whose
   * event is gone gives no job. The jobs of one event share one event object (a
   * fan-out's rows come together); data left out of the join
   * (CLAIM_INLINE_DATA_BYTES) is read once per event. Inside the caller's
   * transaction, so the events read are the ones it joined.
   */
  private jobsOf(rows: Record<string, any>[]): DeliveryJob[] {
    const events = new Map<string, DeliveryJob["event"]>();
    // Events whose data the claim left out (CLAIM_INLINE_DATA_BYTES): read once each, below.
    const large: DeliveryJob["event"][] = [];
    const jobs: DeliveryJob[] = [];
    for (const row of rows) {
      if (row.e_type === null) continue;
      let event = events.get(row.event_id);
      if (!event) {
        event = { id: row.event_id, type: row.e_type, created_at: row.e_created_at, data_json: row.e_data };
        events.set(row.event_id, event);
        if (row.e_data === null) large.push(event);
      }
      jobs.push({ delivery: toDelivery(row), event });
    }
    if (large.length > 0) {
      const read = this.readEvents(large.map((e) => e.id));
      for (const event of large) event.data_json = read.get(event.id)!.data_json;
    }
    return jobs;
  }

  async openBreakers(): Promise<string[]> {
    return [...this.openBreakerIds()];
  }

  async settleParking(budget: number, verify: boolean, now: number): Promise<ParkingSettled> {
    return settleParking(this.db, budget, verify, ms(now));
  }

  /**
   * heldAtPublish, read once per batch transaction rather than once per publish
   * (that read was ~1 µs of a ~20 µs publish, bench/README.md). Inside the
   * transaction only this batch's own writes can open or close a breaker or
   * disable a destination (and recordAttemptWrites forgets the sets when one
   * does); the limits change only through catalogue writes, which are not made
   * in a batch.
   */
  private heldInBatch(): Held {
    const transaction = this.batcher.transaction;
    if (this.heldSeen?.transaction !== transaction) this.heldSeen = { transaction, held: this.heldAtPublish() };
    return this.heldSeen.held;
  }

  private openBreakerIds(): Set<string> {
    const rows = this.db.query("SELECT id FROM destinations WHERE breaker_opened_at IS NOT NULL").all() as { id: string }[];
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Destinations whose deliveries a publish must not lease (an open breaker, or
   * a limit only the claim counts), and those whose pending rows are written
   * parked (park_state 1 or 2: parked, or being parked). Three partial indexes,
   * each empty nearly always.
   */
  private heldAtPublish(): Held {
    const rows = this.db
      .query(
        // park_state <> 0 keeps the partial index of moving or parked destinations usable.
        `SELECT id, 1 AS hold FROM destinations WHERE breaker_opened_at IS NOT NULL
         UNION ALL SELECT id, 1 FROM destinations WHERE max_in_flight IS NOT NULL OR ordered = 1
         UNION ALL SELECT id, 0 FROM destinations WHERE park_state <> 0 AND park_state <= 2`,
      )
      .all() as { id: string; hold: number }[];
    const held: Held = { hold: new Set(), park: new Set() };
    for (const r of rows) (r.hold === 1 ? held.hold : held.park).add(r.id);
    return held;
  }

  /** Reads the events of these deliveries, for the sender. */
  private attachEvents(deliveries: Delivery[]): DeliveryJob[] {
    if (deliveries.length === 0) return [];
    const events = this.readEvents([...new Set(deliveries.map((d) => d.event_id))]);
    return deliveries.flatMap((d) => {
      const event = events.get(d.event_id);
      return event ? [{ delivery: d, event }] : [];
    });
  }

  /**
   * These events as the sender needs them, by id. One statement for them all,
   * the ids passed as one JSON array: ~1 µs an event, where a SELECT per event
   * was ~4-6 µs.
   */
  private readEvents(ids: string[]): Map<string, DeliveryJob["event"]> {
    const rows = this.db
      .query("SELECT id, type, created_at, data AS data_json FROM events WHERE id IN (SELECT value FROM json_each(?))")
      .all(JSON.stringify(ids)) as DeliveryJob["event"][];
    return new Map(rows.map((row) => [row.id, row]));
  }

  /** Returns deliveries whose lease ran out (a crash, a stuck send) to pending, due now. */
  async releaseExpiredLeases(now: number): Promise<number> {
    return this.releaseLeases("lease_until <= $now", now);
  }

  async holdsLease(id: string, lease: Lease): Promise<boolean> {
    return (
      this.db
        .query("SELECT 1 FROM deliveries WHERE id = ? AND status = 'delivering' AND lease_owner = ? AND lease_until = ?")
        .get(id, lease.owner, ms(lease.until)) !== null
    );
  }

  /** Lets go of the instance lock without retiring the instance (the store is closing after a failed stop). */
  dropInstanceLock(): void {
    this.instanceLock?.lock.release();
    this.instanceLock = null;
  }

  /**
   * Hands one leased delivery back to pending without an attempt, due at `dueAt`
   * (a disabled or rate-limited destination), if it still holds `lease`.
   * Group-committed: a destination found disabled, or its breaker open, hands
   * back every job of it the dispatcher holds, in memory or on disk, one call
   * each: 6 µs of CPU each in a batch, 29 µs as transactions of their own
   * (20,000 handed back at once, two runs each).
   */
  releaseLease(id: string, lease: Lease, now: number, dueAt = now): Promise<void> {
    return this.batcher.submit(() => {
      this.releaseLeases("id = $id AND lease_owner = $owner AND lease_until = $until", now, dueAt, {
        id,
        owner: lease.owner,
        until: ms(lease.until),
      });
    });
  }

  async extendLease(id: string, lease: Lease, until: number): Promise<boolean> {
    const moved = this.db
      .query("UPDATE deliveries SET lease_until = $next WHERE id = $id AND status = 'delivering' AND lease_owner = $owner AND lease_until = $until")
      .run({ id, owner: lease.owner, until: ms(lease.until), next: ms(until) });
    return moved.changes === 1;
  }

  /** Leased deliveries matching `condition` go back to pending, due at `due` (now unless given). */
  private releaseLeases(condition: string, now: number, due = now, params: Record<string, string | number> = {}): number {
    return this.db
      .query(
        `UPDATE deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL, next_attempt_at = $due,
           updated_at = $now, parked = ${parkedNow()}
         WHERE status = 'delivering' AND ${condition}`,
      )
      .run({ ...params, now: ms(now), due: ms(due) }).changes;
  }

  // ── instances ────────────────────────────────────────────────────────────

  /**
   * Takes the instance's lock (instance-lock.ts), then writes its row: by the
   * time another instance sees the row, the lock already says it is alive.
   */
  async registerInstance(id: string, now: number): Promise<void> {
    if (this.instanceLock) throw new Error(`this store already serves instance ${this.instanceLock.id}`);
    const lock = this.path === ":memory:" ? null : InstanceLock.hold(lockPath(this.path, id));
    try {
      this.db
        .query("INSERT INTO instances (id, started_at, heartbeat_at) VALUES ($id, $now, $now)")
        .run({ id, now: ms(now) });
    } catch (error) {
      lock?.release();
      throw error;
    }
    if (lock) this.instanceLock = { id, lock };
  }

  async heartbeat(id: string, now: number): Promise<void> {
    this.db.query("UPDATE instances SET heartbeat_at = $now WHERE id = $id").run({ id, now: ms(now) });
  }

  async retireInstance(id: string, now: number): Promise<number> {
    const released = this.db.transaction(() => {
      const n = this.releaseLeases("lease_owner = $owner", now, now, { owner: id });
      this.db.query("DELETE FROM instances WHERE id = ?").run(id);
      return n;
    }).immediate();
    if (this.instanceLock?.id === id) {
      this.instanceLock.lock.release();
      this.instanceLock = null;
    }
    return released;
  }

  /**
   * An instance is dead when its lock can be taken: exact and immediate, so a
   * process restarted after a crash sends its predecessor's deliveries at once.
   * A live instance's lock is held, so its leases are left alone however long
   * its sweep has been silent (a stalled event loop is not a death). Only an
   * instance with no lock file to ask is judged by its heartbeat.
   */
  async releaseLeasesOfDeadInstances(now: number, staleBefore: number): Promise<number> {
    const instances = this.db.query("SELECT id, heartbeat_at FROM instances").all() as { id: string; heartbeat_at: number }[];
    const dead: string[] = [];
    for (const instance of instances) {
      if (instance.id === this.instanceLock?.id) continue;
      const liveness = this.path === ":memory:" ? "unknown" : probeLock(lockPath(this.path, instance.id));
      if (liveness === "dead" || (liveness === "unknown" && instance.heartbeat_at < staleBefore)) dead.push(instance.id);
    }
    // Leases can lose their owner only when an instance row goes (here) or before
    // migration 7: after one full pass, a sweep that finds no one dead has
    // nothing to return and does not take the write lock.
    if (dead.length === 0 && this.orphansReturned) return 0;
    this.orphansReturned = true;
    const released = this.db.transaction(() => {
      const forget = this.db.query("DELETE FROM instances WHERE id = ?");
      for (const id of dead) forget.run(id);
      // Checked against the instances table at the time of the UPDATE: an
      // instance registered meanwhile has its row (and its lock) already.
      // Leases of no owner were taken before migration 7, by a previous run.
      return this.releaseLeases("(lease_owner IS NULL OR lease_owner NOT IN (SELECT id FROM instances))", now);
    }).immediate();
    if (this.path !== ":memory:") for (const id of dead) removeLock(lockPath(this.path, id));
    return released;
  }

  async countInstances(): Promise<number> {
    return (this.db.query("SELECT count(*) AS n FROM instances").get() as { n: number }).n;
  }

  /**
   * Cancels a leased delivery whose destination no longer exists (a publish
   * that raced the deletion): it could never be sent, and must not be handed
   * out again and again by the sweep.
   */
  async cancelOrphan(id: string, now: number): Promise<boolean> {
    return (
      this.db
        .query(
          `UPDATE deliveries SET status = 'cancelled', finalized_at = $now, updated_at = $now, next_attempt_at = NULL,
             lease_until = NULL, lease_owner = NULL, last_error = coalesce(last_error, 'destination deleted')
           WHERE id = $id AND status = 'delivering'
             AND NOT EXISTS (SELECT 1 FROM destinations WHERE destinations.id = deliveries.destination_id)`,
        )
        .run({ id, now: ms(now) }).changes > 0
    );
  }

  /** Writes attempt results and the state each delivery moves to (group-committed). */
  recordAttempt(record: AttemptRecord, now: number): Promise<RecordedAttempt> {
    return this.batcher.submit(() => this.recordAttemptNow(record, now));
  }

  private recordAttemptNow(r: AttemptRecord, now: number): RecordedAttempt {
    try {
      return this.recordAttemptWrites(r, now);
    } catch (error) {
      // Undone (to its savepoint, or the whole batch): what the batch remembered may be undone too.
      this.heldSeen = null;
      this.healthSeen = null;
      throw error;
    }
  }

  private recordAttemptWrites(r: AttemptRecord, now: number): RecordedAttempt {
    // (finalized_at comes decided: an IN list in a statement costs a temporary B-tree per run.)
    // No RETURNING: SQLite gathers returned rows in a temporary table first, which
    // made this UPDATE ~4 µs dearer than running it and reading the row by id after.
    // With the count as leased (as_leased) the UPDATE checks it and the read is
    // skipped (~2.5 µs); a count moved by a stray attempt falls back to the read.
    // A retry of a destination whose rows are parked goes parked too (the
    // destination as leased). One that opens the breaker here is parked by the move it starts.
    // A leased row is never parked (every lease writes parked = 0), so only that
    // retry writes the column: in every other record's SET it cost ~2 µs
    // (bench/store-ab.ts, two runs).
    const parked = r.outcome.status === "pending" && this.heldInBatch().park.has(r.as_leased.destination_id);
    const params = {
      // A failed probe is outside the delivery's schedule (AttemptRecord.probe).
      outside: r.probe && r.outcome.status === "pending" ? 1 : 0,
      id: r.delivery_id,
      owner: r.lease.owner,
      until: ms(r.lease.until),
      status: r.outcome.status,
      next: r.outcome.status === "pending" ? ms(r.outcome.next_attempt_at) : null,
      finalized: r.outcome.status === "pending" ? null : ms(now),
      last_status: r.attempt.response_status,
      last_error: r.attempt.error,
      now: ms(now),
    };
    const statements = RECORD_ATTEMPT[parked ? 1 : 0];
    const known = r.as_leased;
    let row: { attempts: number; destination_id: string } | null = null;
    if (this.db.query(statements.asLeased).run({ ...params, attempts: known.attempts }).changes === 1) {
      row = { attempts: known.attempts + 1, destination_id: known.destination_id };
    } else if (this.db.query(statements.any).run(params).changes === 1) {
      row = this.db.query("SELECT attempts, destination_id FROM deliveries WHERE id = ?").get(r.delivery_id) as { attempts: number; destination_id: string };
    }
    // The row no longer holds this attempt's lease: cancelled (destination
    // deleted) while the attempt ran, or the lease ran out and was returned or
    // taken over. The attempt was made, so it is logged and counted, but the
    // row's state belongs to its present holder and is left alone. Counting it
    // keeps `attempts` the highest number logged, so the holder's own attempt
    // gets the next number instead of colliding with this one.
    const { number, destination_id } = row ? { number: row.attempts, destination_id: row.destination_id } : this.countStrayAttempt(r.delivery_id);
    const a = r.attempt;
    const startedAt = ms(a.started_at);
    const durationMs = ms(a.duration_ms);
    this.db
      .query(
        `INSERT INTO attempts (id, delivery_id, destination_id, number, started_at, duration_ms, request_url, request_headers,
           response_status, response_headers, response_body, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        newId("att", a.started_at), r.delivery_id, destination_id, number, startedAt, durationMs, a.request_url,
        JSON.stringify(a.request_headers), a.response_status,
        a.response_headers === null ? null : JSON.stringify(a.response_headers), a.response_body, a.error,
      );
    // An attempt whose delivery row is gone names no destination, and no destination's health counts it.
    if (destination_id !== null) {
      this.healthSamples.add({ destination_id, started_at: startedAt, delivery_id: r.delivery_id, number, duration_ms: durationMs, ok: answeredOk(a) });
    }
    if (!row) return { applied: false, breaker: null };
    const breaker = this.recordHealth(row.destination_id, r, now);
    if (r.disable_destination) {
      setEnabled(this.db, row.destination_id, false, r.disable_destination, now);
      this.heldSeen = null; // its rows go parked now (the trigger of migration 21 started the move)
    }
    return { applied: true, breaker };
  }

  /**
   * The destination's health after an applied attempt: failing_since, and the
   * breaker (types.ts: BreakerHealth). Read, then written, inside the batch's
   * IMMEDIATE transaction: no other process writes in between, so the count is
   * exact and the write that opens or closes the breaker knows it did.
   * (Health columns: no catalogue version is raised, migration 10.)
   */
  private recordHealth(destinationId: string, r: AttemptRecord, now: number): BreakerChange | null {
    const h = this.healthInBatch(destinationId);
    if (!h) return null;
    const was = { ...h };
    if (r.outcome.status === "succeeded") {
      // Any success closes the breaker, on or off: the receiver is up.
      if (was.failing_since === null && was.consecutive_failures === 0 && was.breaker_opened_at === null) return null;
      if (was.breaker_opened_at !== null) this.heldSeen = null; // closes: the batch's later publishes may lease again, unparked
      this.db
        .query(
          `UPDATE destinations SET failing_since = NULL, consecutive_failures = 0, breaker_opened_at = NULL, breaker_probe_at = NULL,
             breaker_probe_started_at = NULL WHERE id = ?`,
        )
        .run(destinationId);
      Object.assign(h, { failing_since: null, consecutive_failures: 0, breaker_opened_at: null, breaker_probe_started_at: null });
      return was.breaker_opened_at === null ? null : { destination_id: destinationId, change: "closed", opened_at: was.breaker_opened_at, next_probe_at: null };
    }
    const settings = r.breaker && r.breaker.failures > 0 ? r.breaker : null;
    if (!settings) {
      if (was.failing_since === null) this.db.query("UPDATE destinations SET failing_since = ? WHERE id = ?").run(ms(now), destinationId);
      h.failing_since ??= ms(now);
      return null;
    }
    const failures = was.consecutive_failures + 1;
    const opens = was.breaker_opened_at === null && failures >= settings.failures;
    const probeAt = ms(now + settings.probe_every_ms);
    if (opens) this.heldSeen = null; // the batch's later publishes must not lease past it
    Object.assign(h, {
      failing_since: was.failing_since ?? ms(now), consecutive_failures: failures,
      breaker_opened_at: opens ? ms(now) : was.breaker_opened_at, breaker_probe_started_at: null,
    });
    this.db
      .query(
        `UPDATE destinations SET failing_since = coalesce(failing_since, $now), consecutive_failures = $failures,
           breaker_opened_at = CASE WHEN $opens = 1 THEN $now ELSE breaker_opened_at END,
           breaker_probe_at = CASE WHEN $opens = 1 THEN $probe_at ELSE breaker_probe_at END,
           breaker_probe_started_at = NULL
         WHERE id = $id`,
      )
      .run({ id: destinationId, now: ms(now), failures, opens: opens ? 1 : 0, probe_at: probeAt });
    return opens ? { destination_id: destinationId, change: "opened", opened_at: ms(now), next_probe_at: probeAt } : null;
  }

  /**
   * A destination's health, read once per batch transaction and then kept up to
   * date by recordHealth's own writes: inside the IMMEDIATE transaction no other
   * connection writes, and nothing else in a batch writes these columns. A batch
   * of attempt records mostly goes to few destinations, and the read was ~1.5 µs
   * of a ~23 µs record (bench/README.md). The object is the cache's own: written in place.
   */
  private healthInBatch(destinationId: string): Health | null {
    const transaction = this.batcher.transaction;
    if (this.healthSeen?.transaction !== transaction) this.healthSeen = { transaction, byId: new Map() };
    const seen = this.healthSeen.byId.get(destinationId);
    if (seen) return seen;
    const h = this.db
      .query("SELECT failing_since, consecutive_failures, breaker_opened_at, breaker_probe_started_at FROM destinations WHERE id = ?")
      .get(destinationId) as Health | null;
    if (h) this.healthSeen.byId.set(destinationId, h);
    return h;
  }

  /** Numbers an attempt whose lease was lost and counts it on its delivery, with the delivery's destination (null when it is gone); rare, so two reads are fine. */
  private countStrayAttempt(deliveryId: string): { number: number; destination_id: string | null } {
    const logged = (this.db.query("SELECT coalesce(max(number), 0) AS n FROM attempts WHERE delivery_id = ?").get(deliveryId) as { n: number }).n;
    const row = this.db.query("SELECT attempts, destination_id FROM deliveries WHERE id = ?").get(deliveryId) as { attempts: number; destination_id: string } | null;
    const number = Math.max(logged, row?.attempts ?? 0) + 1;
    this.db.query("UPDATE deliveries SET attempts = ? WHERE id = ?").run(number, deliveryId);
    return { number, destination_id: row?.destination_id ?? null };
  }

  /**
   * Leases one delivery for an immediate manual attempt with a fresh schedule.
   * A succeeded or failed delivery comes back to life; one already being sent
   * is refused, and so is a cancelled one: its destination was deleted, so it
   * is final for good (leased, it would have nowhere to go and stay stuck).
   */
  async leaseForRetry(id: string, now: number, lease: Lease, tenant: string | null): Promise<{ job: DeliveryJob } | { error: RetryRefusal }> {
    // One statement takes the row when it may be retried; only a refusal reads
    // it again, to say why. Another tenant's delivery reads as missing.
    const row = this.db
      .query(
        `UPDATE deliveries SET status = 'delivering', lease_until = $lease, lease_owner = $owner, next_attempt_at = NULL,
           finalized_at = NULL, schedule_start = attempts, updated_at = $now, parked = 0
         WHERE id = $id AND status IN ('pending', 'succeeded', 'failed') AND ($tenant IS NULL OR tenant = $tenant) RETURNING ${DELIVERY_COLUMNS}`,
      )
      .get({ id, now: ms(now), lease: ms(lease.until), owner: lease.owner, tenant });
    if (!row) {
      const current = readDelivery(this.db, id);
      if (!current || (tenant !== null && current.tenant !== tenant)) return { error: "not_found" };
      return { error: current.status === "cancelled" ? "cancelled" : "in_flight" };
    }
    const [job] = this.attachEvents([toDelivery(row)]);
    return job ? { job } : { error: "not_found" };
  }

  /**
   * Cancels the event's pending deliveries in one statement. A delivering row
   * is being sent: its attempt is recorded under its lease as usual, so it is
   * left alone rather than cancelled under a send that may still succeed.
   */
  async cancelPendingOfEvent(eventId: string, now: number, tenant: string | null): Promise<number> {
    return this.db
      .query(
        `UPDATE deliveries SET status = 'cancelled', finalized_at = $now, updated_at = $now, next_attempt_at = NULL,
           last_error = 'cancelled through the API'
         WHERE event_id = $event_id AND status = 'pending' AND ($tenant IS NULL OR tenant = $tenant)`,
      )
      .run({ event_id: eventId, now: ms(now), tenant }).changes;
  }

  /** Puts a destination's failed deliveries created in [since, until) back to pending with a fresh schedule. */
  async requeueFailed(destinationId: string, since: number, until: number, now: number): Promise<number> {
    const { where, params } = conditions([
      ["destination_id = $destination_id", "destination_id", destinationId],
      [statusTerm("failed"), "", "failed"],
      ...createdWithin(since, until),
    ]);
    return this.db
      .query(
        `UPDATE deliveries SET status = 'pending', next_attempt_at = $now, finalized_at = NULL,
           schedule_start = attempts, updated_at = $now, parked = ${parkedNow()} ${where}`,
      )
      .run({ ...params, now: ms(now) }).changes;
  }

  async requeueSelected(selection: RetrySelection, now: number): Promise<number> {
    const byFilter = "filter" in selection ? selection.filter : {};
    const { where, params } = conditions([
      [statusTerm("failed"), "", "failed"],
      // The ids as one JSON array: any number of them in one bound parameter.
      ["id IN (SELECT value FROM json_each($ids))", "ids", "ids" in selection ? JSON.stringify(selection.ids) : undefined],
      ["tenant = $tenant", "tenant", selection.tenant ?? undefined],
      ["destination_id = $destination_id", "destination_id", byFilter.destination_id],
      ["event_type = $event_type", "event_type", byFilter.event_type],
      ...createdWithin(byFilter.since, byFilter.until),
    ]);
    return this.db
      .query(
        `UPDATE deliveries SET status = 'pending', next_attempt_at = $now, finalized_at = NULL,
           schedule_start = attempts, updated_at = $now, parked = ${parkedNow()} ${where}`,
      )
      .run({ ...params, now: ms(now) }).changes;
  }
}

/** A destination's delivery health columns, as recordHealth reads and writes them. */
interface Health {
  failing_since: number | null;
  consecutive_failures: number;
  breaker_opened_at: number | null;
  breaker_probe_started_at: number | null;
}

/** The claim's columns of a delivery (DELIVERY_COLUMNS of the alias d). */
const D_COLUMNS = DELIVERY_COLUMNS.split(", ").map((c) => `d.${c}`).join(", ");

/**
 * An event's data larger than this is read once per claim (claimRows), not with
 * each of its claimed rows: a fan-out's rows come together, and each row read
 * copied the whole payload into a string of its own (10 KB events to ten
 * destinations: the claim's CPU -45 %, a tenth of its garbage). Smaller data
 * comes with its rows as before: for an event with one delivery, the commonest,
 * the second read costs more than the copy it saves up to a few KB
 * (`bun bench/claim-ab.ts`, bench/README.md).
 */
const CLAIM_INLINE_DATA_BYTES = 8192;

/** A delivery row with its event as jobsOf takes them (`d`: the delivery, `e`: its event). */
const JOB_COLUMNS = `${D_COLUMNS}, e.type AS e_type, e.created_at AS e_created_at,
           -- octet_length reads the value's size from the row's header without loading it.
           CASE WHEN octet_length(e.data) <= ${CLAIM_INLINE_DATA_BYTES} THEN e.data END AS e_data`;

/**
 * The claim proper's read (claimRows): due rows of destinations that are not
 * held, with their events. LEFT JOIN: a row whose event is gone is leased like
 * the rest (and not sent), as before, rather than walked past by every claim.
 * Exported for the test that reads its plan (test/store/parked-rows.test.ts).
 */
export const CLAIM_DUE = `SELECT ${JOB_COLUMNS}
         -- Without INDEXED BY the planner (no ANALYZE statistics) prefers another index
         -- and sorts every pending row for each claim: O(backlog) per batch of 1000.
         FROM deliveries d INDEXED BY deliveries_due LEFT JOIN events e ON e.id = d.event_id
         -- parked = 0: a held destination's rows are parked, in deliveries_parked, and
         -- not walked past (settleParking). The NOT IN stays as the safety net for
         -- rows not parked yet (a move under way, a publish that raced it).
         WHERE d.status = 'pending' AND d.parked = 0 AND d.next_attempt_at <= $now
           AND d.destination_id NOT IN (SELECT id FROM destinations
             WHERE enabled = 0 OR breaker_opened_at IS NOT NULL OR max_in_flight IS NOT NULL OR ordered = 1)
         ORDER BY d.next_attempt_at, d.id LIMIT $limit`;

/**
 * The claim's read of a destination being unparked (park_state 3): its parked
 * rows already due, which the move leaves for the claim (parking.ts), as
 * CLAIM_DUE reads the rest. Exported for the test that reads its plan.
 */
export const CLAIM_UNPARKING = `SELECT ${JOB_COLUMNS}
         FROM deliveries d INDEXED BY deliveries_parked LEFT JOIN events e ON e.id = d.event_id
         WHERE d.destination_id = $destination AND d.status = 'pending' AND d.parked = 1 AND d.next_attempt_at <= $now
         ORDER BY d.next_attempt_at, d.id LIMIT $limit`;

/** Claimed rows in the order the claim takes them: by next_attempt_at, then id. */
function inDueOrder(rows: Record<string, any>[]): Record<string, any>[] {
  return rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * readLeased's read: the rows of the ids given (a JSON array), by primary key,
 * with their events as CLAIM_DUE reads them; which still hold their lease is
 * decided in Herald (lease-held.ts says why).
 */
const READ_LEASED = `SELECT ${JOB_COLUMNS}
         FROM deliveries d LEFT JOIN events e ON e.id = d.event_id
         WHERE d.id IN (SELECT value FROM json_each($ids))`;

/** What heldAtPublish reads: destinations a publish must not lease for, and those whose pending rows go parked. */
interface Held {
  hold: Set<string>;
  park: Set<string>;
}

/**
 * An attempt's delivery UPDATE (recordAttemptWrites), not parking the row ([0])
 * and parking it ([1]): `asLeased` also checks the count the job was leased
 * with, `any` does not. Whole strings made once: bun:sqlite finds its prepared
 * statement by the SQL's text, and a text built per call is hashed anew each time.
 */
const RECORD_ATTEMPT = ["", ", parked = 1"].map((parking) => {
  const any = `UPDATE deliveries SET attempts = attempts + 1, status = $status, next_attempt_at = $next, lease_until = NULL,
           lease_owner = NULL, last_status = $last_status, last_error = $last_error, updated_at = $now,
           finalized_at = $finalized, schedule_start = schedule_start + $outside${parking}
         WHERE id = $id AND status = 'delivering' AND lease_owner = $owner AND lease_until = $until`;
  return { any, asLeased: `${any} AND attempts = $attempts` };
}) as [{ any: string; asLeased: string }, { any: string; asLeased: string }];

/** A delivery the publisher meant to lease, written pending instead: its destination's breaker is open. */
function heldBack(d: Delivery): Delivery {
  return { ...d, status: "pending", next_attempt_at: d.created_at, lease_until: null, lease_owner: null };
}
