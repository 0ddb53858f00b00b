// The records Herald keeps and the narrow interface every store implements.
// Glossary (DESIGN §1): an *event* is one published occurrence; a *delivery* is
// the job of getting one event to one *destination*; an *attempt* is one HTTP
// try of a delivery; a *subscription* links a destination to event-type patterns.

export type ManagedBy = "config" | "api";

/** pending → delivering → succeeded | failed; pending/delivering → cancelled. */
export type DeliveryStatus = "pending" | "delivering" | "succeeded" | "failed" | "cancelled";
export const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["pending", "delivering", "succeeded", "failed", "cancelled"];
/** Why a manual retry was refused: no such delivery, one being sent now, or one cancelled for good. */
export type RetryRefusal = "not_found" | "in_flight" | "cancelled";

export interface EventType {
  name: string;
  description: string;
  schema: object | null;
  example: unknown;
  /**
   * The tenants that may see, publish and receive events of this type; null:
   * every tenant. Another tenant's callers never learn that it exists.
   */
  tenants: string[] | null;
  managed_by: ManagedBy;
  created_at: number;
  updated_at: number;
}

/** A client certificate and its private key, PEM, presented to a receiver that asks for one (mutual TLS). */
export interface ClientTls {
  cert: string;
  key: string;
}

/** A signing secret; `expires_at` is set on an old secret during a rotation's grace period. */
export interface SigningSecret {
  secret: string;
  expires_at: number | null;
}

export interface Destination {
  id: string;
  tenant: string;
  url: string;
  description: string;
  secrets: SigningSecret[];
  headers: Record<string, string>;
  /** A client certificate for receivers that require mutual TLS (PEM); write-only like the headers. */
  client_tls: ClientTls | null;
  timeout_ms: number | null;
  rate_limit: number | null;
  /** Most of its deliveries leased (being sent) at once, across instances; null: no limit but delivery.concurrency. */
  max_in_flight: number | null;
  /** Sent strictly in publish order (delivery id), one at a time: only the head may be leased. */
  ordered: boolean;
  enabled: boolean;
  disabled_reason: string | null;
  metadata: Record<string, string>;
  /** When the current run of failures began; null after any success. */
  failing_since: number | null;
  /**
   * The circuit breaker: delivery health kept in the destinations table, like
   * failing_since. Filled in by every read from the store; never written by a
   * catalogue write (and no write of it raises the catalogue version). An
   * in-memory catalogue's copy is stale: ask the store.
   */
  breaker?: BreakerHealth;
  /** An ordered destination held back by its head (engine reads fill it in; see HeadHold). */
  held_by_head?: HeadHold | null;
  /** Its deliveries being sent now, across instances (engine reads fill it in). */
  in_flight?: number;
  managed_by: ManagedBy;
  created_at: number;
  updated_at: number;
}

/**
 * An ordered destination's head that has failed and waits for its retry, with
 * deliveries waiting behind it: until it succeeds or fails for good, nothing
 * else of the destination is sent.
 */
export interface HeadHold {
  delivery_id: string;
  attempts: number;
  next_attempt_at: number | null;
  last_error: string | null;
  /** Deliveries waiting behind the head. */
  waiting: number;
}

export interface Subscription {
  id: string;
  destination_id: string;
  tenant: string;
  event_types: string[];
  filter: object | null;
  enabled: boolean;
  description: string;
  managed_by: ManagedBy;
  created_at: number;
  updated_at: number;
}

/** Event types, destinations and subscriptions as of one catalogue version. */
export interface CatalogSnapshot {
  version: number;
  event_types: EventType[];
  destinations: Destination[];
  subscriptions: Subscription[];
}

/** What a subscription create did: inserted it, found the id taken, or found its destination gone. */
export type SubscriptionCreated = "created" | "taken" | "no_destination";

export interface HeraldEvent {
  id: string;
  type: string;
  tenant: string;
  data: unknown;
  created_at: number;
  /**
   * When the producer asked for its deliveries to be made (scheduled delivery),
   * as given; null when published to be sent at once (reads always say which).
   * Its deliveries were written pending, due at this time, unless it was past.
   * Optional for writers only: an event built without it is not scheduled.
   */
  deliver_at?: number | null;
}

export interface Delivery {
  id: string;
  event_id: string;
  destination_id: string;
  subscription_id: string | null;
  tenant: string;
  event_type: string;
  status: DeliveryStatus;
  /** Attempts made so far, over the delivery's whole life (manual retries included). */
  attempts: number;
  /** `attempts` when the current retry schedule began: a manual retry starts a fresh schedule. */
  schedule_start: number;
  next_attempt_at: number | null;
  lease_until: number | null;
  /** The instance holding the lease while `delivering`; null otherwise. */
  lease_owner: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  finalized_at: number | null;
}

