// The SQLite store: the only SQL in Herald. One connection, prepared statements,
// and group commit (WriteBatcher) for the two hot write streams — publishes and
// attempt results. Management writes are rare and run as short transactions.
import type { Database } from "bun:sqlite";
import { openDatabase, type Synchronous } from "./database.ts";
import { idFloor, newId } from "./ids.ts";
import { InstanceLock, lockPath, probeLock, removeLock } from "./instance-lock.ts";
import {
  deliveryParams, destinationParams, eventTypeParams, subscriptionParams, toAttempt, toDelivery, toDestination, toEvent,
  toEventType, toSubscription,
} from "./rows.ts";
import type {
  Attempt, AttemptRecord, Delivery, DeliveryFilter, DeliveryJob, Destination, EventFilter, EventType,
  HeraldEvent, Lease, NewEvent, Page, PublishResult, Subscription, DeliveryStats, DestinationHealth, DeliveryStatus, StatusCounts,
  RetryRefusal, CatalogSnapshot, SubscriptionCreated,
} from "./types.ts";
import { DELIVERY_STATUSES } from "./types.ts";
import { WalSync } from "./wal-sync.ts";
import { WriteBatcher } from "./write-batcher.ts";
import type { Store } from "./store.ts";

const FINAL = "('succeeded', 'failed', 'cancelled')";
/** Pages the probe asks the file to grow by, beyond its free pages. */
const PROBE_GROW_PAGES = 4;
/** With this many free pages (1 MiB at 4 KiB) writes have room without growing the file. */
const PROBE_MAX_FREE_PAGES = 256;

/**
 * Times go into STRICT INTEGER columns: a fraction (a clock read from
 * performance.now(), a wait computed from one) would make SQLite refuse the
 * whole statement ("cannot store REAL value in INTEGER column"). Whole ms.
 */
const ms = (t: number): number => Math.round(t);

// The catalogue's INSERTs, shared by the creates (ON CONFLICT DO NOTHING) and the upserts.
const INSERT_EVENT_TYPE = `INSERT INTO event_types (name, description, schema, example, managed_by, created_at, updated_at)
  VALUES ($name, $description, $schema, $example, $managed_by, $created_at, $updated_at)`;
const INSERT_DESTINATION = `INSERT INTO destinations (id, tenant, url, description, secrets, headers, timeout_ms, rate_limit,
    enabled, disabled_reason, metadata, failing_since, managed_by, created_at, updated_at)
  VALUES ($id, $tenant, $url, $description, $secrets, $headers, $timeout_ms, $rate_limit, $enabled,
    $disabled_reason, $metadata, $failing_since, $managed_by, $created_at, $updated_at)`;
const INSERT_SUBSCRIPTION = `INSERT INTO subscriptions (id, destination_id, tenant, event_types, filter, enabled, description,
    managed_by, created_at, updated_at)
  VALUES ($id, $destination_id, $tenant, $event_types, $filter, $enabled, $description, $managed_by,
    $created_at, $updated_at)`;

export class SqliteStore implements Store {
  readonly db: Database;
  private readonly batcher: WriteBatcher;
  private readonly walSync: WalSync | null;
  /** The lock of the instance registered through this store, if any (instance-lock.ts). */
  private instanceLock: { id: string; lock: InstanceLock } | null = null;
  /** releaseLeasesOfDeadInstances has made one full pass (see there). */
  private orphansReturned = false;

  constructor(
    private readonly path: string,
    synchronous: Synchronous,
  ) {
    // `full` is kept by syncing the WAL off the event loop after each group
    // commit (see WalSync): the same guarantee for every acknowledged write.
    const syncAside = synchronous === "full" && path !== ":memory:";
    this.db = openDatabase(path, syncAside ? "normal" : synchronous);
    const walSync = syncAside ? new WalSync(`${path}-wal`) : null;
    this.walSync = walSync;
    this.batcher = new WriteBatcher(this.db, walSync && (() => walSync.sync()));
  }

  close(): void {
    this.batcher.flush();
    this.db.close();
    this.walSync?.close();
    // Not retired (a failed stop): the lock goes, its row stays, and the next
    // instance to look finds it dead and takes its leases back.
    this.instanceLock?.lock.release();
    this.instanceLock = null;
  }

  flush(): void {
    this.batcher.flush();
  }

