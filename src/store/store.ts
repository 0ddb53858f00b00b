// The store, in four parts by role: the queue (the job table and its leases),
// the catalogue (event types, destinations, subscriptions), the log (what was
// published, sent and answered, read back) and admin (readiness, backups,
// retention, generated tokens). Every method is asynchronous, so that a store
// across the network (PostgreSQL) sits behind the same shape as SQLite. How a
// store commits (group commit, WAL syncs, `synchronous`) stays inside it.
import type {
  Attempt, AttemptRecord, Delivery, DeliveryFilter, DeliveryJob, Destination, EventFilter, EventType,
  HeraldEvent, Lease, NewEvent, Page, PublishResult, Subscription, DeliveryStats, DestinationHealth, RetryRefusal, AttemptBucket, DestinationLoad, RetrySelection,
  CatalogSnapshot, SubscriptionCreated, BreakerSettings, RecordedAttempt, BackfillChunk, BackfillJob, BackfillStatus,
  AuditEntry, AuditFilter,
} from "./types.ts";
import type { ApiKeyStore } from "./api-keys.ts";
import type { PortalLinkStore } from "./portal-links.ts";
import type { Keyring } from "./sealing.ts";

export interface Store {
  readonly queue: QueueStore;
  readonly catalog: CatalogStore;
  readonly log: LogStore;
  readonly admin: AdminStore;
  /** Backfill jobs: deliveries made after the fact for stored events, worked in chunks under a lease. */
  readonly backfills: BackfillStore;
  /** The audit log: who changed what in the catalogue and the queue, kept under retention. */
  readonly audit: AuditStore;
  /** API keys made through /v1/api-keys, kept only as hashes (api-keys.ts). */
  readonly keys: ApiKeyStore;
  /** The records of issued customer portal links (portal-links.ts): listed, revoked, checked on each use. */
  readonly portalLinks: PortalLinkStore;
  /**
   * News from other instances sharing the database, where the store can carry
   * it (PostgreSQL: LISTEN/NOTIFY); null where it cannot (SQLite), and the
   * sweep finds the same changes within one interval.
   */
  readonly signals: StoreSignals | null;
  /** The keys the destinations' secrets and headers are sealed with (sealing.ts), and moving them to new ones. */
  readonly sealing: SealingStore;
  /** Commits whatever is still gathered, lets go of the instance's lock (if any) and closes. */
  close(): Promise<void>;
}

/**
 * Sealing at rest (sealing.ts). Opening a store checks its keys against the
 * database's check value and seals, a transaction per chunk, every value not
 * sealed as its keyring seals now (plaintext from before, or a key change
 * under way), so nothing here is needed for that.
 */
export interface SealingStore {
  /** The keyring the store opened with. */
  readonly keyring: Keyring;
  /**
   * Seals every value again under `next` (Keyring.toward: the new key and the
   * current one, so running instances keep reading), a transaction per chunk
   * of rows while Herald may be running, then the check value. How many
   * destinations were sealed again; running it twice changes nothing more.
   */
  reseal(next: Keyring, onChunk?: (done: number) => void): Promise<number>;
}

/** What the store tells an instance about changes made through the others. */
export interface StoreSignals {
  /**
   * From now on calls `work` when due deliveries that nobody leased were
   * written (a publish past another instance's capacity, leases handed back, a
   * re-queue), `catalog` when the catalogue changed, and `instances` when an
   * instance registered or left (a clean stop, or found dead), and `keys` when
   * an API key was made, revoked or deleted. Any may come more often than
   * needed; none carries data. Resolves once listening.
   */
  listen(handlers: { work(): void; catalog(): void; instances(): void; keys(): void }): Promise<void>;
}

/**
 * The job table: publishing (an event and its deliveries, together), claiming
 * due deliveries under a lease, recording attempts, and handing leases back.
 * A lease names the instance that holds it; only the holder's writes move a
 * leased delivery, and only a dead instance's or an expired lease is taken back.
 */
