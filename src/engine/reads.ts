// Every read the HTTP layer makes, each taking the caller's Scope and applying
// it here, once: a list holds only the scope's tenants; one resource of another
// tenant is not_found (never forbidden: its existence is not revealed).
// Lists take a scope already narrowed to any tenant the caller named (scope.ts).
import type { AdminStore, CatalogStore, LogStore, QueueFigures, QueueStore } from "../store/store.ts";
import type {
  Attempt, AttemptBucket, Delivery, DeliveryFilter, DeliveryStats, Destination, DestinationHealth, EventFilter, EventType,
  HeraldEvent, Page, SigningSecret, Subscription,
} from "../store/types.ts";
import { ShortCache } from "./short-cache.ts";
import { endpointHealth, HEALTH_RANGES, type EndpointHealth, type HealthRange } from "./endpoint-health.ts";
import { notFound } from "./problem.ts";
import { sees, seesEventType, type Scope } from "./scope.ts";

/** The store's parts this module reads: the log and the catalogue. */
export interface ReadStore {
  readonly log: LogStore;
  readonly catalog: CatalogStore;
  readonly queue: Pick<QueueStore, "openBreakers">;
  readonly admin: Pick<AdminStore, "sizeBytes">;
}

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
  /**
   * Attempt buckets over a window are the dear read of endpoint health (on
   * SQLite ~0.5 s over 100,000 attempts of one destination, and SQLite reads
   * block the event loop): computed at most once per destination and range
   * every 30 s, however many pages or clients ask.
   */
  private readonly attemptBuckets: ShortCache<AttemptBucket[]>;

  constructor(
    private readonly store: ReadStore,
    private readonly now: () => number,
  ) {
    this.attemptBuckets = new ShortCache(now, 30_000);
  }

  async listEvents(scope: Scope, query: EventQuery): Promise<Page<HeraldEvent>> {
    return this.store.log.listEvents({ ...query, tenant: tenantOf(scope) });
  }

  /** One event with its deliveries (one per destination it fanned out to). */
  async getEvent(scope: Scope, id: string): Promise<{ event: HeraldEvent; deliveries: Delivery[] }> {
    const event = await this.store.log.getEvent(id);
    if (!event || !sees(scope, event.tenant)) throw notFound("event", id);
    return { event, deliveries: await this.store.log.deliveriesOfEvent(event.id) };
  }

  async listDeliveries(scope: Scope, query: DeliveryQuery): Promise<Page<Delivery>> {
    return this.store.log.listDeliveries({ ...query, tenant: tenantOf(scope) });
  }

  /** One delivery with every attempt made of it, oldest first. */
  async getDelivery(scope: Scope, id: string): Promise<{ delivery: Delivery; attempts: Attempt[] }> {
    const delivery = await this.store.log.getDelivery(id);
    if (!delivery || !sees(scope, delivery.tenant)) throw notFound("delivery", id);
    return { delivery, attempts: await this.store.log.attemptsOf(delivery.id) };
  }

  async listDestinations(scope: Scope, query: PageQuery): Promise<Page<Destination>> {
    const page = await this.store.catalog.listDestinations({ ...query, tenant: tenantOf(scope) });
    return { ...page, data: await this.withDeliveryState(page.data) };
  }

  async getDestination(scope: Scope, id: string): Promise<Destination> {
    return (await this.withDeliveryState([await this.visibleDestination(scope, id)]))[0]!;
  }

  /** The destination as the catalogue has it, if `scope` sees it (the reveal routes need no more). */
  private async visibleDestination(scope: Scope, id: string): Promise<Destination> {
    const destination = await this.store.catalog.getDestination(id);
    if (!destination || !sees(scope, destination.tenant)) throw notFound("destination", id);
    return destination;
  }

  /**
   * What the answers add from the job table: how many deliveries each is being
   * sent now (one read for the whole page), so that a destination at
   * max_in_flight is seen to be full, not idle; and, for ordered ones, a head
   * that holds the rest back.
   */
  private async withDeliveryState(destinations: Destination[]): Promise<Destination[]> {
    const inFlight = await this.store.log.inFlight(destinations.map((d) => d.id));
    return Promise.all(destinations.map((d) => this.withHeadHold({ ...d, in_flight: inFlight.get(d.id) ?? 0 })));
  }

  /**
   * An ordered destination whose head has failed and waits for its retry while
   * others wait behind it is held back by it: said in the answer, so that a
   * quiet ordered destination is not mistaken for an idle one.
   */
  private async withHeadHold(destination: Destination): Promise<Destination> {
    if (!destination.ordered) return { ...destination, held_by_head: null };
    const found = await this.store.log.orderedHead(destination.id);
    const held = found !== null && found.head.status === "pending" && found.head.attempts > 0 && found.waiting > 0;
    if (!held) return { ...destination, held_by_head: null };
    const { head, waiting } = found;
    return {
      ...destination,
      held_by_head: { delivery_id: head.id, attempts: head.attempts, next_attempt_at: head.next_attempt_at, last_error: head.last_error, waiting },
    };
  }

  /** The current signing secret and the previous ones still inside their grace period. */
  async destinationSecrets(scope: Scope, id: string): Promise<{ secret: string; previous: SigningSecret[] }> {
    const now = this.now();
    const { secrets } = await this.visibleDestination(scope, id);
    const active = secrets.find((s) => s.expires_at === null)!;
    return { secret: active.secret, previous: secrets.filter((s) => s.expires_at !== null && s.expires_at > now) };
  }

  /** The static header values (answers elsewhere show only their names). */
  async destinationHeaders(scope: Scope, id: string): Promise<Record<string, string>> {
    return { ...(await this.visibleDestination(scope, id)).headers };
  }

  /** Delivery counts in [since, until) and the last success and failure of one destination: the read of many, with one id. */
  async destinationHealth(scope: Scope, id: string, since: number, until: number): Promise<DestinationHealth> {
    const health = (await this.destinationsHealth(scope, [id], since, until)).get(id);
    if (!health) throw notFound("destination", id);
    return health;
  }

  /**
   * The same for many destinations in one read, keyed by id: those the scope
   * does not see (another tenant's) are left out like unknown ones, so their
   * existence is not revealed.
   */
  async destinationsHealth(scope: Scope, ids: string[], since: number, until: number): Promise<Map<string, DestinationHealth>> {
    return this.store.log.destinationsHealth({ ids, tenant: tenantOf(scope), since, until });
  }

  /**
   * Endpoint health over the last 24 h or 7 d (endpoint-health.ts): attempts in
   * buckets with latency percentiles, the deliveries' success rate, and why it is held back.
   */
  async endpointHealth(scope: Scope, id: string, range: HealthRange): Promise<EndpointHealth> {
    const plain = await this.visibleDestination(scope, id);
    const until = this.now();
    const since = until - HEALTH_RANGES[range].ms;
    const [deliveries, found, load] = await Promise.all([
      this.destinationHealth(scope, id, since, until + 1),
      this.attemptBuckets.get(`${id}\n${range}`, () => this.store.log.attemptBuckets(id, since, until + 1, HEALTH_RANGES[range].bucket_ms)),
      this.store.log.destinationLoad(id, until),
    ]);
    // The load read here is the in_flight the answer shows: not read a second time.
    const destination = await this.withHeadHold({ ...plain, in_flight: load.in_flight });
    return endpointHealth({ destination, range, since, until, deliveries, found, load });
  }

  async listSubscriptions(scope: Scope, query: PageQuery & { destination_id?: string }): Promise<Page<Subscription>> {
    return this.store.catalog.listSubscriptions({ ...query, tenant: tenantOf(scope) });
  }

  async getSubscription(scope: Scope, id: string): Promise<Subscription> {
    const subscription = await this.store.catalog.getSubscription(id);
    if (!subscription || !sees(scope, subscription.tenant)) throw notFound("subscription", id);
    return subscription;
  }

  /** The event types the scope sees: those shared by every tenant, and those limited to its own. */
  async listEventTypes(scope: Scope): Promise<EventType[]> {
    return (await this.store.catalog.listEventTypes()).filter((t) => seesEventType(scope, t));
  }

  /** One private to other tenants answers as a missing one. */
  async getEventType(scope: Scope, name: string): Promise<EventType> {
    const eventType = await this.store.catalog.getEventType(name);
    if (!eventType || !seesEventType(scope, eventType)) throw notFound("event type", name);
    return eventType;
  }

  /** Deliveries by state and over time, in buckets of `bucket_ms`. */
  async deliveryStats(scope: Scope, window: StatsWindow): Promise<DeliveryStats> {
    return this.store.log.deliveryStats({ ...window, tenant: tenantOf(scope) });
  }

  /** Every delivery in the job table by status, across tenants (the metrics endpoint). */
  async countDeliveriesByStatus(): Promise<Record<string, number>> {
    return this.store.log.countDeliveriesByStatus();
  }

  /** The oldest due delivery and breakers by state, across tenants (the metrics endpoint). */
  async queueFigures(): Promise<QueueFigures> {
    return this.store.log.queueFigures(this.now());
  }

  /** Bytes the store takes on disk (the metrics endpoint). */
  async storeSize(): Promise<number> {
    return this.store.admin.sizeBytes();
  }
}