  /**
   * The readiness probe. While the write batches succeed it only checks that the
   * write lock can be taken. Once a batch has failed (disk full, I/O error …) the
   * store stays not writable until a write commits again: a later batch, or the
   * probe write here (one tiny commit per /readyz, only while writes fail).
   */
  isWritable(): boolean {
    if (this.batcher.failing) return this.probeWrite();
    try {
      this.db.run("BEGIN IMMEDIATE");
      this.db.run("ROLLBACK");
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Commits one tiny row (the WAL must take a frame: a full disk or a read-only
   * file fails here) after making the file grow inside a savepoint that is then
   * undone (a database at max_page_count, or with no room left for new pages,
   * fails here). The growth is sized past the free pages, which SQLite reuses
   * before growing the file, up to PROBE_MAX_FREE_PAGES: with that many free
   * pages (1 MiB at 4 KiB pages) there is room for writes anyway.
   */
  private probeWrite(): boolean {
    try {
      const pragma = (name: string) => Object.values(this.db.query(`PRAGMA ${name}`).get() as object)[0] as number;
      const free = pragma("freelist_count");
      const grow = free >= PROBE_MAX_FREE_PAGES ? 0 : (free + PROBE_GROW_PAGES) * pragma("page_size");
      this.db.run("BEGIN IMMEDIATE");
      if (grow > 0) {
        this.db.run("SAVEPOINT grow");
        this.db.query("INSERT OR REPLACE INTO store_probe (id, at, filler) VALUES (2, 0, zeroblob(?))").run(grow);
        this.db.run("ROLLBACK TO grow");
        this.db.run("RELEASE grow");
      }
      this.db.query("INSERT OR REPLACE INTO store_probe (id, at, filler) VALUES (1, ?, NULL)").run(Date.now());
      this.db.run("COMMIT");
      this.batcher.noteWritable();
      return true;
    } catch {
      try {
        if (this.db.inTransaction) this.db.run("ROLLBACK");
      } catch {}
      return false;
    }
  }

  /** An online, consistent copy of the database (VACUUM INTO reads one snapshot). */
  backup(path: string): void {
    this.db.run("VACUUM INTO ?", [path]);
  }

  // ── the catalogue ────────────────────────────────────────────────────────
  // Migration 8's triggers raise catalog_version in the statement that writes a
  // row, so every method here bumps it in its own transaction without saying so.

  catalogVersion(): number {
    return (this.db.query("SELECT version FROM catalog_version WHERE id = 1").get() as { version: number }).version;
  }

  /** One read transaction: the version comes from the same snapshot as the rows, never newer than they are. */
  loadCatalog(): CatalogSnapshot {
    return this.db.transaction(() => ({
      version: this.catalogVersion(),
      event_types: this.listEventTypes(),
      destinations: this.allDestinations(),
      subscriptions: this.allSubscriptions(),
    })).deferred();
  }

  // ── event types ──────────────────────────────────────────────────────────

  listEventTypes(): EventType[] {
    return this.db.query("SELECT * FROM event_types ORDER BY name").all().map(toEventType);
  }

  getEventType(name: string): EventType | null {
    const row = this.db.query("SELECT * FROM event_types WHERE name = ?").get(name);
    return row ? toEventType(row) : null;
  }

  createEventType(t: EventType): boolean {
    return this.db.query(`${INSERT_EVENT_TYPE} ON CONFLICT (name) DO NOTHING`).run(eventTypeParams(t)).changes > 0;
  }

  updateEventType(t: EventType): boolean {
    return (
      this.db
        .query(
          `UPDATE event_types SET description = $description, schema = $schema, example = $example,
             managed_by = $managed_by, updated_at = $updated_at
           WHERE name = $name`,
        )
        .run(eventTypeParams(t)).changes > 0
    );
  }

  upsertEventType(t: EventType): void {
    this.db
      .query(
        `${INSERT_EVENT_TYPE}
         ON CONFLICT (name) DO UPDATE SET description = excluded.description, schema = excluded.schema,
           example = excluded.example, managed_by = excluded.managed_by, updated_at = excluded.updated_at`,
      )
      .run(eventTypeParams(t));
  }

  deleteEventType(name: string): boolean {
    return this.db.query("DELETE FROM event_types WHERE name = ?").run(name).changes > 0;
  }

  // ── destinations ─────────────────────────────────────────────────────────

  listDestinations(filter: { tenant?: string; cursor?: string; limit: number }): Page<Destination> {
    const { where, params } = conditions([
      ["tenant = $tenant", "tenant", filter.tenant],
      ["id > $cursor", "cursor", filter.cursor],
    ]);
    const rows = this.db.query(`SELECT * FROM destinations ${where} ORDER BY id LIMIT ${filter.limit + 1}`).all(params);
    return page(rows.map(toDestination), filter.limit, (d) => d.id);
  }

  allDestinations(): Destination[] {
    return this.db.query("SELECT * FROM destinations ORDER BY id").all().map(toDestination);
  }

  getDestination(id: string): Destination | null {
    const row = this.db.query("SELECT * FROM destinations WHERE id = ?").get(id);
    return row ? toDestination(row) : null;
  }

  createDestination(d: Destination): boolean {
    return this.db.query(`${INSERT_DESTINATION} ON CONFLICT (id) DO NOTHING`).run(destinationParams(d)).changes > 0;
  }

  updateDestination(d: Destination): boolean {
    return (
      this.db
        .query(
          `UPDATE destinations SET tenant = $tenant, url = $url, description = $description, secrets = $secrets,
             headers = $headers, timeout_ms = $timeout_ms, rate_limit = $rate_limit, enabled = $enabled,
             disabled_reason = $disabled_reason, metadata = $metadata, failing_since = $failing_since,
             managed_by = $managed_by, updated_at = $updated_at
           WHERE id = $id`,
        )
        .run(destinationParams(d)).changes > 0
    );
  }

  /** Inserts or replaces a destination (keyed by id). */
  saveDestination(d: Destination): void {
    this.db
      .query(
        `${INSERT_DESTINATION}
         ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, url = excluded.url,
           description = excluded.description, secrets = excluded.secrets, headers = excluded.headers,
           timeout_ms = excluded.timeout_ms, rate_limit = excluded.rate_limit, enabled = excluded.enabled,
           disabled_reason = excluded.disabled_reason, metadata = excluded.metadata,
           failing_since = excluded.failing_since, managed_by = excluded.managed_by, updated_at = excluded.updated_at`,
      )
      .run(destinationParams(d));
  }

  /** Deletes a destination and its subscriptions; its unfinished deliveries are cancelled, never lost silently. */
  deleteDestination(id: string, now: number): boolean {
    return this.db.transaction(() => {
      this.db
        .query(
          `UPDATE deliveries SET status = 'cancelled', finalized_at = $now, updated_at = $now, next_attempt_at = NULL,
             lease_until = NULL, lease_owner = NULL, last_error = coalesce(last_error, 'destination deleted')
           WHERE destination_id = $id AND status IN ('pending', 'delivering')`,
        )
        .run({ id, now: ms(now) });
      return this.db.query("DELETE FROM destinations WHERE id = ?").run(id).changes > 0;
    }).immediate();
  }

  setDestinationEnabled(id: string, enabled: boolean, reason: string | null, now: number): boolean {
    return (
      this.db
        .query(
          `UPDATE destinations SET enabled = $enabled, disabled_reason = $reason, updated_at = $now,
             failing_since = CASE WHEN $enabled = 1 THEN NULL ELSE failing_since END
           WHERE id = $id`,
        )
        .run({ id, enabled: enabled ? 1 : 0, reason: enabled ? null : reason, now: ms(now) }).changes > 0
    );
  }

  /** Enabled destinations whose failures began before `cutoff`: candidates for disabling. */
  destinationsFailingSince(cutoff: number): Destination[] {
    return this.db
      .query("SELECT * FROM destinations WHERE enabled = 1 AND failing_since IS NOT NULL AND failing_since <= ?")
      .all(cutoff)
      .map(toDestination);
  }

  // ── subscriptions ────────────────────────────────────────────────────────

  listSubscriptions(filter: { tenant?: string; destination_id?: string; cursor?: string; limit: number }): Page<Subscription> {
    const { where, params } = conditions([
      ["tenant = $tenant", "tenant", filter.tenant],
      ["destination_id = $destination_id", "destination_id", filter.destination_id],
      ["id > $cursor", "cursor", filter.cursor],
    ]);
    const rows = this.db.query(`SELECT * FROM subscriptions ${where} ORDER BY id LIMIT ${filter.limit + 1}`).all(params);
    return page(rows.map(toSubscription), filter.limit, (s) => s.id);
  }

  allSubscriptions(): Subscription[] {
    return this.db.query("SELECT * FROM subscriptions ORDER BY id").all().map(toSubscription);
  }

  getSubscription(id: string): Subscription | null {
    const row = this.db.query("SELECT * FROM subscriptions WHERE id = ?").get(id);
    return row ? toSubscription(row) : null;
  }

  createSubscription(s: Subscription): SubscriptionCreated {
    try {
      const inserted = this.db.query(`${INSERT_SUBSCRIPTION} ON CONFLICT (id) DO NOTHING`).run(subscriptionParams(s)).changes > 0;
      return inserted ? "created" : "taken";
    } catch (error) {
      // The destination was deleted after the caller read it: the foreign key refuses the row.
      if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_FOREIGNKEY") return "no_destination";
      throw error;
    }
  }

  updateSubscription(s: Subscription): boolean {
    return (
      this.db
        .query(
          `UPDATE subscriptions SET destination_id = $destination_id, tenant = $tenant, event_types = $event_types,
             filter = $filter, enabled = $enabled, description = $description, managed_by = $managed_by,
             updated_at = $updated_at
           WHERE id = $id`,
        )
        .run(subscriptionParams(s)).changes > 0
    );
  }

  saveSubscription(s: Subscription): void {
    this.db
      .query(
        `${INSERT_SUBSCRIPTION}
         ON CONFLICT (id) DO UPDATE SET destination_id = excluded.destination_id, tenant = excluded.tenant,
           event_types = excluded.event_types, filter = excluded.filter, enabled = excluded.enabled,
           description = excluded.description, managed_by = excluded.managed_by, updated_at = excluded.updated_at`,
      )
      .run(subscriptionParams(s));
  }

  deleteSubscription(id: string): boolean {
    return this.db.query("DELETE FROM subscriptions WHERE id = ?").run(id).changes > 0;
  }

  // ── events ───────────────────────────────────────────────────────────────

  /**
   * Writes each event with its deliveries (group-committed with other writes).
   * An event whose idempotency key or producer id its tenant has used already is
   * not written again: the original comes back, and `same_request` says whether
   * the body matched. A producer id that another tenant's event holds as its id
   * is still this tenant's to use: the event gets a generated id instead.
   */
  publish(item: NewEvent): Promise<PublishResult> {
    return this.batcher.submit(() => this.publishNow(item));
  }

  private publishNow(item: NewEvent): PublishResult {
    let id = item.event.id;
    // Insert first, look for the original only when the id or idempotency key is
    // taken: a repeat is rare, and the lookup cost every publish a search. A failed
    // INSERT undoes only itself (ON CONFLICT ABORT); the batch's transaction goes on.
    try {
      this.insertEvent(item, id);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code !== "SQLITE_CONSTRAINT_PRIMARYKEY" && code !== "SQLITE_CONSTRAINT_UNIQUE") throw error;
      const existing = this.findExisting(item);
      if (existing) {
        return {
          created: false,
          event: this.getEvent(existing.id)!,
          deliveries: this.deliveriesOfEvent(existing.id),
          same_request: existing.request_hash === item.request_hash,
        };
      }
      // Not this tenant's: another tenant's event holds the id. This one is stored
      // under a generated id, and nothing of the other event is read or shown.
      if (!item.producer_id || code !== "SQLITE_CONSTRAINT_PRIMARYKEY") throw error;
      id = newId("evt", item.event.created_at);
      this.insertEvent(item, id);
    }
    const moved = id !== item.event.id;
    const event = moved ? { ...item.event, id } : item.event;
    const deliveries = moved ? item.deliveries.map((d) => ({ ...d, event_id: id })) : item.deliveries;
    const insert = this.db.query(
      `INSERT INTO deliveries (id, event_id, destination_id, subscription_id, tenant, event_type, status, attempts,
         schedule_start, next_attempt_at, lease_until, lease_owner, last_status, last_error, created_at, updated_at,
         finalized_at)
       VALUES ($id, $event_id, $destination_id, $subscription_id, $tenant, $event_type, $status, $attempts,
         $schedule_start, $next_attempt_at, $lease_until, $lease_owner, $last_status, $last_error, $created_at,
         $updated_at, $finalized_at)`,
    );
    for (const d of deliveries) insert.run(deliveryParams(d));
    return { created: true, event, deliveries };
  }

  private insertEvent(item: NewEvent, id: string): void {
    const e = item.event;
    this.db
      .query(
        `INSERT INTO events (id, type, tenant, data, created_at, idempotency_key, request_hash, producer_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(id, e.type, e.tenant, item.data_json, e.created_at, item.idempotency_key, item.request_hash, item.producer_id ?? null);
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

  getEvent(id: string): HeraldEvent | null {
    const row = this.db.query("SELECT id, type, tenant, data, created_at FROM events WHERE id = ?").get(id);
    return row ? toEvent(row) : null;
  }

  listEvents(filter: EventFilter): Page<HeraldEvent> {
    const { where, params } = conditions([
      ["type = $type", "type", filter.type],
      ["tenant = $tenant", "tenant", filter.tenant],
      ["created_at >= $since", "since", filter.since],
      ["created_at < $until", "until", filter.until],
      ["id < $cursor", "cursor", filter.cursor],
    ]);
    const rows = this.db
      .query(`SELECT id, type, tenant, data, created_at FROM events ${where} ORDER BY id DESC LIMIT ${filter.limit + 1}`)
      .all(params);
    return page(rows.map(toEvent), filter.limit, (e) => e.id);
  }

  // ── deliveries ───────────────────────────────────────────────────────────

  getDelivery(id: string): Delivery | null {
    const row = this.db.query("SELECT * FROM deliveries WHERE id = ?").get(id);
    return row ? toDelivery(row) : null;
  }

  deliveriesOfEvent(eventId: string): Delivery[] {
    return this.db.query("SELECT * FROM deliveries WHERE event_id = ? ORDER BY id").all(eventId).map(toDelivery);
  }

  listDeliveries(filter: DeliveryFilter): Page<Delivery> {
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
    const rows = this.db.query(`SELECT * FROM ${from} ${where} ORDER BY id DESC LIMIT ${filter.limit + 1}`).all(params);
    return page(rows.map(toDelivery), filter.limit, (d) => d.id);
  }

  attemptsOf(deliveryId: string): Attempt[] {
    return this.db.query("SELECT * FROM attempts WHERE delivery_id = ? ORDER BY number").all(deliveryId).map(toAttempt);
  }

  /**
   * Claims up to `limit` due pending deliveries of enabled destinations in one
   * statement, leasing them to `lease.owner` until `lease.until`, and reads their events.
   */
  claimDue(now: number, lease: Lease, limit: number): DeliveryJob[] {
    const rows = this.db
      .query(
        `UPDATE deliveries SET status = 'delivering', lease_until = $lease, lease_owner = $owner, next_attempt_at = NULL,
           updated_at = $now
         WHERE id IN (
           -- Without INDEXED BY the planner (no ANALYZE statistics) prefers deliveries_status
           -- and sorts every pending row for each claim: O(backlog) per batch of 1000.
           SELECT id FROM deliveries INDEXED BY deliveries_due
           WHERE status = 'pending' AND next_attempt_at <= $now
             AND destination_id NOT IN (SELECT id FROM destinations WHERE enabled = 0)
           ORDER BY next_attempt_at, id LIMIT $limit)
         RETURNING *`,
      )
      .all({ now: ms(now), lease: ms(lease.until), owner: lease.owner, limit });
    return this.attachEvents(rows.map(toDelivery));
  }

  /** Reads the events of these deliveries, for the sender. */
  attachEvents(deliveries: Delivery[]): DeliveryJob[] {
    if (deliveries.length === 0) return [];
    const ids = [...new Set(deliveries.map((d) => d.event_id))];
    // One statement for the whole claim, the ids passed as one JSON array: ~1 µs
    // an event, where a SELECT per event was ~4-6 µs.
    const rows = this.db
      .query("SELECT id, type, created_at, data AS data_json FROM events WHERE id IN (SELECT value FROM json_each(?))")
      .all(JSON.stringify(ids)) as { id: string; type: string; created_at: number; data_json: string }[];
    const events = new Map(rows.map((row) => [row.id, row]));
    return deliveries.flatMap((d) => {
      const event = events.get(d.event_id);
      return event ? [{ delivery: d, event }] : [];
    });
  }

  /** Returns deliveries whose lease ran out (a crash, a stuck send) to pending, due now. */
  releaseExpiredLeases(now: number): number {
    return this.releaseLeases("lease_until <= $now", now);
  }

  /**
   * Hands one leased delivery back to pending without an attempt, due at `dueAt`
   * (a disabled or rate-limited destination), if it still holds `lease`.
   */
  releaseLease(id: string, lease: Lease, now: number, dueAt = now): void {
    this.releaseLeases("id = $id AND lease_owner = $owner AND lease_until = $until", now, dueAt, {
      id,
      owner: lease.owner,
      until: ms(lease.until),
    });
  }

  /** Leased deliveries matching `condition` go back to pending, due at `due` (now unless given). */
  private releaseLeases(condition: string, now: number, due = now, params: Record<string, string | number> = {}): number {
    return this.db
      .query(
        `UPDATE deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL, next_attempt_at = $due,
           updated_at = $now
         WHERE status = 'delivering' AND ${condition}`,
      )
      .run({ ...params, now: ms(now), due: ms(due) }).changes;
  }

  // ── instances ────────────────────────────────────────────────────────────

  /**
   * Takes the instance's lock (instance-lock.ts), then writes its row: by the
   * time another instance sees the row, the lock already says it is alive.
   */
  registerInstance(id: string, now: number): void {
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

  heartbeat(id: string, now: number): void {
    this.db.query("UPDATE instances SET heartbeat_at = $now WHERE id = $id").run({ id, now: ms(now) });
  }

  retireInstance(id: string, now: number): number {
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
  releaseLeasesOfDeadInstances(now: number, staleBefore: number): number {
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

  /**
   * Cancels a leased delivery whose destination no longer exists (a publish
   * that raced the deletion): it could never be sent, and must not be handed
   * out again and again by the sweep.
   */
  cancelOrphan(id: string, now: number): boolean {
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
  recordAttempt(record: AttemptRecord, now: number): Promise<boolean> {
    return this.batcher.submit(() => this.recordAttemptNow(record, now));
  }

  private recordAttemptNow(r: AttemptRecord, now: number): boolean {
    // (finalized_at comes decided: an IN list in a statement costs a temporary B-tree per run.)
    // No RETURNING: SQLite gathers returned rows in a temporary table first, which
    // made this UPDATE ~4 µs dearer than running it and reading the row by id after.
    const updated = this.db
      .query(
        `UPDATE deliveries SET attempts = attempts + 1, status = $status, next_attempt_at = $next, lease_until = NULL,
           lease_owner = NULL, last_status = $last_status, last_error = $last_error, updated_at = $now,
           finalized_at = $finalized
         WHERE id = $id AND status = 'delivering' AND lease_owner = $owner AND lease_until = $until`,
      )
      .run({
        id: r.delivery_id,
        owner: r.lease.owner,
        until: ms(r.lease.until),
        status: r.outcome.status,
        next: r.outcome.status === "pending" ? ms(r.outcome.next_attempt_at) : null,
        finalized: r.outcome.status === "pending" ? null : ms(now),
        last_status: r.attempt.response_status,
        last_error: r.attempt.error,
        now: ms(now),
      }).changes === 1;
    const row = updated
      ? (this.db.query("SELECT attempts, destination_id FROM deliveries WHERE id = ?").get(r.delivery_id) as { attempts: number; destination_id: string })
      : null;
    // The row no longer holds this attempt's lease: cancelled (destination
    // deleted) while the attempt ran, or the lease ran out and was returned or
    // taken over. The attempt was made, so it is logged and counted, but the
    // row's state belongs to its present holder and is left alone. Counting it
    // keeps `attempts` the highest number logged, so the holder's own attempt
    // gets the next number instead of colliding with this one.
    const number = row?.attempts ?? this.countStrayAttempt(r.delivery_id);
    const a = r.attempt;
    this.db
      .query(
        `INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, request_url, request_headers,
           response_status, response_headers, response_body, error)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        newId("att", a.started_at), r.delivery_id, number, ms(a.started_at), ms(a.duration_ms), a.request_url,
        JSON.stringify(a.request_headers), a.response_status,
        a.response_headers === null ? null : JSON.stringify(a.response_headers), a.response_body, a.error,
      );
    if (!row) return false;
    if (r.outcome.status === "succeeded") {
      this.db.query("UPDATE destinations SET failing_since = NULL WHERE id = ? AND failing_since IS NOT NULL").run(row.destination_id);
    } else {
      this.db.query("UPDATE destinations SET failing_since = ? WHERE id = ? AND failing_since IS NULL").run(ms(now), row.destination_id);
    }
    if (r.disable_destination) this.setDestinationEnabled(row.destination_id, false, r.disable_destination, now);
    return true;
  }