export interface QueueStore {
  /**
   * Writes an event with its deliveries. A delivery handed in leased
   * (`delivering`) whose destination's breaker is open is written pending
   * instead, due now, so that no instance sends past an open breaker; the
   * result's deliveries say which were written leased.
   */
  publish(item: NewEvent): Promise<PublishResult>;
  /**
   * Writes several events, each exactly as `publish` would (a repeat among them
   * is answered as one), one result per item in order: a batch request's
   * events. SQLite writes them in one write of its group commit, all or none;
   * PostgreSQL gathers each as a publish, so a failure fails the call but may
   * leave some of them written (each whole, with its deliveries).
   */
  publishMany(items: NewEvent[]): Promise<PublishResult[]>;
  /**
   * Leases up to `limit` due pending deliveries, earliest due first, each with
   * its event. Deliveries of a destination whose breaker is open are held back,
   * except one probe per destination whose next probe time has come: taken in
   * the same write that moves that time on by `breaker.probe_every_ms`, so that
   * claims racing on several instances send one probe per interval between them
   * (flagged `probe`, and on top of `limit`). Without `breaker`, no probe is taken.
   * `anyLimited` false says the caller's catalogue holds no limited destination
   * (max_in_flight, ordered): the claim may skip looking for them (on
   * PostgreSQL a round trip per claim). It never leases past a limit either
   * way: the plain claim passes limited destinations over, so one made limited
   * elsewhere waits for the caller's catalogue to catch up.
   */
  claimDue(now: number, lease: Lease, limit: number, breaker?: BreakerSettings, anyLimited?: boolean): Promise<DeliveryJob[]>;
  /** The destinations whose breaker is open (or half open) now. */
  openBreakers(): Promise<string[]>;
  /**
   * Moves pending rows between deliveries_due and deliveries_parked where a
   * destination's rows are not yet where its state says (held: disabled,
   * breaker open, max_in_flight or ordered; DESIGN: parked rows): at most
   * `budget` rows, in one transaction, earliest due first when unparking.
   * Nothing to move costs one read of an empty partial index. `verify` also
   * looks for parked rows of a destination that is not held (a publish that
   * raced a move on another instance, a deleted destination) and moves them
   * back. An unparking destination's rows due by `now` are left where they
   * are, for claimDue to take from there: the move is under way (`more`) until
   * they are taken. `more`: rows are left to move (call again).
   */
  settleParking(budget: number, verify: boolean, now: number): Promise<ParkingSettled>;
  /**
   * The deliveries a publish leased to `owner` beyond what its dispatcher keeps
   * in memory (leased on disk), each with its event as claimDue hands it: those
   * still held with the lease each was written with (`leases`: delivery id to
   * lease end). One taken back, cancelled or ended meanwhile is left out; the
   * job table has it where it now belongs. A read: the leases are already held.
   */
  readLeased(owner: string, leases: Map<string, number>): Promise<DeliveryJob[]>;
  /** Whether the delivery is still leased under `lease` (another may have taken it over, or it was cancelled). */
  holdsLease(id: string, lease: Lease): Promise<boolean>;
  /** Hands one delivery back to pending without an attempt, if it still holds `lease`. */
  releaseLease(id: string, lease: Lease, now: number, dueAt?: number): Promise<void>;
  /** Moves the end of `lease` to `until` if the delivery still holds it; false when it does not (returned, taken over, ended). */
  extendLease(id: string, lease: Lease, until: number): Promise<boolean>;
  releaseExpiredLeases(now: number): Promise<number>;
  /** Cancels a delivery whose destination is gone; false when it had already ended. */
  cancelOrphan(id: string, now: number): Promise<boolean>;
  /**
   * Logs an attempt and moves the delivery to its outcome, if it still holds the
   * attempt's lease; otherwise the attempt is only logged and counted, and the
   * row is left to whoever holds it now. Resolves to whether the outcome applied.
   * An applied outcome also moves the destination's health in the same
   * transaction: failing_since, and under `record.breaker` the count of failures
   * in a row, opening the breaker at the threshold (first probe probe_every
   * later) and closing it on a success; `breaker` says when this very write
   * opened or closed it, so each transition is announced once across instances.
   */
  recordAttempt(record: AttemptRecord, now: number): Promise<RecordedAttempt>;
  /** Leases a delivery for a manual retry; `tenant` (null: any) limits it to one tenant's deliveries. */
  leaseForRetry(id: string, now: number, lease: Lease, tenant: string | null): Promise<{ job: DeliveryJob } | { error: RetryRefusal }>;
  /**
   * Cancels the event's deliveries not yet made: those `pending` (scheduled, or
   * waiting for a retry), never one `delivering` (being sent right now: it is
   * left to finish) nor one already final. `tenant` (null: any) limits it to one
   * tenant's deliveries. How many were cancelled.
   */
  cancelPendingOfEvent(eventId: string, now: number, tenant: string | null): Promise<number>;
  /** Puts a destination's failed deliveries ended within [since, until) back to pending; how many. */
  requeueFailed(destinationId: string, since: number, until: number, now: number): Promise<number>;
  /**
   * Puts the selected deliveries that are `failed` back to pending, due now, with a
   * fresh schedule (as requeueFailed); any other state, or another tenant's, is left
   * alone. One statement. How many were put back.
   */
  requeueSelected(selection: RetrySelection, now: number): Promise<number>;

