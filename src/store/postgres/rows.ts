// Turns PostgreSQL rows into Herald's records: the same shapes as SQLite's
// (../sqlite/rows.ts); a destination's secrets and headers are opened and sealed (../sealing.ts). Bun returns BIGINT (int8) columns as strings, so every time
// column and count becomes a number here; BOOLEAN columns already are booleans.
import { type Keyring, openDestination, sealDestination } from "../sealing.ts";
import type { Attempt, Delivery, Destination, EventForDelivery, EventType, HeraldEvent, Subscription } from "../types.ts";

type Row = Record<string, any>;

/** An int8 as a number; times in ms stay far below 2^53. */
export const num = (value: unknown): number => Number(value);
export const numOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));
const parseJson = (text: string | null): any => (text === null ? null : JSON.parse(text));
const jsonOrNull = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

export function toEventType(row: Row): EventType {
  return {
    name: row.name,
    description: row.description,
    schema: parseJson(row.schema),
    example: row.example === null ? undefined : JSON.parse(row.example),
    tenants: parseJson(row.tenants ?? null),
    managed_by: row.managed_by,
    created_at: num(row.created_at),
    updated_at: num(row.updated_at),
  };
}

export function eventTypeRow(t: EventType): Row {
  return {
    name: t.name,
    description: t.description,
    schema: jsonOrNull(t.schema),
    example: jsonOrNull(t.example),
    tenants: jsonOrNull(t.tenants),
    managed_by: t.managed_by,
    created_at: Math.round(t.created_at),
    updated_at: Math.round(t.updated_at),
  };
}

export function toDestination(row: Row, keyring: Keyring): Destination {
  return {
    id: row.id,
    tenant: row.tenant,
    url: row.url,
    description: row.description,
    ...openDestination(keyring, row as { id: string; secrets: string; headers: string; client_tls: string | null }),
    timeout_ms: row.timeout_ms,
    rate_limit: row.rate_limit,
    max_in_flight: row.max_in_flight ?? null,
    ordered: row.ordered === true,
    enabled: row.enabled,
    disabled_reason: row.disabled_reason,
    metadata: JSON.parse(row.metadata),
    failing_since: numOrNull(row.failing_since),
    managed_by: row.managed_by,
    created_at: num(row.created_at),
    updated_at: num(row.updated_at),
    breaker: {
      consecutive_failures: row.consecutive_failures ?? 0,
      opened_at: numOrNull(row.breaker_opened_at),
      next_probe_at: numOrNull(row.breaker_probe_at),
      probe_started_at: numOrNull(row.breaker_probe_started_at),
    },
  };
}

export function destinationRow(d: Destination, keyring: Keyring): Row {
  return {
    id: d.id,
    tenant: d.tenant,
    url: d.url,
    description: d.description,
    ...sealDestination(keyring, d),
    timeout_ms: d.timeout_ms,
    rate_limit: d.rate_limit,
    max_in_flight: d.max_in_flight,
    ordered: d.ordered,
    enabled: d.enabled,
    disabled_reason: d.disabled_reason,
    metadata: JSON.stringify(d.metadata),
    failing_since: d.failing_since === null ? null : Math.round(d.failing_since),
    managed_by: d.managed_by,
    created_at: Math.round(d.created_at),
    updated_at: Math.round(d.updated_at),
  };
}

export function toSubscription(row: Row): Subscription {
  return {
    id: row.id,
    destination_id: row.destination_id,
    tenant: row.tenant,
    event_types: JSON.parse(row.event_types),
    filter: parseJson(row.filter),
    enabled: row.enabled,
    description: row.description,
    managed_by: row.managed_by,
    created_at: num(row.created_at),
    updated_at: num(row.updated_at),
  };
}

export function subscriptionRow(s: Subscription): Row {
  return {
    id: s.id,
    destination_id: s.destination_id,
    tenant: s.tenant,
    event_types: JSON.stringify(s.event_types),
    filter: jsonOrNull(s.filter),
    enabled: s.enabled,
    description: s.description,
    managed_by: s.managed_by,
    created_at: Math.round(s.created_at),
    updated_at: Math.round(s.updated_at),
  };
}

export function toEvent(row: Row): HeraldEvent {
  return {
    id: row.id, type: row.type, tenant: row.tenant, data: JSON.parse(row.data), created_at: num(row.created_at),
    deliver_at: numOrNull(row.deliver_at),
  };
}

export function toEventForDelivery(row: Row): EventForDelivery {
  return { id: row.id, type: row.type, created_at: num(row.created_at), data_json: row.data_json };
}

export function toDelivery(row: Row): Delivery {
  return {
    id: row.id,
    event_id: row.event_id,
    destination_id: row.destination_id,
    subscription_id: row.subscription_id,
    tenant: row.tenant,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    schedule_start: row.schedule_start,
    next_attempt_at: numOrNull(row.next_attempt_at),
    lease_until: numOrNull(row.lease_until),
    lease_owner: row.lease_owner,
    last_status: row.last_status,
    last_error: row.last_error,
    created_at: num(row.created_at),
    updated_at: num(row.updated_at),
    finalized_at: numOrNull(row.finalized_at),
  };
}

export function deliveryRow(d: Delivery): Row {
  const round = (t: number | null) => (t === null ? null : Math.round(t));
  return {
    ...d,
    next_attempt_at: round(d.next_attempt_at),
    lease_until: round(d.lease_until),
    created_at: Math.round(d.created_at),
    updated_at: Math.round(d.updated_at),
    finalized_at: round(d.finalized_at),
  };
}

export function toAttempt(row: Row): Attempt {
  return {
    id: row.id,
    delivery_id: row.delivery_id,
    number: row.number,
    started_at: num(row.started_at),
    duration_ms: num(row.duration_ms),
    request_url: row.request_url,
    request_headers: JSON.parse(row.request_headers),
    response_status: row.response_status,
    response_headers: parseJson(row.response_headers),
    response_body: row.response_body,
    error: row.error,
  };
}
