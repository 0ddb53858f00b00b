// The store interface: everything the engine and the HTTP layer may ask of
// storage. SQLite implements it today (sqlite-store.ts); the two hot writes
// (publish, recordAttempt) are already asynchronous so that a networked store
// such as PostgreSQL can sit behind the same shape.
import type {
  Attempt, AttemptRecord, Delivery, DeliveryFilter, DeliveryJob, Destination, EventFilter, EventType,
  HeraldEvent, NewEvent, Page, PublishResult, Subscription, DeliveryStats, DestinationHealth, RetryRefusal,
  CatalogSnapshot, SubscriptionCreated,
} from "./types.ts";

export interface Store {
  close(): void;
  /** Commits any writes still gathered for group commit. */
  flush(): void;
  isWritable(): boolean;
  backup(path: string): void;

  // The catalogue: event types, destinations, subscriptions. Every write to it
  // raises the catalogue version in the same transaction. Creates insert only
  // when the key is free and say whether they did; updates change only a row
  // that still exists (a deleted resource is never brought back); the upserts
  // (save*, upsertEventType) are for resources whose id the config owns.

  /** The version the last catalogue write left; one cheap read. */
  catalogVersion(): number;
  /** The whole catalogue as of one version, read together. */
  loadCatalog(): CatalogSnapshot;

  listEventTypes(): EventType[];
  getEventType(name: string): EventType | null;
  /** Inserts the event type unless the name is taken; false when it was. */
  createEventType(t: EventType): boolean;
  /** Changes an existing event type; false when there is none by that name. */
  updateEventType(t: EventType): boolean;
  upsertEventType(t: EventType): void;
  deleteEventType(name: string): boolean;

  listDestinations(filter: { tenant?: string; cursor?: string; limit: number }): Page<Destination>;
  allDestinations(): Destination[];
  getDestination(id: string): Destination | null;
  /** Inserts the destination unless the id is taken; false when it was. */
  createDestination(d: Destination): boolean;
  /** Changes an existing destination (failing_since included); false when there is none with that id. */
  updateDestination(d: Destination): boolean;
  saveDestination(d: Destination): void;
  deleteDestination(id: string, now: number): boolean;
  setDestinationEnabled(id: string, enabled: boolean, reason: string | null, now: number): boolean;
  destinationsFailingSince(cutoff: number): Destination[];

  listSubscriptions(filter: { tenant?: string; destination_id?: string; cursor?: string; limit: number }): Page<Subscription>;
  allSubscriptions(): Subscription[];
  getSubscription(id: string): Subscription | null;
  /** Inserts the subscription unless the id is taken or its destination is gone. */
  createSubscription(s: Subscription): SubscriptionCreated;
  /** Changes an existing subscription; false when there is none with that id. */
  updateSubscription(s: Subscription): boolean;
  saveSubscription(s: Subscription): void;
  deleteSubscription(id: string): boolean;

  publish(item: NewEvent): Promise<PublishResult>;
  getEvent(id: string): HeraldEvent | null;
  listEvents(filter: EventFilter): Page<HeraldEvent>;

  getDelivery(id: string): Delivery | null;
  deliveriesOfEvent(eventId: string): Delivery[];
  listDeliveries(filter: DeliveryFilter): Page<Delivery>;
  attemptsOf(deliveryId: string): Attempt[];
  claimDue(now: number, leaseUntil: number, limit: number): DeliveryJob[];
  releaseExpiredLeases(now: number): number;
  releaseAllLeases(now: number): number;
  releaseLease(id: string, now: number, dueAt?: number): void;
  cancelOrphan(id: string, now: number): boolean;
  recordAttempt(record: AttemptRecord, now: number): Promise<void>;
  /** Leases a delivery for a manual retry; `tenant` (null: any) limits it to one tenant's deliveries. */
  leaseForRetry(id: string, now: number, leaseUntil: number, tenant: string | null): { job: DeliveryJob } | { error: RetryRefusal };
  requeueFailed(destinationId: string, since: number, until: number, now: number): number;
  countDeliveriesByStatus(destinationId?: string): Record<string, number>;
  deliveryStats(filter: { tenant?: string; destination_id?: string; since: number; until: number; bucket_ms: number }): DeliveryStats;
  destinationHealth(id: string, since: number, until: number): DestinationHealth;

  deleteFinishedBefore(cutoff: number, chunk?: number): number;

  generatedTokenHashes(): string[];
  saveGeneratedToken(name: string, sha256: string, now: number): void;
}