  // Instances: every process that leases deliveries registers under its own id
  // (DESIGN §7: several may share one database, and only a dead one's leases are taken back).
  /** Registers a live instance; from now on the store can tell whether it is still alive. */
  registerInstance(id: string, now: number): Promise<void>;
  /** Notes that the instance is alive at `now` (each sweep). */
  heartbeat(id: string, now: number): Promise<void>;
  /** A clean stop: the leases the instance still holds go back to pending, and it is forgotten. */
  retireInstance(id: string, now: number): Promise<number>;
  /**
   * Returns to pending, due now, the leases of instances that are gone: proven
   * dead by the store (SQLite: the instance's lock is free), or, where the store
   * cannot tell, silent since `staleBefore`; and leases that name no known
   * instance. A live instance's leases are never taken. Forgets the dead instances.
   */
  releaseLeasesOfDeadInstances(now: number, staleBefore: number): Promise<number>;
  /** How many instances are registered (the dead are forgotten by releaseLeasesOfDeadInstances); at least 1 once this one is. */
  countInstances(): Promise<number>;
}

/**
 * Event types, destinations and subscriptions. Every write raises the catalogue
 * version in the same transaction. Creates insert only when the key is free and
 * say whether they did; updates change only a row that still exists (a deleted
 * resource is never brought back); the upserts (save*, upsertEventType) are for
 * resources whose id the config owns.
 *
 * Every write takes an optional audit entry (AuditEntry), written in the same
 * transaction as the change when the write changed a row (a create that found
 * the key taken, an update or delete that found nothing, writes no entry), so
 * that no catalogue change is ever kept without its entry, nor an entry without its change.
 */
export interface CatalogStore {
  /** The version the last catalogue write left; one cheap read. */
  version(): Promise<number>;
  /** The whole catalogue as of one version, read together. */
  load(): Promise<CatalogSnapshot>;

  listEventTypes(): Promise<EventType[]>;
  getEventType(name: string): Promise<EventType | null>;
  /** Inserts the event type unless the name is taken; false when it was. */
  createEventType(t: EventType, audit?: AuditEntry): Promise<boolean>;
  /** Changes an existing event type; false when there is none by that name. */
  updateEventType(t: EventType, audit?: AuditEntry): Promise<boolean>;
  upsertEventType(t: EventType, audit?: AuditEntry): Promise<void>;
  deleteEventType(name: string, audit?: AuditEntry): Promise<boolean>;

  listDestinations(filter: { tenant?: string; cursor?: string; limit: number }): Promise<Page<Destination>>;
  allDestinations(): Promise<Destination[]>;
  getDestination(id: string): Promise<Destination | null>;
  /** Inserts the destination unless the id is taken; false when it was. */
  createDestination(d: Destination, audit?: AuditEntry): Promise<boolean>;
  /** Changes an existing destination (failing_since included); false when there is none with that id. */
  updateDestination(d: Destination, audit?: AuditEntry): Promise<boolean>;
  saveDestination(d: Destination, audit?: AuditEntry): Promise<void>;
  /** Deletes a destination, its subscriptions, and cancels its unfinished deliveries. */
  deleteDestination(id: string, now: number, audit?: AuditEntry): Promise<boolean>;
  setDestinationEnabled(id: string, enabled: boolean, reason: string | null, now: number, audit?: AuditEntry): Promise<boolean>;
  destinationsFailingSince(cutoff: number): Promise<Destination[]>;

