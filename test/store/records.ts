// Builders for the contract suite: destinations, and published events with
// deliveries in any state, so an edge case is one line to set up.
import { newId } from "../../src/store/ids.ts";
import type {
  AttemptRecord,
  BackfillJob, Delivery, DeliveryJob, DeliveryStatus, Destination, EventType, HeraldEvent, Lease, NewEvent, Subscription,
} from "../../src/store/types.ts";
import type { Store } from "../../src/store/store.ts";

/** The suite's time origin: a fixed instant, so every test reads the same. */
export const T0 = Date.parse("2026-06-01T12:00:00Z");

/** A lease held by the instance `owner` until `until`. */
export const lease = (until: number, owner = "ins_test"): Lease => ({ owner, until });

/** The lease a claimed job was given, as the dispatcher names it when it records the attempt. */
export const leaseOf = (job: DeliveryJob): Lease => ({ owner: job.delivery.lease_owner!, until: job.delivery.lease_until! });
/** A job's row as leased, as the dispatcher records it (AttemptRecord.as_leased). */
export const asLeased = (job: DeliveryJob) => ({ attempts: job.delivery.attempts, destination_id: job.delivery.destination_id });

export function destination(overrides: Partial<Destination> = {}): Destination {
  const id = overrides.id ?? newId("dst", T0);
  return {
    id, tenant: "default", url: `https://hooks.example.com/${id}`, description: "", secrets: [{ secret: "whsec_" + "A".repeat(32), expires_at: null }],
    headers: {}, client_tls: null, timeout_ms: null, rate_limit: null, max_in_flight: null, ordered: false, enabled: true, disabled_reason: null, metadata: {}, failing_since: null,
    managed_by: "api", created_at: T0, updated_at: T0, ...overrides,
  };
}

export function eventType(name: string, overrides: Partial<EventType> = {}): EventType {
  return { name, description: "", schema: null, example: undefined, tenants: null, managed_by: "api", created_at: T0, updated_at: T0, ...overrides };
}

export function subscription(id: string, destinationId: string, overrides: Partial<Subscription> = {}): Subscription {
  return {
    id, destination_id: destinationId, tenant: "default", event_types: ["*"], filter: null, enabled: true, description: "",
    managed_by: "api", created_at: T0, updated_at: T0, ...overrides,
  };
}

export interface EventOptions {
  at?: number;
  tenant?: string;
  type?: string;
  /** The producer's own id (scoped to its tenant). */
  id?: string;
  idempotency_key?: string;
  data?: unknown;
  /** One delivery per destination id, in this state. */
  to?: string[];
  status?: DeliveryStatus;
  /** Scheduled delivery: the event's deliver_at, and its pending deliveries due then. */
  deliver_at?: number;
}

/** A NewEvent as the publisher builds it, its deliveries in `status` (default pending, due at once). */
export function newEvent(options: EventOptions = {}): NewEvent {
  const at = options.at ?? T0;
  const tenant = options.tenant ?? "default";
  const type = options.type ?? "order.created";
  const data = options.data ?? { n: 1 };
  const id = options.id ?? newId("evt", at);
  const status = options.status ?? "pending";
  const final = status === "succeeded" || status === "failed" || status === "cancelled";
  const deliveries: Delivery[] = (options.to ?? []).map((destination_id) => ({
    id: newId("dlv", at), event_id: id, destination_id, subscription_id: null, tenant, event_type: type, status,
    attempts: 0, schedule_start: 0, next_attempt_at: status === "pending" ? (options.deliver_at ?? at) : null,
    lease_until: status === "delivering" ? at + 60_000 : null, lease_owner: status === "delivering" ? "ins_test" : null,
    last_status: null, last_error: null,
    created_at: at, updated_at: at, finalized_at: final ? at : null,
  }));
  return {
    event: { id, type, tenant, data, created_at: at, deliver_at: options.deliver_at ?? null },
    data_json: JSON.stringify(data),
    idempotency_key: options.idempotency_key ?? null,
    producer_id: options.id ?? null,
    request_hash: String(Bun.hash(`${type}\n${tenant}\n${JSON.stringify(data)}`)),
    deliveries,
  };
}

/** Saves destinations with these ids (the job table's rows refer to them). */
export async function withDestinations(store: Store, ...ids: string[]): Promise<void> {
  for (const id of ids) await store.catalog.saveDestination(destination({ id }));
}

/** A running backfill job of destination "a" over [T0, T0 + 1 s), leased to ins_a for a minute. */
export function backfillJob(overrides: Partial<BackfillJob> = {}): BackfillJob {
  return {
    id: newId("bkf", T0), subscription_id: "sub_late", destination_id: "a", tenant: "default", since: T0, until: T0 + 1_000,
    status: "running", cursor_at: null, cursor_id: null, events_scanned: 0, deliveries_created: 0, lease_owner: "ins_a",
    lease_until: T0 + 60_000, error: null, created_at: T0, updated_at: T0, finished_at: null, ...overrides,
  };
}

/** The delivery a backfill makes of `event` for destination `to`. */
export function backfilled(event: Pick<HeraldEvent, "id" | "type" | "tenant">, to: string, now: number): Delivery {
  return {
    id: newId("dlv", now), event_id: event.id, destination_id: to, subscription_id: "sub_late", tenant: event.tenant,
    event_type: event.type, status: "pending", attempts: 0, schedule_start: 0, next_attempt_at: now, lease_until: null,
    lease_owner: null, last_status: null, last_error: null, created_at: now, updated_at: now, finalized_at: null,
  };
}

/**
 * An attempt's record made under the lease `job` was claimed with: a 200 when
 * the outcome succeeded, else `failed_status` (500). `extra` sets the rest
 * (breaker settings, probe, another attempt).
 */
export function attemptRecord(
  job: DeliveryJob, outcome: AttemptRecord["outcome"], at = T0, extra: Partial<AttemptRecord> = {}, failed_status = 500,
): AttemptRecord {
  const ok = outcome.status === "succeeded";
  return {
    delivery_id: job.delivery.id,
    lease: leaseOf(job),
    attempt: {
      started_at: at, duration_ms: 5, request_url: "https://hooks.example.com/x", request_headers: {},
      response_status: ok ? 200 : failed_status, response_headers: {}, response_body: "", error: ok ? null : `HTTP ${failed_status}`,
    },
    outcome,
    // As the dispatcher records: the count and destination of the row as leased.
    as_leased: asLeased(job),
    ...extra,
  };
}

/** An answered attempt: succeeded on `ok`, else a 503 retried 5 s later. */
export const answered = (job: DeliveryJob, ok: boolean, at: number, extra: Partial<AttemptRecord> = {}): AttemptRecord =>
  attemptRecord(job, ok ? { status: "succeeded" } : { status: "pending", next_attempt_at: at + 5_000 }, at, extra, 503);
