// An in-memory copy of event types, destinations and subscriptions. Publishing
// and sending read it on every request, so it must not cost a query; every
// change made through Herald calls reload(), which rereads the few rows.
import type { Store } from "../store/store.ts";
import type { Destination, EventType, Subscription } from "../store/types.ts";

export class Catalog {
  eventTypes = new Map<string, EventType>();
  destinations = new Map<string, Destination>();
  private subscriptionsByTenant = new Map<string, Subscription[]>();

  constructor(private readonly store: Store) {
    this.reload();
  }

  reload(): void {
    this.eventTypes = new Map(this.store.listEventTypes().map((t) => [t.name, t]));
    this.destinations = new Map(this.store.allDestinations().map((d) => [d.id, d]));
    const byTenant = new Map<string, Subscription[]>();
    for (const s of this.store.allSubscriptions()) {
      const list = byTenant.get(s.tenant) ?? [];
      list.push(s);
      byTenant.set(s.tenant, list);
    }
    this.subscriptionsByTenant = byTenant;
  }

  subscriptionsOf(tenant: string): readonly Subscription[] {
    return this.subscriptionsByTenant.get(tenant) ?? [];
  }
}
