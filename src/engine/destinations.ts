// Managing destinations: create, change, delete, enable/disable, rotate the
// signing secret, send a test event, re-queue failed deliveries, and health.
// Every change reloads the catalogue, publishes its operational event, and is
// recorded in the audit log under the caller (`by`).
import type { AuditEntry, ClientTls, Destination, SigningSecret } from "../store/types.ts";
import type { Caller } from "./audit.ts";
import { destinationChanges } from "./audit-changes.ts";
import { newId } from "../store/ids.ts";
import { checkDestinationUrl } from "../rules/address-policy.ts";
import type { ServiceParts } from "./service-parts.ts";
import { assertApiManaged, notFound, Problem } from "./problem.ts";
import { send, type SendResult } from "./sender.ts";
import { currentSecret as currentSecretOf, newSecret, schemeOf, secretMatchesScheme, type SignatureScheme } from "../rules/signing-keys.ts";

export interface DestinationInput {
  id?: string;
  url: string;
  tenant: string;
  description?: string;
  headers?: Record<string, string>;
  /** A client certificate for mutual TLS; null (in a patch) removes it. */
  tls?: ClientTls | null;
  timeout?: number | null;
  rate_limit?: number | null;
  max_in_flight?: number | null;
  ordered?: boolean;
  enabled?: boolean;
  metadata?: Record<string, string>;
  /** hmac (v1, `whsec_` secrets) unless given, or the secret given says otherwise; ed25519 signs v1a with a `whsk_` key. */
  signature?: SignatureScheme;
  secret?: string;
}

/** A `signature` other than the current one switches scheme: a fresh key replaces every secret, with no grace. */
export type DestinationPatch = Partial<Omit<DestinationInput, "id" | "tenant" | "secret">> & {
  /**
   * Header by header, onto the current ones: a value sets or replaces that header,
   * null removes it (names are case-insensitive). Lets a form change one header
   * without reading, and so without ever showing, the values it keeps.
   */
  header_changes?: Record<string, string | null>;
};

/** The current headers with `changes` applied; a name matches whatever case it was stored in. */
export function mergeHeaders(current: Record<string, string>, changes: Record<string, string | null>): Record<string, string> {
  const next = { ...current };
  for (const [name, value] of Object.entries(changes)) {
    for (const existing of Object.keys(next)) if (existing.toLowerCase() === name.toLowerCase()) delete next[existing];
    if (value !== null) next[name] = value;
  }
  return next;
}

/** The secret that signs alone once any grace period ends: it says the destination's scheme. */
/** The secret that signs alone once any grace period ends (a destination always has one). */
export const currentSecret = (d: Destination): string => currentSecretOf(d.secrets)!;

function checkSecretScheme(secret: string | undefined, scheme: SignatureScheme): void {
  if (secret !== undefined && !secretMatchesScheme(secret, scheme)) {
    const expected = scheme === "ed25519" ? "a whsk_ private key, since signature is ed25519" : "a whsec_ secret, since signature is hmac";
    throw new Problem("invalid", `the secret must be ${expected}`, [{ path: "secret", message: `must be ${expected}` }]);
  }
}

export const DEFAULT_GRACE_MS = 24 * 3_600_000;
export const MAX_GRACE_MS = 7 * 24 * 3_600_000;

export class DestinationService {
  constructor(private readonly parts: ServiceParts) {}

  async get(id: string): Promise<Destination> {
    const destination = await this.parts.store.catalog.getDestination(id);
    if (!destination) throw notFound("destination", id);
    return destination;
  }

  async create(by: Caller, input: DestinationInput): Promise<{ destination: Destination; secret: string }> {
    const now = this.parts.deps.now();
    this.checkUrl(input.url);
    const id = input.id ?? newId("dst", now);
    const scheme = input.signature ?? (input.secret ? schemeOf(input.secret) : "hmac");
    checkSecretScheme(input.secret, scheme);
    const secret = input.secret ?? newSecret(scheme);
    const enabled = input.enabled ?? true;
    const destination: Destination = {
      id, tenant: input.tenant, url: input.url, description: input.description ?? "",
      secrets: [{ secret, expires_at: null }], headers: input.headers ?? {}, client_tls: input.tls ?? null, timeout_ms: input.timeout ?? null,
      rate_limit: input.rate_limit ?? null, max_in_flight: input.max_in_flight ?? null, ordered: input.ordered ?? false, enabled, disabled_reason: enabled ? null : "disabled when created",
      metadata: input.metadata ?? {}, failing_since: null, managed_by: "api", created_at: now, updated_at: now,
    };
    // One insert-if-absent, never look-then-write: another instance may create the same id meanwhile.
    const entry = this.entry(by, "destination.created", null, destination);
    if (!(await this.parts.store.catalog.createDestination(destination, entry))) throw new Problem("conflict", `destination ${id} exists already`, [{ path: "id", message: "is taken" }]);
    await this.changed();
    this.parts.operational.emit("herald.destination.created", destination.tenant, { destination_id: id, url: destination.url });
    return { destination, secret };
  }