  /** Numbers an attempt whose lease was lost and counts it on its delivery; rare, so two reads are fine. */
  private countStrayAttempt(deliveryId: string): number {
    const logged = (this.db.query("SELECT coalesce(max(number), 0) AS n FROM attempts WHERE delivery_id = ?").get(deliveryId) as { n: number }).n;
    const counted = (this.db.query("SELECT attempts FROM deliveries WHERE id = ?").get(deliveryId) as { attempts: number } | null)?.attempts ?? 0;
    const number = Math.max(logged, counted) + 1;
    this.db.query("UPDATE deliveries SET attempts = ? WHERE id = ?").run(number, deliveryId);
    return number;
  }

  /**
   * Leases one delivery for an immediate manual attempt with a fresh schedule.
   * A succeeded or failed delivery comes back to life; one already being sent
   * is refused, and so is a cancelled one: its destination was deleted, so it
   * is final for good (leased, it would have nowhere to go and stay stuck).
   */
  leaseForRetry(id: string, now: number, lease: Lease, tenant: string | null): { job: DeliveryJob } | { error: RetryRefusal } {
    // One statement takes the row when it may be retried; only a refusal reads
    // it again, to say why. Another tenant's delivery reads as missing.
    const row = this.db
      .query(
        `UPDATE deliveries SET status = 'delivering', lease_until = $lease, lease_owner = $owner, next_attempt_at = NULL,
           finalized_at = NULL, schedule_start = attempts, updated_at = $now
         WHERE id = $id AND status IN ('pending', 'succeeded', 'failed') AND ($tenant IS NULL OR tenant = $tenant) RETURNING *`,
      )
      .get({ id, now: ms(now), lease: ms(lease.until), owner: lease.owner, tenant });
    if (!row) {
      const current = this.getDelivery(id);
      if (!current || (tenant !== null && current.tenant !== tenant)) return { error: "not_found" };
      return { error: current.status === "cancelled" ? "cancelled" : "in_flight" };
    }
    const [job] = this.attachEvents([toDelivery(row)]);
    return job ? { job } : { error: "not_found" };
  }

