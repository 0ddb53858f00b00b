// Every read the HTTP layer makes, each taking the caller's Scope and applying
// it here, once: a list holds only the scope's tenants; one resource of another
// tenant is not_found (never forbidden: its existence is not revealed).
// Lists take a scope already narrowed to any tenant the caller named (scope.ts).
import type { Store } from "../store/store.ts";
import type {
  Attempt, Delivery, DeliveryFilter, DeliveryStats, Destination, DestinationHealth, EventFilter, EventType,
  HeraldEvent, Page, SigningSecret, Subscription,
} from "../store/types.ts";
import { notFound } from "./problem.ts";
import { sees, type Scope } from "./scope.ts";

/** The store's reads this module uses (the log and the catalogue parts). */
export type ReadStore = Pick<
  Store,
  | "getEvent" | "listEvents" | "deliveriesOfEvent" | "getDelivery" | "listDeliveries" | "attemptsOf"
  | "getDestination" | "listDestinations" | "getSubscription" | "listSubscriptions" | "getEventType" | "listEventTypes"
  | "deliveryStats" | "destinationHealth" | "countDeliveriesByStatus"
>;

export type EventQuery = Omit<EventFilter, "tenant">;
export type DeliveryQuery = Omit<DeliveryFilter, "tenant">;
export interface PageQuery {
  cursor?: string;
  limit: number;
}
export interface StatsWindow {
  destination_id?: string;
  since: number;
  until: number;
  bucket_ms: number;
}

/** A list filter's tenant: undefined (no filter) for a scope of every tenant. */
const tenantOf = (scope: Scope) => scope.tenant ?? undefined;

export class Reads {
  constructor(
    private readonly store: ReadStore,
    private readonly now: () => number,
  ) {}

  listEvents(scope: Scope, query: EventQuery): Page<HeraldEvent> {
    return this.store.listEvents({ ...query, tenant: tenantOf(scope) });
  }

  /** One event with its deliveries (one per destination it fanned out to). */
  getEvent(scope: Scope, id: string): { event: HeraldEvent; deliveries: Delivery[] } {
    const event = this.store.getEvent(id);
    if (!event || !sees(scope, event.tenant)) throw notFound("event", id);
    return { event, deliveries: this.store.deliveriesOfEvent(event.id) };
  }

  listDeliveries(scope: Scope, query: DeliveryQuery): Page<Delivery> {
    return this.store.listDeliveries({ ...query, tenant: tenantOf(scope) });
  }

  /** One delivery with every attempt made of it, oldest first. */
  getDelivery(scope: Scope, id: string): { delivery: Delivery; attempts: Attempt[] } {
    const delivery = this.store.getDelivery(id);
    if (!delivery || !sees(scope, delivery.tenant)) throw notFound("delivery", id);
    return { delivery, attempts: this.store.attemptsOf(delivery.id) };
  }

  listDestinations(scope: Scope, query: PageQuery): Page<Destination> {
    return this.store.listDestinations({ ...query, tenant: tenantOf(scope) });
  }

  getDestination(scope: Scope, id: string): Destination {
    const destination = this.store.getDestination(id);
    if (!destination || !sees(scope, destination.tenant)) throw notFound("destination", id);
    return destination;
  }

  /** The current signing secret and the previous ones still inside their grace period. */
  destinationSecrets(scope: Scope, id: string): { secret: string; previous: SigningSecret[] } {
    const now = this.now();
    const { secrets } = this.getDestination(scope, id);
    const active = secrets.find((s) => s.expires_at === null)!;
    return { secret: active.secret, previous: secrets.filter((s) => s.expires_at !== null && s.expires_at > now) };
  }

  /** The static header values (answers elsewhere show only their names). */
  destinationHeaders(scope: Scope, id: string): Record<string, string> {
    return { ...this.getDestination(scope, id).headers };
  }

  /** Delivery counts and the last success and failure of one destination in [since, until). */
  destinationHealth(scope: Scope, id: string, since: number, until: number): DestinationHealth {
    this.getDestination(scope, id);
    return this.store.destinationHealth(id, since, until);
  }

  listSubscriptions(scope: Scope, query: PageQuery & { destination_id?: string }): Page<Subscription> {
    return this.store.listSubscriptions({ ...query, tenant: tenantOf(scope) });
  }

  getSubscription(scope: Scope, id: string): Subscription {
    const subscription = this.store.getSubscription(id);
    if (!subscription || !sees(scope, subscription.tenant)) throw notFound("subscription", id);
    return subscription;
  }

  /** The catalogue of event types is shared by every tenant: anyone may read it. */
  listEventTypes(): EventType[] {
    return this.store.listEventTypes();
  }

  getEventType(name: string): EventType {
    const eventType = this.store.getEventType(name);
    if (!eventType) throw notFound("event type", name);
    return eventType;
  }

  /** Deliveries by state and over time, in buckets of `bucket_ms`. */
  deliveryStats(scope: Scope, window: StatsWindow): DeliveryStats {
    return this.store.deliveryStats({ ...window, tenant: tenantOf(scope) });
  }

  /** Every delivery in the job table by status, across tenants (the metrics endpoint). */
  countDeliveriesByStatus(): Record<string, number> {
    return this.store.countDeliveriesByStatus();
  }
}