  listSubscriptions(filter: { tenant?: string; destination_id?: string; cursor?: string; limit: number }): Promise<Page<Subscription>>;
  allSubscriptions(): Promise<Subscription[]>;
  getSubscription(id: string): Promise<Subscription | null>;
  /** Inserts the subscription unless the id is taken or its destination is gone. */
  createSubscription(s: Subscription, audit?: AuditEntry): Promise<SubscriptionCreated>;
  /** Changes an existing subscription; false when there is none with that id. */
  updateSubscription(s: Subscription, audit?: AuditEntry): Promise<boolean>;
  saveSubscription(s: Subscription, audit?: AuditEntry): Promise<void>;
  deleteSubscription(id: string, audit?: AuditEntry): Promise<boolean>;
}

/** What one settleParking call did: rows moved either way, and whether rows are left to move. */
export interface ParkingSettled {
  moved: number;
  more: boolean;
}

/** LogStore.queueFigures. */
export interface QueueFigures {
  oldest_due_at: number | null;
  breakers: { open: number; half_open: number };
}

/** The destinations LogStore.destinationsHealth reads, and the window of their counts. */
export interface HealthFilter {
  ids: string[];
  /** Only this tenant's destinations; all when left out. */
  tenant?: string;
  since: number;
  until: number;
}

/** Reads of what was published, sent and answered: the event and attempt log, and figures over it. */
export interface LogStore {
  getEvent(id: string): Promise<HeraldEvent | null>;
  listEvents(filter: EventFilter): Promise<Page<HeraldEvent>>;
  getDelivery(id: string): Promise<Delivery | null>;
  deliveriesOfEvent(eventId: string): Promise<Delivery[]>;
  listDeliveries(filter: DeliveryFilter): Promise<Page<Delivery>>;
  attemptsOf(deliveryId: string): Promise<Attempt[]>;
  /**
   * An ordered destination's head: its earliest unfinished (pending or
   * delivering) delivery by id, the only one that may be sent, and how many
   * more wait behind it. Null when nothing is unfinished.
   */
  orderedHead(destinationId: string): Promise<{ head: Delivery; waiting: number } | null>;
  countDeliveriesByStatus(destinationId?: string): Promise<Record<string, number>>;
  /**
   * For a metrics scrape, cheap at any size (indexes only): when the oldest
   * pending delivery due by `now` fell due (null when none is), and how many
   * destinations' breakers are open or half open.
   */
  queueFigures(now: number): Promise<QueueFigures>;
  deliveryStats(filter: { tenant?: string; destination_id?: string; since: number; until: number; bucket_ms: number }): Promise<DeliveryStats>;
  /**
   * Each destination's deliveries created in [since, until) by state, and its
   * newest success and failure (at any time), in one read for all of `ids`:
   * keyed by id, holding only those that exist (and are `tenant`'s, when given).
   */
  destinationsHealth(filter: HealthFilter): Promise<Map<string, DestinationHealth>>;
  /**
   * The destination's attempts started in [since, until) in buckets of
   * `bucket_ms` (aligned to multiples of it), oldest first; empty buckets are left out.
   */
  attemptBuckets(destinationId: string, since: number, until: number, bucket_ms: number): Promise<AttemptBucket[]>;
  /** Its deliveries being sent now (across instances), and its pending ones due by `now`. */
  destinationLoad(destinationId: string, now: number): Promise<DestinationLoad>;
  /** The deliveries being sent now (leased, across instances) of each of these destinations, in one read; absent means none. */
  inFlight(destinationIds: string[]): Promise<Map<string, number>>;
}

/**
 * Backfill jobs (types.ts: BackfillJob). A job is leased to one instance at a
 * time, like a delivery: only the holder's chunk writes apply, and a job whose
 * lease ran out or whose holder is no registered instance is taken over by
 * `claim`. Nothing here runs on the publish, claim or record paths.
 */