export interface Attempt {
  id: string;
  delivery_id: string;
  number: number;
  started_at: number;
  duration_ms: number;
  request_url: string;
  request_headers: Record<string, string>;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  /** A NUL character in it (or in `error`) is kept on SQLite and stored as U+FFFD on PostgreSQL, whose text type has none. */
  response_body: string | null;
  error: string | null;
}

/** A page of a list: `next_cursor` is the id to continue after, or null at the end. */
export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  destination_id?: string;
  event_id?: string;
  event_type?: string;
  tenant?: string;
  since?: number;
  until?: number;
  cursor?: string;
  limit: number;
}

export interface EventFilter {
  type?: string;
  tenant?: string;
  since?: number;
  until?: number;
  cursor?: string;
  limit: number;
}

/** An event as the sender needs it: `data_json` is the stored JSON text, sent as is. */
export interface EventForDelivery {
  id: string;
  type: string;
  created_at: number;
  data_json: string;
}

/**
 * A lease on a delivery: the instance holding it and until when. Writes that end
 * a lease (an attempt's outcome, a hand-back) name the lease they were given and
 * touch the row only while it still holds that very lease: a send whose lease
 * ran out and was taken over, by another instance or by a later claim of this
 * one, cannot overwrite the new holder's outcome.
 */
export interface Lease {
  owner: string;
  until: number;
}

/** What the dispatcher needs to send one delivery, read in one go. */
export interface DeliveryJob {
  delivery: Delivery;
  event: EventForDelivery;
  /** Claimed as its destination's breaker probe: the one attempt let through while the breaker is open. */
  probe?: boolean;
  /**
   * Claimed within its destination's limit (max_in_flight, ordered), counted by
   * the store. A limited destination's job without it was leased before the
   * limit was set, and goes back to be claimed again within it.
   */
  limited?: boolean;
}

/**
 * The circuit breaker's settings (config delivery.breaker), handed to the store
 * by the engine: the store keeps the state, the config says when it moves.
 */
export interface BreakerSettings {
  /** Consecutive failed attempts that open the breaker; 0: the breaker is off (never opens). */
  failures: number;
  /** While open, one probe attempt goes out this often. */
  probe_every_ms: number;
}

/**
 * A destination's breaker as stored. Closed while `opened_at` is null. Open,
 * the destination's deliveries stay pending and are not claimed, except one
 * probe once `next_probe_at` has come (the claim that takes it moves
 * `next_probe_at` on by probe_every and sets `probe_started_at`, cleared when
 * an attempt of the destination is recorded).
 */
export interface BreakerHealth {
  /** Failed attempts in a row (outcomes applied); 0 after a success. Counted only while the breaker is on. */
  consecutive_failures: number;
  opened_at: number | null;
  next_probe_at: number | null;
  probe_started_at: number | null;
}

export type BreakerState = "closed" | "open" | "half_open";

/** closed; half_open while a probe is in flight (claimed, its attempt not recorded yet); open otherwise. */
export function breakerState(health: BreakerHealth | undefined): BreakerState {
  if (!health || health.opened_at === null) return "closed";
  return health.probe_started_at !== null ? "half_open" : "open";
}

/** A breaker that an attempt's record opened or closed: the store says which write made the transition. */
export interface BreakerChange {
  destination_id: string;
  change: "opened" | "closed";
  /** When it opened (for "closed": when the run that ended had opened it). */
  opened_at: number;
  /** Opened: when the first probe may go out; null for "closed". */
  next_probe_at: number | null;
}

/** What recordAttempt did: whether the outcome applied (the lease was still held), and a breaker transition it made. */
export interface RecordedAttempt {
  applied: boolean;
  breaker: BreakerChange | null;
}

/** The state a delivery moves to after an attempt, decided by the retry policy. */
export type AttemptOutcome =
  | { status: "succeeded" }
  | { status: "pending"; next_attempt_at: number }
  | { status: "failed" };

export interface AttemptRecord {
  delivery_id: string;
  /** The lease the attempt was made under (see Lease). */
  lease: Lease;
  attempt: Omit<Attempt, "id" | "delivery_id" | "number">;
  outcome: AttemptOutcome;
  /** Disable the destination (410 Gone) with this reason. */
  disable_destination?: string;
  /** Count the attempt towards the destination's breaker under these settings; absent: the breaker is off. */
  breaker?: BreakerSettings;
  /**
   * The attempt was a breaker probe: if it failed (outcome pending), the
   * delivery's schedule does not advance (schedule_start moves with attempts),
   * so a delivery used as a probe is never failed because the breaker was open.
   */
  probe?: boolean;
  /**
   * The delivery's attempt count and destination as leased (the job's row). A
   * store may number the attempt from it instead of reading the row back,
   * checking the count in its UPDATE: a stray attempt of an earlier holder
   * (counted meanwhile) sends it back to reading.
   */
  as_leased: { attempts: number; destination_id: string };
}