  /** Puts a destination's failed deliveries created in [since, until) back to pending with a fresh schedule. */
  requeueFailed(destinationId: string, since: number, until: number, now: number): number {
    const { where, params } = conditions([
      ["destination_id = $destination_id", "destination_id", destinationId],
      [statusTerm("failed"), "", "failed"],
      ...createdWithin(since, until),
    ]);
    return this.db
      .query(
        `UPDATE deliveries SET status = 'pending', next_attempt_at = $now, finalized_at = NULL,
           schedule_start = attempts, updated_at = $now ${where}`,
      )
      .run({ ...params, now: ms(now) }).changes;
  }

  /** Counts deliveries by state, for metrics and the console. */
  countDeliveriesByStatus(destinationId?: string): Record<string, number> {
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
  deliveryStats(filter: { tenant?: string; destination_id?: string; since: number; until: number; bucket_ms: number }): DeliveryStats {
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
    return { counts: statusCounts(counts), series };
  }

  destinationHealth(id: string, since: number, until: number): DestinationHealth {
    const { where, params } = conditions([["destination_id = $destination_id", "destination_id", id], ...createdWithin(since, until)]);
    const counts = this.db
      .query(`SELECT status, count(*) AS n FROM deliveries ${where} GROUP BY status`)
      .all(params) as { status: DeliveryStatus; n: number }[];
    // The newest succeeded delivery by id (time-ordered) walks the (destination_id, id) index backwards.
    const success = this.db
      .query("SELECT finalized_at FROM deliveries WHERE destination_id = ? AND status = 'succeeded' ORDER BY id DESC LIMIT 1")
      .get(id) as { finalized_at: number } | null;
    const failure = this.db
      .query(
        `SELECT a.started_at, a.error FROM attempts a WHERE a.delivery_id IN (
           SELECT id FROM deliveries WHERE destination_id = ? AND last_error IS NOT NULL ORDER BY id DESC LIMIT 20)
         AND a.error IS NOT NULL ORDER BY a.started_at DESC LIMIT 1`,
      )
      .get(id) as { started_at: number; error: string } | null;
    return {
      counts: statusCounts(counts),
      last_success_at: success?.finalized_at ?? null,
      last_failure_at: failure?.started_at ?? null,
      last_error: failure?.error ?? null,
    };
  }

  // ── retention ────────────────────────────────────────────────────────────

  /**
   * Deletes events created before `cutoff` whose deliveries are all final, with
   * their deliveries and attempts. Works in chunks so no transaction runs long.
   */
  deleteFinishedBefore(cutoff: number, chunk = 1000): number {
    let deleted = 0;
    for (;;) {
      const n = this.db.transaction(() => {
        const ids = this.db
          .query(
            `SELECT id FROM events e WHERE created_at < ? AND NOT EXISTS (
               SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status NOT IN ${FINAL}) LIMIT ?`,
          )
          .all(cutoff, chunk) as { id: string }[];
        for (const { id } of ids) {
          this.db.query("DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_id = ?)").run(id);
          this.db.query("DELETE FROM deliveries WHERE event_id = ?").run(id);
          this.db.query("DELETE FROM events WHERE id = ?").run(id);
        }
        return ids.length;
      }).immediate();
      deleted += n;
      if (n < chunk) return deleted;
    }
  }

  // ── generated tokens ─────────────────────────────────────────────────────

  generatedTokenHashes(): string[] {
    return (this.db.query("SELECT sha256 FROM generated_tokens").all() as { sha256: string }[]).map((r) => r.sha256);
  }

  saveGeneratedToken(name: string, sha256: string, now: number): void {
    this.db.query("INSERT INTO generated_tokens (name, sha256, created_at) VALUES (?, ?, ?)").run(name, sha256, now);
  }
}

/**
 * The status condition with the state written as a literal: the partial indexes
 * of migration 3 (deliveries_open, deliveries_leased) serve a query only when
 * its WHERE names their state, which a bound parameter cannot do.
 */
function statusTerm(status: DeliveryStatus | undefined): string {
  if (status === undefined) return "";
  if (!DELIVERY_STATUSES.includes(status)) throw new Error(`unknown delivery status ${status}`);
  return `status = '${status}'`;
}

function statusCounts(rows: { status: DeliveryStatus; n: number }[]): StatusCounts {
  const counts = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as StatusCounts;
  for (const row of rows) counts[row.status] = row.n;
  return counts;
}

/**
 * Deliveries created in [since, until). Their ids are made from created_at and
 * sort by it (migration 4 dropped the created_at index), so the id range finds
 * the rows and the created_at terms keep the window exact.
 */
function createdWithin(since: number | undefined, until: number | undefined): Condition[] {
  return [
    ["id >= $id_since", "id_since", since === undefined ? undefined : idFloor("dlv", since)],
    ["id < $id_until", "id_until", until === undefined ? undefined : idFloor("dlv", until)],
    ["created_at >= $since", "since", since],
    ["created_at < $until", "until", until],
  ];
}

type Condition = [sql: string, name: string, value: string | number | undefined];

/** Builds a WHERE clause from the conditions whose value is given. */
function conditions(list: Condition[]) {
  const clauses: string[] = [];
  const params: Record<string, string | number> = {};
  for (const [sql, name, value] of list) {
    if (value === undefined) continue;
    clauses.push(sql);
    if (name) params[name] = value; // a condition with no name carries its value as a literal
  }
  return { where: clauses.length ? `WHERE ${clauses.join(" AND ")}` : "", params };
}

/** Rows were fetched with limit + 1: the extra row only tells that a next page exists. */
function page<T>(rows: T[], limit: number, idOf: (row: T) => string): Page<T> {
  if (rows.length <= limit) return { data: rows, next_cursor: null };
  const data = rows.slice(0, limit);
  return { data, next_cursor: idOf(data[data.length - 1]!) };
}
