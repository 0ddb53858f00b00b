// Fan-out: which destinations an event goes to. Only the event's tenant's
// enabled subscriptions count, and none when the event's type is private to
// other tenants; a destination reached by several subscriptions
// gets the event once. `subscriptionMatches` is the one rule of what a
// subscription takes, shared with backfills (backfill.ts).
import type { Destination, HeraldEvent, Subscription } from "../store/types.ts";
import type { Catalog } from "./catalog.ts";
import { matchesFilter } from "../rules/filter.ts";
import { matchesPattern } from "../rules/patterns.ts";

export interface Route {
  destination: Destination;
  subscription: Subscription;
}

export function routesFor(catalog: Catalog, event: Pick<HeraldEvent, "type" | "tenant" | "data">): Route[] {
  const routes: Route[] = [];
  // A type private to other tenants reaches none of this tenant's subscriptions, `*` included.
  if (catalog.hidesEventType(event.type, event.tenant)) return routes;
  const seen = new Set<string>();
  for (const subscription of catalog.subscriptionsOf(event.tenant)) {
    if (!subscription.enabled || seen.has(subscription.destination_id)) continue;
    if (!subscriptionMatches(subscription, event)) continue;
    const destination = catalog.destinations.get(subscription.destination_id);
    if (!destination) continue;
    seen.add(destination.id);
    routes.push({ destination, subscription });
  }
  return routes;
}

/**
 * Whether the subscription takes the event: one of its patterns names the
 * event's type and its payload filter (if any) holds. Its tenant is the
 * caller's to check (fan-out reads the tenant's subscriptions only); whether it
 * is enabled too (a backfill may be asked of a disabled one).
 */
export function subscriptionMatches(subscription: Subscription, event: Pick<HeraldEvent, "type" | "tenant" | "data">): boolean {
  if (!subscription.event_types.some((p) => matchesPattern(p, event.type))) return false;
  return !subscription.filter || matchesFilter(subscription.filter, event);
}
