// Turns SQLite rows into Herald's records and back: JSON columns are parsed,
// 0/1 become booleans, a destination's secrets and headers are opened and sealed
// (../sealing.ts). Nothing outside the store sees a raw row.
import { type Keyring, openDestination, sealDestination } from "../sealing.ts";
import type { Attempt, Delivery, Destination, EventType, HeraldEvent, Subscription } from "../types.ts";

type Row = Record<string, any>;

const parseJson = (text: string | null): any => (text === null ? null : JSON.parse(text));

export function toEventType(row: any): EventType {
  return {
    name: row.name,
    description: row.description,
    schema: parseJson(row.schema),
    example: row.example === null ? undefined : JSON.parse(row.example),
    tenants: parseJson(row.tenants ?? null),
    managed_by: row.managed_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function eventTypeParams(t: EventType): Row {
  return {
    name: t.name,
    description: t.description,
    schema: t.schema === null ? null : JSON.stringify(t.schema),
    example: t.example === undefined ? null : JSON.stringify(t.example),
    tenants: t.tenants === null ? null : JSON.stringify(t.tenants),
    managed_by: t.managed_by,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

export function toDestination(row: any, keyring: Keyring): Destination {
  return {
    id: row.id,
    tenant: row.tenant,
    url: row.url,
    description: row.description,
    ...openDestination(keyring, row),
    timeout_ms: row.timeout_ms,
    rate_limit: row.rate_limit,
    max_in_flight: row.max_in_flight ?? null,
    ordered: row.ordered === 1,
    enabled: row.enabled === 1,
    disabled_reason: row.disabled_reason,
    metadata: JSON.parse(row.metadata),
    failing_since: row.failing_since,
    managed_by: row.managed_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
    breaker: {
      consecutive_failures: row.consecutive_failures ?? 0,
      opened_at: row.breaker_opened_at ?? null,
      next_probe_at: row.breaker_probe_at ?? null,
      probe_started_at: row.breaker_probe_started_at ?? null,
    },
  };
}

export function destinationParams(d: Destination, keyring: Keyring): Row {
  return {
    id: d.id,
    tenant: d.tenant,
    url: d.url,
    description: d.description,
    ...sealDestination(keyring, d),
    timeout_ms: d.timeout_ms,
    rate_limit: d.rate_limit,
    max_in_flight: d.max_in_flight,
    ordered: d.ordered ? 1 : 0,
    enabled: d.enabled ? 1 : 0,
    disabled_reason: d.disabled_reason,
    metadata: JSON.stringify(d.metadata),
    failing_since: d.failing_since,
    managed_by: d.managed_by,
    created_at: d.created_at,
    updated_at: d.updated_at,
  };
}

export function toSubscription(row: any): Subscription {
  return {
    id: row.id,
    destination_id: row.destination_id,
    tenant: row.tenant,
    event_types: JSON.parse(row.event_types),
    filter: parseJson(row.filter),
    enabled: row.enabled === 1,
    description: row.description,
    managed_by: row.managed_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export function subscriptionParams(s: Subscription): Row {
  return {
    id: s.id,
    destination_id: s.destination_id,
    tenant: s.tenant,
    event_types: JSON.stringify(s.event_types),
    filter: s.filter === null ? null : JSON.stringify(s.filter),
    enabled: s.enabled ? 1 : 0,
    description: s.description,
    managed_by: s.managed_by,
    created_at: s.created_at,
    updated_at: s.updated_at,
  };
}

export function toEvent(row: any): HeraldEvent {
  return {
    id: row.id, type: row.type, tenant: row.tenant, data: JSON.parse(row.data), created_at: row.created_at, deliver_at: row.deliver_at ?? null,
  };
}

/**
 * A delivery's columns as Delivery has them, for the reads that toDelivery
 * takes as they are (no copy): `parked` (migration 21) is the store's own and
 * stays out of what it hands on.
 */
export const DELIVERY_COLUMNS =
  "id, event_id, destination_id, subscription_id, tenant, event_type, status, attempts, schedule_start, next_attempt_at, lease_until, lease_owner, last_status, last_error, created_at, updated_at, finalized_at";

/** Delivery rows map one to one onto the record. */
export function toDelivery(row: any): Delivery {
  return row as Delivery;
}

export function toAttempt(row: any): Attempt {
  return {
    id: row.id,
    delivery_id: row.delivery_id,
    number: row.number,
    started_at: row.started_at,
    duration_ms: row.duration_ms,
    request_url: row.request_url,
    request_headers: JSON.parse(row.request_headers),
    response_status: row.response_status,
    response_headers: parseJson(row.response_headers),
    response_body: row.response_body,
    error: row.error,
  };
}