  async update(by: Caller, id: string, patch: DestinationPatch): Promise<Destination> {
    const current = await this.get(id);
    assertApiManaged(current, "destination", id);
    if (patch.url !== undefined) this.checkUrl(patch.url);
    if (patch.headers !== undefined && patch.header_changes !== undefined) {
      throw new Problem("invalid", "give headers (all of them) or header_changes (some of them), not both", [{ path: "header_changes", message: "cannot be given with headers" }]);
    }
    const now = this.parts.deps.now();
    const enabled = patch.enabled ?? current.enabled;
    // A switch replaces every key at once, with no grace: a grace would leave an HMAC secret (readable)
    // beside a private key (never shown), and the receiver changes how it verifies anyway.
    const switching = patch.signature !== undefined && patch.signature !== schemeOf(currentSecret(current));
    const next: Destination = {
      ...current,
      secrets: switching ? [{ secret: newSecret(patch.signature!), expires_at: null }] : current.secrets,
      url: patch.url ?? current.url,
      description: patch.description ?? current.description,
      headers: patch.header_changes ? mergeHeaders(current.headers, patch.header_changes) : patch.headers ?? current.headers,
      client_tls: patch.tls === undefined ? current.client_tls : patch.tls,
      timeout_ms: patch.timeout === undefined ? current.timeout_ms : patch.timeout,
      rate_limit: patch.rate_limit === undefined ? current.rate_limit : patch.rate_limit,
      max_in_flight: patch.max_in_flight === undefined ? current.max_in_flight : patch.max_in_flight,
      ordered: patch.ordered ?? current.ordered,
      metadata: patch.metadata ?? current.metadata,
      enabled,
      disabled_reason: enabled ? null : current.enabled ? "disabled through the API" : current.disabled_reason,
      failing_since: enabled && !current.enabled ? null : current.failing_since,
      updated_at: now,
    };
    await this.write(next, this.entry(by, "destination.updated", current, next));
    this.parts.operational.emit("herald.destination.updated", next.tenant, { destination_id: id, url: next.url });
    if (enabled !== current.enabled) this.announceEnabled(next, enabled);
    return next;
  }

  async remove(by: Caller, id: string): Promise<void> {
    const current = await this.get(id);
    assertApiManaged(current, "destination", id);
    await this.parts.store.catalog.deleteDestination(id, this.parts.deps.now(), this.entry(by, "destination.deleted", current, null));
    this.parts.operational.emit("herald.destination.deleted", current.tenant, { destination_id: id });
    await this.changed();
  }

  /** Enabling resumes the destination's pending deliveries; config-owned destinations may be toggled too. */
  async setEnabled(by: Caller, id: string, enabled: boolean, reason?: string): Promise<Destination> {
    const current = await this.get(id);
    const disabledReason = enabled ? null : reason ?? "disabled through the API";
    const entry = this.entry(by, enabled ? "destination.enabled" : "destination.disabled", current, { ...current, enabled, disabled_reason: disabledReason });
    const found = await this.parts.store.catalog.setDestinationEnabled(id, enabled, disabledReason, this.parts.deps.now(), entry);
    await this.changed();
    if (!found) throw notFound("destination", id);
    const next = await this.get(id);
    if (current.enabled !== enabled) this.announceEnabled(next, enabled);
    return next;
  }

  /** Rotates the secret; the old one keeps signing (a second signature) until the grace period ends. */
  async rotateSecret(by: Caller, id: string, options: { secret?: string; grace_ms?: number }): Promise<{ secret: string; previous_expires_at: number }> {
    const current = await this.get(id);
    assertApiManaged(current, "destination", id);
    const grace = options.grace_ms ?? DEFAULT_GRACE_MS;
    if (grace < 0 || grace > MAX_GRACE_MS) throw new Problem("invalid", "the grace period is 0 to 7 days", [{ path: "grace_period", message: "must be between 0s and 7d" }]);
    const now = this.parts.deps.now();
    // A rotation keeps the scheme (PATCH signature switches it); the new key must be of the same kind.
    const scheme = schemeOf(currentSecret(current));
    checkSecretScheme(options.secret, scheme);
    const secret = options.secret ?? newSecret(scheme);
    const expires = now + grace;
    const stillValid = current.secrets.filter((s) => s.expires_at !== null && s.expires_at > now);
    const retiring = current.secrets.filter((s) => s.expires_at === null).map((s): SigningSecret => ({ secret: s.secret, expires_at: expires }));
    const secrets: SigningSecret[] = [{ secret, expires_at: null }, ...retiring, ...stillValid].filter((s) => s.expires_at === null || s.expires_at > now);
    const next = { ...current, secrets, updated_at: now };
    await this.write(next, this.entry(by, "destination.secret_rotated", current, next));
    return { secret, previous_expires_at: expires };
  }

