// Brings the store in line with the resources the config file declares: adds
// and updates them, and removes config-owned ones that left the file. Queued
// deliveries survive updates; a removed destination's unfinished deliveries are
// cancelled (DESIGN §2), never dropped silently. Each write that changes
// something carries its audit entry (actor `config`); one that changes nothing
// (every start re-reads the same file) carries none, so restarts add no entries.
import type { CatalogStore } from "../store/store.ts";
import type { AuditEntry, Destination, Subscription } from "../store/types.ts";
import { auditEntry, CONFIG_CALLER } from "./audit.ts";
import { destinationChanges, eventTypeChanges, subscriptionChanges, type Changes } from "./audit-changes.ts";
import { currentSecret, newSecret, schemeOf } from "../rules/signing-keys.ts";
import type { Config } from "../config/schema.ts";

/** The reason a destination carries while the config file disables it. */
export const CONFIG_DISABLED = "disabled in the config file";

export interface ReconcileReport {
  added: string[];
  updated: string[];
  removed: string[];
}

export async function reconcile(config: Config, store: CatalogStore, now: number): Promise<ReconcileReport> {
  const report: ReconcileReport = { added: [], updated: [], removed: [] };
  const note = (list: string[], kind: string, id: string) => list.push(`${kind} ${id}`);
  /** The entry of a change (none when nothing changed); `existed` says created or updated. */
  const entry = (type: string, id: string, tenant: string | null, existed: boolean, changes: Changes): AuditEntry | undefined =>
    existed && Object.keys(changes).length === 0
      ? undefined
      : auditEntry(CONFIG_CALLER, { action: `${type}.${existed ? "updated" : "created"}`, resource: { type, id }, tenant, changes }, now);
  const removal = (type: string, id: string, tenant: string | null, changes: Changes): AuditEntry =>
    auditEntry(CONFIG_CALLER, { action: `${type}.deleted`, resource: { type, id }, tenant, changes }, now);

  const declaredTypes = new Set(config.event_types.map((t) => t.name));
  for (const t of config.event_types) {
    const current = await store.getEventType(t.name);
    note(current ? report.updated : report.added, "event type", t.name);
    const next = {
      name: t.name, description: t.description, schema: t.schema ?? null, example: t.example, tenants: t.tenants ? [...t.tenants] : null,
      managed_by: "config" as const, created_at: current?.created_at ?? now, updated_at: now,
    };
    await store.upsertEventType(next, entry("event_type", t.name, null, current !== null, eventTypeChanges(current, next)));
  }
  for (const t of await store.listEventTypes()) {
    // herald.* types are Herald's own and re-registered at every start.
    if (t.managed_by === "config" && !declaredTypes.has(t.name) && !t.name.startsWith("herald.")) {
      await store.deleteEventType(t.name, removal("event_type", t.name, null, eventTypeChanges(t, null)));
      note(report.removed, "event type", t.name);
    }
  }

  const declaredDestinations = new Map(config.destinations.map((d) => [d.id, d]));
  for (const d of config.destinations) {
    const current = await store.getDestination(d.id);
    note(current ? report.updated : report.added, "destination", d.id);
    const next = destinationFromConfig(d, current, now);
    await store.saveDestination(next, entry("destination", d.id, next.tenant, current !== null, destinationChanges(current, next)));
  }

  const declaredSubscriptions = new Set(config.subscriptions.map((s) => s.id));
  for (const s of config.subscriptions) {
    const current = await store.getSubscription(s.id);
    const tenant = declaredDestinations.get(s.destination)!.tenant;
    const subscription: Subscription = {
      id: s.id, destination_id: s.destination, tenant, event_types: [...s.event_types], filter: s.filter ? { ...s.filter } : null,
      enabled: s.enabled, description: s.description, managed_by: "config",
      created_at: current?.created_at ?? now, updated_at: now,
    };
    note(current ? report.updated : report.added, "subscription", s.id);
    await store.saveSubscription(subscription, entry("subscription", s.id, tenant, current !== null, subscriptionChanges(current, subscription)));
  }
  for (const s of await store.allSubscriptions()) {
    if (s.managed_by === "config" && !declaredSubscriptions.has(s.id)) {
      await store.deleteSubscription(s.id, removal("subscription", s.id, s.tenant, subscriptionChanges(s, null)));
      note(report.removed, "subscription", s.id);
    }
  }
  for (const d of await store.allDestinations()) {
    if (d.managed_by === "config" && !declaredDestinations.has(d.id)) {
      await store.deleteDestination(d.id, now, removal("destination", d.id, d.tenant, destinationChanges(d, null)));
      note(report.removed, "destination", d.id);
    }
  }
  return report;
}

function destinationFromConfig(d: Config["destinations"][number], current: Destination | null, now: number): Destination {
  // A secret the file gives replaces the stored one; without one, the secret
  // generated at first start is kept, so receivers keep verifying.
  // The scheme is the file's `signature`, else the given secret's, else hmac; a stored key of
  // another scheme (the file switched it) is replaced by a fresh one.
  const scheme = d.signature ?? (d.secret ? schemeOf(d.secret) : "hmac");
  const kept = current?.secrets.length && schemeOf(currentSecret(current.secrets)!) === scheme;
  const secrets = d.secret
    ? current?.secrets[0]?.secret === d.secret ? current.secrets : [{ secret: d.secret, expires_at: null }]
    : kept ? current!.secrets : [{ secret: newSecret(scheme), expires_at: null }];
  // The file decides `enabled`, but a destination Herald disabled itself (410,
  // failing too long) stays disabled until someone enables it.
  const disabledByHerald = current && !current.enabled && current.disabled_reason !== CONFIG_DISABLED;
  const enabled = d.enabled && !disabledByHerald;
  return {
    id: d.id, tenant: d.tenant, url: d.url, description: d.description, secrets,
    headers: { ...d.headers }, client_tls: d.tls ? { cert: d.tls.cert, key: d.tls.key } : null, timeout_ms: d.timeout ?? null, rate_limit: d.rate_limit ?? null,
    max_in_flight: d.max_in_flight ?? null, ordered: d.ordered,
    enabled,
    disabled_reason: enabled ? null : d.enabled ? current!.disabled_reason : CONFIG_DISABLED,
    metadata: { ...d.metadata }, failing_since: current?.failing_since ?? null, managed_by: "config",
    created_at: current?.created_at ?? now, updated_at: now,
  };
}