export interface BackfillStore {
  /** Writes a new job (running, leased as it says). */
  create(job: BackfillJob): Promise<void>;
  get(id: string): Promise<BackfillJob | null>;
  /** Newest first; `tenant` and `subscription_id` narrow it when given. */
  list(filter: { tenant?: string; subscription_id?: string; cursor?: string; limit: number }): Promise<Page<BackfillJob>>;
  /**
   * Leases to `lease` up to `limit` running jobs whose lease ran out by `now`
   * or whose holder is not a registered instance; the jobs as now leased. Two
   * instances claiming at once never both take one job.
   */
  claim(now: number, lease: Lease, limit: number): Promise<BackfillJob[]>;
  /**
   * The job's next events: those of its tenant created in [since, until) after
   * its cursor, in (created_at, id) order, at most `limit`.
   */
  nextEvents(job: Pick<BackfillJob, "tenant" | "since" | "until" | "cursor_at" | "cursor_id">, limit: number): Promise<HeraldEvent[]>;
  /**
   * One chunk in one transaction, if the job is running and still holds
   * `chunk.lease`: inserts each delivery unless its destination has one of that
   * event already (so a chunk written twice makes no second delivery), moves the
   * cursor, adds the counts, and renews the lease (or completes the job when
   * `done`). The job as written and how many deliveries were inserted; null
   * when the lease was lost (taken over, or the job was cancelled): nothing written.
   */
  writeChunk(chunk: BackfillChunk, now: number): Promise<{ job: BackfillJob; created: number } | null>;
  /**
   * Ends a running job: under `lease` only its holder may (null: whoever holds
   * it, as a cancel through the API does). `tenant` (null: any) limits it to one
   * tenant's job. The job as ended, or null when no running job matched.
   */
  finish(id: string, status: Exclude<BackfillStatus, "running" | "completed">, error: string | null, now: number,
    options: { lease?: Lease; tenant?: string | null }): Promise<BackfillJob | null>;
  /** Deletes the jobs that finished before `cutoff` (retention); how many. */
  deleteFinishedBefore(cutoff: number): Promise<number>;
}

/**
 * The audit log (types.ts: AuditEntry). Catalogue changes bring their entry
 * into their own transaction (CatalogStore); `record` writes one on its own,
 * right after a change the catalogue does not make (a retry, a recover, a
 * cancel, a backfill, a test send, a 410's disabling on the record path).
 * Nothing here runs on the publish, claim or record paths.
 */
export interface AuditStore {
  record(entry: AuditEntry): Promise<void>;
  /** Newest first (by id); every filter given narrows it. */
  list(filter: AuditFilter): Promise<Page<AuditEntry>>;
  /** Deletes the entries made before `cutoff` (retention); how many. */
  deleteBefore(cutoff: number): Promise<number>;
}

/** Keeping the store itself: readiness, backups, retention, and the tokens Herald generated. */
export interface AdminStore {
  /**
   * Whether the store takes writes now (the readiness probe). While writes
   * fail, this is also what finds it writable again.
   */
  probeWritable(): Promise<boolean>;
  /** Bytes the store takes on disk: SQLite's file and its WAL; PostgreSQL's tables (with indexes and TOAST) in its schema. */
  sizeBytes(): Promise<number>;
  /** An online, consistent copy of the database at `path`. */
  backup(path: string): Promise<void>;
  /** Deletes the events created before `cutoff` whose deliveries are all final, with their deliveries and attempts, in chunks; how many events. */
  deleteFinishedBefore(cutoff: number, chunk?: number): Promise<number>;
  /**
   * Elects one instance for the maintenance that must not run twice at once
   * (auto-disable, retention): true when `instance` holds the maintenance lease,
   * now renewed until `until`. It is taken over once it runs out, or at once
   * when its holder is no longer a registered instance (stopped, or found dead).
   */
  leadMaintenance(instance: string, now: number, until: number): Promise<boolean>;
  generatedTokenHashes(): Promise<string[]>;
  saveGeneratedToken(name: string, sha256: string, now: number): Promise<void>;
}