  /** Sends one test event now and answers with the attempt. Test sends are not kept in the log. */
  async test(by: Caller, id: string, options: { event_type?: string; data?: unknown }): Promise<SendResult> {
    const destination = await this.get(id);
    const { catalog, deps, sendOptions } = this.parts;
    const type = options.event_type ?? this.firstSubscribedType(destination) ?? "herald.test";
    // Another tenant's private type lends no example (its example is that tenant's to show).
    const example = catalog.eventTypeFor(type, destination.tenant)?.example;
    const data = options.data !== undefined ? options.data : example !== undefined ? example : { message: "a test event from Herald" };
    const now = deps.now();
    const event = { id: newId("evt", now), type, created_at: now, data_json: JSON.stringify(data ?? null) };
    const result = await send(event, destination, sendOptions);
    // No write to carry it: recorded once the send is made (the test event is kept nowhere else).
    await this.parts.audit.record(by, { action: "destination.tested", resource: { type: "destination", id }, tenant: destination.tenant });
    return result;
  }

  /** Re-queues the destination's failed deliveries created in [since, until). */
  async recover(by: Caller, id: string, since: number, until?: number): Promise<number> {
    const destination = await this.get(id);
    const now = this.parts.deps.now();
    if (until !== undefined && until <= since) throw new Problem("invalid", "until must be after since", [{ path: "until", message: "must be after since" }]);
    const requeued = await this.parts.store.queue.requeueFailed(id, since, until ?? now + 1, now);
    if (requeued > 0) this.parts.dispatcher.noteBacklog();
    // A queue write, which takes no entry: recorded right after it.
    await this.parts.audit.record(by, {
      action: "destination.recovered", resource: { type: "destination", id }, tenant: destination.tenant,
      changes: { requeued: { from: null, to: requeued }, window: { from: null, to: { since, ...(until !== undefined ? { until } : {}) } } },
    });
    return requeued;
  }

  private firstSubscribedType(destination: Destination): string | undefined {
    const patterns = this.parts.catalog.subscriptionsOf(destination.tenant).filter((s) => s.destination_id === destination.id).flatMap((s) => s.event_types);
    const exact = patterns.find((p) => !p.includes("*"));
    if (exact) return exact;
    for (const name of this.parts.catalog.eventTypes.keys()) {
      if (!this.parts.catalog.eventTypeFor(name, destination.tenant)) continue;
      if (!name.startsWith("herald.") && patterns.some((p) => p === "*" || (p.endsWith(".*") && name.startsWith(p.slice(0, -1))))) return name;
    }
    return undefined;
  }

  private checkUrl(url: string): void {
    const verdict = checkDestinationUrl(url, this.parts.config.delivery);
    if (!verdict.ok) throw new Problem("invalid", `the destination URL is not allowed: ${verdict.message}`, [{ path: "url", message: verdict.message }]);
  }

  private announceEnabled(destination: Destination, enabled: boolean): void {
    if (enabled) {
      this.parts.operational.emit("herald.destination.enabled", destination.tenant, { destination_id: destination.id, url: destination.url });
      this.parts.dispatcher.noteBacklog();
    } else {
      this.parts.operational.destinationDisabled(destination.id, destination.disabled_reason ?? "disabled");
    }
  }

  /** Writes a change to an existing destination: one deleted meanwhile (here or elsewhere) stays deleted, a 404. */
  private async write(next: Destination, entry: AuditEntry): Promise<void> {
    const found = await this.parts.store.catalog.updateDestination(next, entry);
    await this.changed();
    if (!found) throw notFound("destination", next.id);
  }

  /** The entry of a change from `before` to `after` (null: created, or deleted), for the write that makes it. */
  private entry(by: Caller, action: string, before: Destination | null, after: Destination | null): AuditEntry {
    const d = (after ?? before)!;
    return this.parts.audit.entry(by, { action, resource: { type: "destination", id: d.id }, tenant: d.tenant, changes: destinationChanges(before, after) });
  }

  private async changed(): Promise<void> {
    await this.parts.catalog.reload();
  }
}
