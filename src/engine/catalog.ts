// An in-memory copy of event types, destinations and subscriptions. Publishing
// and sending read it on every request, so it must not cost a query. A change
// made through this instance calls reload() at once; a change made through
// another instance sharing the store raised the catalogue version, which the
// sweep compares with the one loaded here (refresh) and reloads when it moved.
// Empty until the engine's start loads it.
import type { CatalogStore } from "../store/store.ts";
import type { CatalogSnapshot, Destination, EventType, Subscription } from "../store/types.ts";
import { LatestRead } from "./latest-read.ts";
import { typeVisibleTo } from "./scope.ts";

/**
 * A destination whose limit only the store's claim can count across instances:
 * `max_in_flight`, or `ordered` (one at a time, its head first). Its deliveries
 * are never leased at publish, and each that ends frees a place to claim.
 */
export function isLimited(d: Pick<Destination, "max_in_flight" | "ordered">): boolean {
  return d.max_in_flight !== null || d.ordered;
}

export class Catalog {
  eventTypes = new Map<string, EventType>();
  destinations = new Map<string, Destination>();
  /** Whether any destination is limited (isLimited): a claim looks for their rows only then. */
  anyLimited = false;
  /** The catalogue version the maps were read at. */
  version = 0;
  private subscriptionsByTenant = new Map<string, Subscription[]>();
  private readonly loads = new LatestRead();
  /** Who is told when a new catalogue is applied (the dispatcher moves held destinations' rows). */
  private reloadListeners: (() => void)[] = [];

  constructor(private readonly store: CatalogStore) {}

  /**
   * Reads the whole catalogue again. Resolves once the maps hold a snapshot read
   * after this call began (reloads may overlap: LatestRead).
   */
  reload(): Promise<void> {
    return this.loads.run(() => this.store.load(), (snapshot) => this.apply(snapshot));
  }

  private apply(snapshot: CatalogSnapshot): void {
    this.eventTypes = new Map(snapshot.event_types.map((t) => [t.name, t]));
    this.destinations = new Map(snapshot.destinations.map((d) => [d.id, d]));
    this.anyLimited = snapshot.destinations.some(isLimited);
    const byTenant = new Map<string, Subscription[]>();
    for (const s of snapshot.subscriptions) {
      const list = byTenant.get(s.tenant) ?? [];
      list.push(s);
      byTenant.set(s.tenant, list);
    }
    this.subscriptionsByTenant = byTenant;
    this.version = snapshot.version;
    // A destination disabled, enabled or limited since: its rows move in the store. Every
    // new catalogue is told, not only a changed held set: a disable and an enable between
    // two reloads leave the set unchanged but may have parked rows (a settle with
    // nothing to move is one read of an empty index; reloads are rare).
    for (const listener of this.reloadListeners) listener();
  }

  /** Told when a reloaded catalogue is applied (the dispatcher settles parked rows). */
  onReload(listener: () => void): void {
    this.reloadListeners.push(listener);
  }

  /**
   * Reloads when the store's version differs from the one loaded (one cheap
   * read otherwise); true when it reloaded. Different, not only greater: a
   * database restored from a backup may carry an older version, and the copy
   * here must follow it too.
   */
  async refresh(): Promise<boolean> {
    if ((await this.store.version()) === this.version) return false;
    await this.reload();
    return true;
  }

  /**
   * The event type as `tenant` may use it: undefined when the catalogue has no
   * such type or it is limited to other tenants (scope.ts: typeVisibleTo). The
   * one place publishing, fan-out, backfills and test sends ask it.
   */
  eventTypeFor(type: string, tenant: string): EventType | undefined {
    const eventType = this.eventTypes.get(type);
    return eventType && typeVisibleTo(eventType, tenant) ? eventType : undefined;
  }

  /**
   * Whether the type is in the catalogue and limited to other tenants than
   * `tenant`: its events reach none of that tenant's subscriptions. A type not
   * in the catalogue hides nothing (an event stored before its type was deleted
   * is still delivered, by fan-out or a backfill).
   */
  hidesEventType(type: string, tenant: string): boolean {
    return this.eventTypes.has(type) && !this.eventTypeFor(type, tenant);
  }

  subscriptionsOf(tenant: string): readonly Subscription[] {
    return this.subscriptionsByTenant.get(tenant) ?? [];
  }
}