/** A published event with its deliveries, ready to write in one transaction. */
export interface NewEvent {
  event: HeraldEvent;
  data_json: string;
  idempotency_key: string | null;
  /**
   * The id the producer chose (scoped to the tenant), or null. `event.id` is the
   * same id; the store may answer with a generated one when another tenant's event holds it.
   */
  producer_id?: string | null;
  /** Fingerprint of the request, so a reused key with another body is a conflict. */
  request_hash: string;
  deliveries: Delivery[];
}

export type PublishResult =
  | { created: true; event: HeraldEvent; deliveries: Delivery[] }
  | { created: false; event: HeraldEvent; deliveries: Delivery[]; same_request: boolean };

export type StatusCounts = Record<DeliveryStatus, number>;

/** Deliveries created in a window: counts by state and a series of time buckets. */
export interface DeliveryStats {
  counts: StatusCounts;
  /** Of the pending and delivering ones, those already attempted at least once: failing, waiting to try again. */
  retrying: number;
  series: { start: number; succeeded: number; failed: number; retrying: number }[];
}

export interface DestinationHealth {
  counts: StatusCounts;
  /** Pending or delivering deliveries already attempted at least once (see DeliveryStats). */
  retrying: number;
  last_success_at: number | null;
  last_failure_at: number | null;
  last_error: string | null;
}

/**
 * One time bucket of a destination's attempts (those started in [start, start + bucket)):
 * how many, how many succeeded (a 2xx answer), and their durations' nearest-rank
 * percentiles (the smallest duration with at least 50 % / 95 % of them at or below it).
 */
export interface AttemptBucket {
  start: number;
  attempts: number;
  succeeded: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

/** What a destination has on its hands right now: deliveries being sent, and pending ones already due. */
export interface DestinationLoad {
  in_flight: number;
  due: number;
}

/** Which deliveries a bulk retry puts back: these ids, or every failed one matching the filter; `tenant` (null: any) limits both. */
export type RetrySelection =
  | { ids: string[]; tenant: string | null }
  | { filter: { destination_id?: string; event_type?: string; since?: number; until?: number }; tenant: string | null };

/** running → completed | failed | cancelled (a backfill job; final states carry finished_at). */
export type BackfillStatus = "running" | "completed" | "failed" | "cancelled";

/**
 * A backfill: the job of creating, for one subscription's destination, the
 * deliveries of stored events in [since, until) that match the subscription and
 * that the destination has none of yet. Worked in chunks of events read in
 * (created_at, id) order after the cursor, by whichever instance holds its lease.
 */
export interface BackfillJob {
  id: string;
  subscription_id: string;
  destination_id: string;
  /** The subscription's tenant: only its events are read, and only its tokens see the job. */
  tenant: string;
  since: number;
  until: number;
  status: BackfillStatus;
  /** The last event scanned (its created_at and id), null before the first chunk. */
  cursor_at: number | null;
  cursor_id: string | null;
  events_scanned: number;
  deliveries_created: number;
  /** The instance working it and until when (a lease, as on deliveries); null once finished. */
  lease_owner: string | null;
  lease_until: number | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

/** One chunk of a backfill, written in one transaction by the job's lease holder. */
export interface BackfillChunk {
  job_id: string;
  /** The lease the chunk was worked under: nothing is written unless the job still holds it. */
  lease: Lease;
  /** The lease is renewed until then (ignored when `done`). */
  renew_until: number;
  /** Inserted only where the destination has no delivery of that event yet (any status). */
  deliveries: Delivery[];
  /** The last event of the chunk (unchanged when the chunk read none). */
  cursor: { at: number; id: string } | null;
  /** Events read in this chunk. */
  scanned: number;
  /** The window is exhausted: the job is completed with this chunk. */
  done: boolean;
}

/** Who made a change: a config token or API key (by name), the config file's reconcile, or Herald itself. */
export type ActorType = "token" | "key" | "config" | "herald";
export interface Actor {
  type: ActorType;
  name: string;
}

/**
 * One management change, kept in the audit log: who (`actor`), when (`at`),
 * what (`action`, such as `destination.updated`), to which resource, in which
 * tenant (null: none, an event type), and the fields it changed, each as
 * `{from, to}` with secrets and static header values already redacted by the
 * engine (a header change is a map of header name to `{from, to}`).
 */
export interface AuditEntry {
  /** `aud_` + UUIDv7: time-ordered, the cursor of newest-first pages. */
  id: string;
  at: number;
  actor: Actor;
  action: string;
  resource: { type: string; id: string };
  tenant: string | null;
  changes: Record<string, unknown>;
  /** The request's id when the caller sent one (x-request-id); null otherwise. */
  request_id: string | null;
}

export interface AuditFilter {
  /** Only this tenant's entries (a tenant token's reads); undefined: every entry. */
  tenant?: string;
  resource_type?: string;
  resource_id?: string;
  /** The actor's name. */
  actor?: string;
  action?: string;
  since?: number;
  until?: number;
  cursor?: string;
  limit: number;
}
