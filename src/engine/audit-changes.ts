// The `changes` of an audit entry: for each field a change touched, `{from, to}`
// (null on the side where the resource did not exist). Signing secrets and
// static header values are never written: a secret change reads
// `"secret": {"from": "[redacted]", "to": "[redacted]"}`, and headers are
// listed by name, each value redacted, so the log says that a credential
// changed and which one, never what it is.
import type { Destination, EventType, Subscription } from "../store/types.ts";
import { currentSecret, schemeOf } from "../rules/signing-keys.ts";

export const REDACTED = "[redacted]";

export interface FieldChange {
  from: unknown;
  to: unknown;
}

export type Changes = Record<string, FieldChange | Record<string, FieldChange>>;

/** The fields an entry compares, each read from the resource (or null when there is none). */
type Fields<T> = Record<string, (resource: T) => unknown>;

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function compare<T>(fields: Fields<T>, before: T | null, after: T | null): Changes {
  const changes: Changes = {};
  for (const [name, read] of Object.entries(fields)) {
    const from = before === null ? null : (read(before) ?? null);
    const to = after === null ? null : (read(after) ?? null);
    if (!same(from, to)) changes[name] = { from, to };
  }
  return changes;
}

/** The secret that signs alone once any grace period ends (the one without an expiry). */
const currentOf = (d: Destination): string | null => currentSecret(d.secrets);

const DESTINATION_FIELDS: Fields<Destination> = {
  tenant: (d) => d.tenant,
  url: (d) => d.url,
  description: (d) => d.description,
  timeout_ms: (d) => d.timeout_ms,
  rate_limit: (d) => d.rate_limit,
  max_in_flight: (d) => d.max_in_flight,
  ordered: (d) => d.ordered,
  enabled: (d) => d.enabled,
  disabled_reason: (d) => d.disabled_reason,
  metadata: (d) => d.metadata,
  // The scheme (hmac, ed25519) is no secret: it follows from the key's prefix, never its value.
  signature: (d) => { const secret = currentOf(d); return secret === null ? null : schemeOf(secret); },
};

export function destinationChanges(before: Destination | null, after: Destination | null): Changes {
  const changes = compare(DESTINATION_FIELDS, before, after);
  const from = before && currentOf(before);
  const to = after && currentOf(after);
  // Compared here, written only as "[redacted]": the entry tells that the secret changed, not to what.
  if (from !== to) changes.secret = { from: from === null ? null : REDACTED, to: to === null ? null : REDACTED };
  // The client certificate for mutual TLS holds a private key: whether it changed, never what it is.
  const tlsFrom = before?.client_tls ?? null;
  const tlsTo = after?.client_tls ?? null;
  if (!same(tlsFrom, tlsTo)) changes.tls = { from: tlsFrom === null ? null : REDACTED, to: tlsTo === null ? null : REDACTED };
  const headers = headerChanges(before?.headers ?? {}, after?.headers ?? {});
  if (Object.keys(headers).length) changes.headers = headers;
  return changes;
}

/** Per header name (names are not secret: answers show them as header_names), each value redacted. */
function headerChanges(before: Record<string, string>, after: Record<string, string>): Record<string, FieldChange> {
  const changes: Record<string, FieldChange> = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const from = before[name];
    const to = after[name];
    if (from === to) continue;
    changes[name] = { from: from === undefined ? null : REDACTED, to: to === undefined ? null : REDACTED };
  }
  return changes;
}

const SUBSCRIPTION_FIELDS: Fields<Subscription> = {
  destination_id: (s) => s.destination_id,
  tenant: (s) => s.tenant,
  event_types: (s) => s.event_types,
  filter: (s) => s.filter,
  enabled: (s) => s.enabled,
  description: (s) => s.description,
};

export const subscriptionChanges = (before: Subscription | null, after: Subscription | null): Changes =>
  compare(SUBSCRIPTION_FIELDS, before, after);

const EVENT_TYPE_FIELDS: Fields<EventType> = {
  description: (t) => t.description,
  schema: (t) => t.schema,
  example: (t) => t.example,
  tenants: (t) => t.tenants,
};

export const eventTypeChanges = (before: EventType | null, after: EventType | null): Changes => compare(EVENT_TYPE_FIELDS, before, after);
