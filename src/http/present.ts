// How records look in API answers: times as ISO 8601 strings, secrets and static
// header values never included (a destination's secret and headers have their own routes).
import type { Attempt, Delivery, Destination, DestinationHealth, EventType, HeraldEvent, Subscription } from "../engine/records.ts";
import { breakerState } from "../engine/records.ts";
import { currentSecret, publicKeyOf, schemeOf } from "../rules/signing-keys.ts";
import type { Scope } from "../engine/scope.ts";
import { successRate } from "../engine/success-rate.ts";

export const time = (ms: number): string => new Date(ms).toISOString();
export const iso = (ms: number | null): string | null => (ms === null ? null : time(ms));

export function presentEvent(e: HeraldEvent) {
  return { id: e.id, type: e.type, tenant: e.tenant, data: e.data, created_at: time(e.created_at), deliver_at: iso(e.deliver_at ?? null) };
}

export function presentDelivery(d: Delivery) {
  return {
    id: d.id, event_id: d.event_id, destination_id: d.destination_id, subscription_id: d.subscription_id,
    tenant: d.tenant, event_type: d.event_type, status: d.status, attempt_count: d.attempts,
    next_attempt_at: iso(d.next_attempt_at), last_status: d.last_status, last_error: d.last_error,
    created_at: time(d.created_at), updated_at: time(d.updated_at), finalized_at: iso(d.finalized_at),
  };
}

export function presentAttempt(a: Attempt) {
  return {
    id: a.id, delivery_id: a.delivery_id, number: a.number, started_at: time(a.started_at), duration_ms: a.duration_ms,
    request: { url: a.request_url, headers: a.request_headers },
    response: a.response_status === null ? null : { status: a.response_status, headers: a.response_headers, body: a.response_body },
    error: a.error,
  };
}

export function presentDestination(d: Destination) {
  return {
    // Names only: values are write-only, like the secret (x-auth-token …). A list, not a
    // map of masked values, so a PATCH of `headers` is never mistaken for a round trip.
    id: d.id, tenant: d.tenant, url: d.url, description: d.description, header_names: Object.keys(d.headers),
    // Whether one is set, never the certificate or its key: no route reveals them.
    client_certificate: d.client_tls !== null,
    // The scheme, and for ed25519 the public key: not a secret (receivers verify with it).
    ...signatureOf(d),
    timeout: d.timeout_ms, rate_limit: d.rate_limit, max_in_flight: d.max_in_flight, ordered: d.ordered, enabled: d.enabled, disabled_reason: d.disabled_reason,
    metadata: d.metadata, failing_since: iso(d.failing_since), managed_by: d.managed_by,
    breaker: breakerState(d.breaker), breaker_opened_at: iso(d.breaker?.opened_at ?? null),
    breaker_next_probe_at: iso(d.breaker?.opened_at == null ? null : d.breaker.next_probe_at),
    held_by_head: d.held_by_head ? { ...d.held_by_head, next_attempt_at: iso(d.held_by_head.next_attempt_at) } : null,
    in_flight: d.in_flight ?? 0,
    created_at: time(d.created_at), updated_at: time(d.updated_at),
  };
}

/** A destination's stats over [since, until) (DestinationStatsBody): the same from its own route and from the route for many. */
export function presentDestinationStats(id: string, since: number, until: number, health: DestinationHealth) {
  return {
    destination_id: id, since: time(since), until: time(until), counts: health.counts, retrying: health.retrying,
    success_rate: successRate(health.counts, health.retrying),
    last_success_at: iso(health.last_success_at), last_failure_at: iso(health.last_failure_at), last_error: health.last_error,
  };
}

export function presentSubscription(s: Subscription) {
  return {
    id: s.id, destination_id: s.destination_id, tenant: s.tenant, event_types: s.event_types, filter: s.filter,
    enabled: s.enabled, description: s.description, managed_by: s.managed_by,
    created_at: time(s.created_at), updated_at: time(s.updated_at),
  };
}

/**
 * An event type; its tenants list only to a caller that sees every tenant: a
 * tenant's caller would learn other tenants' names from it (it sees only the
 * types it may use anyway).
 */
export function presentEventType(t: EventType, scope: Scope) {
  return {
    name: t.name, description: t.description, schema: t.schema, example: t.example ?? null, managed_by: t.managed_by,
    ...(scope.tenant === null ? { tenants: t.tenants } : {}),
    created_at: time(t.created_at), updated_at: time(t.updated_at),
  };
}

/** A destination's signature scheme and, for ed25519, the `whpk_` public key of the key that signs alone after any grace. */
export function signatureOf(d: Destination): { signature: "hmac" | "ed25519"; public_key: string | null } {
  const current = currentSecret(d.secrets)!;
  const signature = schemeOf(current);
  return { signature, public_key: signature === "ed25519" ? publicKeyOf(current) : null };
}
