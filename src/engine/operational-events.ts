// Operational events: Herald's own events (a destination disabled, a delivery
// exhausted, …) published through the same pipeline to whoever subscribes.
// They belong to the tenant of the destination they are about.
import type { CatalogStore } from "../store/store.ts";
import type { BreakerChange, EventType } from "../store/types.ts";
import type { Catalog } from "./catalog.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import { routesFor } from "./fanout.ts";
import type { Publisher } from "./publisher.ts";

export const OPERATIONAL_EVENT_TYPES: readonly { name: string; description: string; example: unknown }[] = [
  { name: "herald.destination.created", description: "A destination was created.", example: { destination_id: "dst_…", url: "https://example.com/hooks" } },
  { name: "herald.destination.updated", description: "A destination was changed.", example: { destination_id: "dst_…", url: "https://example.com/hooks" } },
  { name: "herald.destination.deleted", description: "A destination was deleted; its unfinished deliveries were cancelled.", example: { destination_id: "dst_…" } },
  { name: "herald.destination.disabled", description: "A destination was disabled, by hand, by a 410 Gone, or after failing too long.", example: { destination_id: "dst_…", reason: "the endpoint answered 410 Gone" } },
  { name: "herald.destination.enabled", description: "A destination was enabled again; its pending deliveries resume.", example: { destination_id: "dst_…" } },
  {
    name: "herald.destination.breaker_opened",
    description: "A destination's circuit breaker opened after delivery.breaker.failures failed attempts in a row: its deliveries wait, pending, and one probe goes out every delivery.breaker.probe_every.",
    example: { destination_id: "dst_…", url: "https://example.com/hooks", opened_at: "2026-06-01T12:00:00.000Z", next_probe_at: "2026-06-01T12:00:30.000Z" },
  },
  {
    name: "herald.destination.breaker_closed",
    description: "A destination's circuit breaker closed after a successful attempt: its waiting deliveries drain at the destination's limits.",
    example: { destination_id: "dst_…", url: "https://example.com/hooks", opened_at: "2026-06-01T12:00:00.000Z", closed_at: "2026-06-01T12:02:00.000Z" },
  },
  { name: "herald.subscription.created", description: "A subscription was created.", example: { subscription_id: "sub_…", destination_id: "dst_…", event_types: ["order.*"] } },
  { name: "herald.delivery.failing", description: "A delivery failed for the 4th time in a row and is still being retried.", example: { delivery_id: "dlv_…", event_id: "evt_…", destination_id: "dst_…", attempts: 4, last_error: "HTTP 500" } },
  { name: "herald.delivery.exhausted", description: "A delivery ran out of retries (or met 410 Gone) and is failed.", example: { delivery_id: "dlv_…", event_id: "evt_…", destination_id: "dst_…", attempts: 8, last_error: "HTTP 500" } },
  { name: "herald.delivery.recovered", description: "A delivery succeeded after earlier failed attempts.", example: { delivery_id: "dlv_…", event_id: "evt_…", destination_id: "dst_…", attempts: 3 } },
];

export class OperationalEvents {
  private publisher: Publisher | null = null;

  constructor(
    private readonly store: Pick<CatalogStore, "upsertEventType">,
    private readonly catalog: Catalog,
    private readonly deps: EngineDeps,
  ) {}

  /** Puts Herald's own event types in the catalogue (owned by Herald, like config). */
  async register(now: number): Promise<void> {
    let changed = false;
    for (const t of OPERATIONAL_EVENT_TYPES) {
      const current = this.catalog.eventTypes.get(t.name);
      const record: EventType = {
        name: t.name, description: t.description, schema: null, example: t.example, tenants: null, managed_by: "config",
        created_at: current?.created_at ?? now, updated_at: now,
      };
      if (!current || current.description !== t.description) {
        await this.store.upsertEventType(record);
        changed = true;
      }
    }
    // The catalogue was just loaded (Engine.start): read again only what this changed.
    if (changed) await this.catalog.reload();
  }

  attach(publisher: Publisher): void {
    this.publisher = publisher;
  }

  emit(type: string, tenant: string, data: Record<string, unknown>): void {
    if (!this.publisher) return;
    // Nobody subscribed to this one: skip the write, and keep the event log for the product's events.
    if (routesFor(this.catalog, { type, tenant, data }).length === 0) return;
    this.publisher.publish({ type, tenant, data }).catch((error) =>
      this.deps.log.error("publishing an operational event failed", { type, error: errorMessage(error) }),
    );
  }

  /** Announces a breaker transition; the store said this instance's write made it, so it goes out once. */
  breakerChanged(change: BreakerChange, now: number): void {
    const d = this.catalog.destinations.get(change.destination_id);
    if (!d) return;
    const opened_at = new Date(change.opened_at).toISOString();
    if (change.change === "opened") {
      const next_probe_at = change.next_probe_at === null ? null : new Date(change.next_probe_at).toISOString();
      this.emit("herald.destination.breaker_opened", d.tenant, { destination_id: d.id, url: d.url, opened_at, next_probe_at });
    } else {
      this.emit("herald.destination.breaker_closed", d.tenant, { destination_id: d.id, url: d.url, opened_at, closed_at: new Date(now).toISOString() });
    }
  }

  destinationDisabled(destinationId: string, reason: string): void {
    const d = this.catalog.destinations.get(destinationId);
    if (d) this.emit("herald.destination.disabled", d.tenant, { destination_id: d.id, url: d.url, reason });
  }
}
