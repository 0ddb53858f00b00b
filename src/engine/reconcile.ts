// Brings the store in line with the resources the config file declares: adds
// and updates them, and removes config-owned ones that left the file. Queued
// deliveries survive updates; a removed destination's unfinished deliveries are
// cancelled (DESIGN §2), never dropped silently.
import type { CatalogStore } from "../store/store.ts";
import type { Destination, Subscription } from "../store/types.ts";
import { generateSecret } from "../rules/secrets.ts";
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

  const declaredTypes = new Set(config.event_types.map((t) => t.name));
  for (const t of config.event_types) {
    const current = await store.getEventType(t.name);
    note(current ? report.updated : report.added, "event type", t.name);
    await store.upsertEventType({
      name: t.name, description: t.description, schema: t.schema ?? null, example: t.example,
      managed_by: "config", created_at: current?.created_at ?? now, updated_at: now,
    });
  }
  for (const t of await store.listEventTypes()) {
    // herald.* types are Herald's own and re-registered at every start.
    if (t.managed_by === "config" && !declaredTypes.has(t.name) && !t.name.startsWith("herald.")) {
      await store.deleteEventType(t.name);
      note(report.removed, "event type", t.name);
    }
  }

  const declaredDestinations = new Map(config.destinations.map((d) => [d.id, d]));
  for (const d of config.destinations) {
    const current = await store.getDestination(d.id);
    note(current ? report.updated : report.added, "destination", d.id);
    await store.saveDestination(destinationFromConfig(d, current, now));
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
    await store.saveSubscription(subscription);
  }
  for (const s of await store.allSubscriptions()) {
    if (s.managed_by === "config" && !declaredSubscriptions.has(s.id)) {
      await store.deleteSubscription(s.id);
      note(report.removed, "subscription", s.id);
    }
  }
  for (const d of await store.allDestinations()) {
    if (d.managed_by === "config" && !declaredDestinations.has(d.id)) {
      await store.deleteDestination(d.id, now);
      note(report.removed, "destination", d.id);
    }
  }
  return report;
}

function destinationFromConfig(d: Config["destinations"][number], current: Destination | null, now: number): Destination {
  // A secret the file gives replaces the stored one; without one, the secret
  // generated at first start is kept, so receivers keep verifying.
  const secrets = d.secret
    ? current?.secrets[0]?.secret === d.secret ? current.secrets : [{ secret: d.secret, expires_at: null }]
    : current?.secrets.length ? current.secrets : [{ secret: generateSecret(), expires_at: null }];
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
