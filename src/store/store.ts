// The store interface: everything the engine and the HTTP layer may ask of
// storage. SQLite implements it today (sqlite-store.ts); the two hot writes
// (publish, recordAttempt) are already asynchronous so that a networked store
// such as PostgreSQL can sit behind the same shape.
import type {
  Attempt, AttemptRecord, Delivery, DeliveryFilter, DeliveryJob, Destination, EventFilter, EventType,
  HeraldEvent, Lease, NewEvent, Page, PublishResult, Subscription, DeliveryStats, DestinationHealth, RetryRefusal,
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
  claimDue(now: number, lease: Lease, limit: number): DeliveryJob[];
  releaseExpiredLeases(now: number): number;
  /** Hands one delivery back to pending without an attempt, if it still holds `lease`. */
  releaseLease(id: string, lease: Lease, now: number, dueAt?: number): void;
  cancelOrphan(id: string, now: number): boolean;
  /**
   * Logs an attempt and moves the delivery to its outcome, if it still holds the
   * attempt's lease; otherwise the attempt is only logged and counted, and the
   * row is left to whoever holds it now. Resolves to whether the outcome applied.
   */
  recordAttempt(record: AttemptRecord, now: number): Promise<boolean>;
  /** Leases a delivery for a manual retry; `tenant` (null: any) limits it to one tenant's deliveries. */
  leaseForRetry(id: string, now: number, lease: Lease, tenant: string | null): { job: DeliveryJob } | { error: RetryRefusal };

  // Instances: every process that leases deliveries registers under its own id
  // (DESIGN §7: several may share one database, and only a dead one's leases are taken back).
  /** Registers a live instance; from now on the store can tell whether it is still alive. */
  registerInstance(id: string, now: number): void;
  /** Notes that the instance is alive at `now` (each sweep). */
  heartbeat(id: string, now: number): void;
  /** A clean stop: the leases the instance still holds go back to pending, and it is forgotten. */
  retireInstance(id: string, now: number): number;
  /**
   * Returns to pending, due now, the leases of instances that are gone: proven
   * dead by the store (SQLite: the instance's lock is free), or, where the store
   * cannot tell, silent since `staleBefore`; and leases that name no known
   * instance. A live instance's leases are never taken. Forgets the dead instances.
   */
  releaseLeasesOfDeadInstances(now: number, staleBefore: number): number;
  requeueFailed(destinationId: string, since: number, until: number, now: number): number;
  countDeliveriesByStatus(destinationId?: string): Record<string, number>;
  deliveryStats(filter: { tenant?: string; destination_id?: string; since: number; until: number; bucket_ms: number }): DeliveryStats;
  destinationHealth(id: string, since: number, until: number): DestinationHealth;

  deleteFinishedBefore(cutoff: number, chunk?: number): number;

  generatedTokenHashes(): string[];
  saveGeneratedToken(name: string, sha256: string, now: number): void;
}
