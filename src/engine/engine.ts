// The engine: catalogue, publisher, dispatcher, sweeps and operational events,
// wired once from the frozen config. HTTP handlers talk only to this.
import type { Config } from "../config/schema.ts";
import type { Store } from "../store/store.ts";
import type { Delivery, DeliveryJob, HeraldEvent } from "../store/types.ts";
import { createAddressGuard } from "./address-guard.ts";
import { AuditLog, disabledByHerald, heraldCaller, type Caller } from "./audit.ts";
import { ApiKeys } from "./api-keys.ts";
import { Backfills, DEFAULT_BACKFILL_SETTINGS } from "./backfill.ts";
import { Catalog } from "./catalog.ts";
import { LatestRead } from "./latest-read.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import { Dispatcher } from "./dispatcher.ts";
import { HttpClient } from "./http-client.ts";
import type { WebhookClient } from "./http-client/request-and-answer.ts";
import { WorkerHttpClient } from "./worker-http-client.ts";
import { OperationalEvents } from "./operational-events.ts";
import { notFound, Problem } from "./problem.ts";
import { Publisher } from "./publisher.ts";
import { Reads } from "./reads.ts";
import type { Scope } from "./scope.ts";
import { Retention } from "./retention.ts";
import type { SendOptions, SendResult } from "./sender.ts";
import { DestinationService } from "./destinations.ts";
import { SubscriptionService } from "./subscriptions.ts";
import { EventTypeService } from "./event-types.ts";
import { PORTAL_KEY_PURPOSE, PortalLinks } from "./portal-links.ts";
import { Sweeper } from "./sweeper.ts";
import { Telemetry } from "./telemetry.ts";
import { VERSION } from "../version.ts";

/** Consecutive failures after which `herald.delivery.failing` is published. */
const FAILING_AFTER = 4;

/** Most ids one bulk retry takes; a filter takes every match (one UPDATE). */
export const MAX_BULK_RETRY = 1000;

/** Which failed deliveries a bulk retry by filter takes (created in [since, until)). */
export interface BulkRetryFilter {
  destination_id?: string;
  event_type?: string;
  since?: number;
  until?: number;
}

export class Engine {
  readonly catalog: Catalog;
  readonly dispatcher: Dispatcher;
  readonly publisher: Publisher;
  readonly sweeper: Sweeper;
  readonly retention: Retention;
  readonly operational: OperationalEvents;
  readonly destinations: DestinationService;
  readonly subscriptions: SubscriptionService;
  readonly eventTypes: EventTypeService;
  /** Backfill jobs: deliveries made after the fact for stored events (POST /v1/subscriptions/{id}/backfill). */
  readonly backfills: Backfills;
  /** Who changed what: entries for every management change, and GET /v1/audit's reads. */
  readonly audit: AuditLog;
  /** API keys made through the API, cached for authenticating requests. */
  readonly apiKeys: ApiKeys;
  /** Customer portal links: signed, expiring credentials for one tenant's console, stored nowhere. */
  readonly portalLinks: PortalLinks;
  /** Counters and histograms for /metrics, fed by the listeners below. */
  readonly telemetry: Telemetry;
  /** Every read HTTP makes, scoped to the caller's tenants. */
  readonly reads: Reads;
  /** A claimed delivery stays leased this long: its queue wait and send fit well inside. */
  readonly lease_ms: number;
  /** How every send is made (the dispatcher's and test sends'), built once. */
  readonly sendOptions: SendOptions;
  /** Direct sends' keep-alive connections, closed at stop (through a proxy, sends use fetch). */
  private readonly httpClient: WebhookClient;
  private readonly counts = new LatestRead();

  constructor(
    // Private: everything above the engine reads through `reads` and changes through its services.
    private readonly store: Store,
    readonly config: Config,
    readonly deps: EngineDeps,
  ) {
    const d = config.delivery;
    // SQLite's work runs on this thread (bun:sqlite is synchronous), which a
    // busy Herald fills: its sends then go through a thread of their own. With
    // PostgreSQL the server does that work and this thread has room, so handing
    // sends over would only add CPU (bench/README.md, issue 17: level with one
    // instance, 4-6 % fewer deliveries with three).
    this.httpClient = config.storage.driver === "sqlite" ? new WorkerHttpClient() : new HttpClient();
    this.lease_ms = d.timeout * 8 + 60_000;
    this.sendOptions = {
      fetch: deps.fetch,
      now: deps.now,
      // Through a proxy the proxy connects: the guard checks but cannot pin (address-guard.ts).
      guard: createAddressGuard(d, undefined, deps.now, d.proxy === undefined),
      timeout_ms: d.timeout,
      keep_response_bytes: d.keep_response_bytes,
      user_agent: `Herald/${VERSION}`,
      ...(d.proxy !== undefined ? { proxy: d.proxy } : { client: this.httpClient }),
      // A CA list replaces the system's roots: the extra CAs are added to them, never instead.
      // node:tls only then: loaded, it held ~1 MiB of an idle Herald (bench/README.md, 6 Dec).
      ...(d.tls_ca !== undefined ? { ca: [...process.getBuiltinModule("node:tls").rootCertificates, d.tls_ca] } : {}),
    };
    this.catalog = new Catalog(store.catalog);
    this.audit = new AuditLog(store.audit, deps);
    this.dispatcher = new Dispatcher(
      store.queue,
      this.catalog,
      deps,
      {
        concurrency: d.concurrency, lease_ms: this.lease_ms, retry_schedule: d.retry_schedule, jitter: d.jitter,
        breaker: { failures: d.breaker.failures, probe_every_ms: d.breaker.probe_every },
      },
      this.sendOptions,
    );
    this.operational = new OperationalEvents(store.catalog, this.catalog, deps);
    this.publisher = new Publisher(store.queue, this.catalog, this.dispatcher, deps, this.lease_ms, d.max_schedule_ahead);
    this.operational.attach(this.publisher);
    this.sweeper = new Sweeper(
      store,
      this.catalog,
      this.dispatcher,
      this.operational,
      deps,
      this.audit,
      { schedule: config.sweep.schedule, disable_after: d.disable_after },
      () => this.countInstances(),
      (now) => this.backfills.resume(now),
    );
    this.backfills = new Backfills(store, this.catalog, deps, this.audit, () => this.dispatcher.noteBacklog(), { ...DEFAULT_BACKFILL_SETTINGS, lease_ms: this.lease_ms });
    this.retention = new Retention(store, deps, config.retention, (now) => this.sweeper.leadsMaintenance(now));
    this.reads = new Reads(store, deps.now);
    this.apiKeys = new ApiKeys(store.keys, deps, store.signals !== null, this.audit);
    // Signed with a key derived from the sealing keys, which every instance sharing the database holds.
    this.portalLinks = new PortalLinks(store.sealing.keyring.derive(PORTAL_KEY_PURPOSE), store.portalLinks);
    const parts = {
      store,
      catalog: this.catalog,
      audit: this.audit,
      dispatcher: this.dispatcher,
      operational: this.operational,
      deps,
      config,
      sendOptions: this.sendOptions,
    };
    this.destinations = new DestinationService(parts);
    this.subscriptions = new SubscriptionService(parts);
    this.eventTypes = new EventTypeService(parts);
    this.telemetry = new Telemetry(this.catalog);
    this.publisher.onPublished = (type) => this.telemetry.eventPublished(type);
    this.sweeper.onRun = (seconds) => this.telemetry.sweepSeconds.observe(seconds);
    this.retention.onRun = (seconds) => this.telemetry.retentionSeconds.observe(seconds);
    this.dispatcher.onAttempt((job, result, status) => this.telemetry.attempt(job, result, status));
    this.dispatcher.onBreaker((change) => this.telemetry.breaker(change));
    this.dispatcher.onAttempt((job, result, status, next) => this.logFailure(job, result, status, next));
    this.dispatcher.onAttempt((job, result, status) => this.afterAttempt(job, result, status));
    this.dispatcher.onBreaker((change) => this.operational.breakerChanged(change, this.deps.now()));
  }

  /**
   * Loads the catalogue, registers this instance, takes back the leases that
   * expired or whose owner is dead (a crashed previous run: at once), and starts
   * sending. Another live instance's leases are left alone: taking them would
   * send its deliveries twice. `sweeps: false` leaves the timers off (tests).
   */
  async start(options: { sweeps?: boolean } = {}): Promise<void> {
    const now = this.deps.now();
    await this.catalog.reload();
    await this.store.queue.registerInstance(this.deps.instance, now);
    await this.store.queue.releaseExpiredLeases(now);
    await this.store.queue.releaseLeasesOfDeadInstances(now, now - this.sweeper.staleAfter);
    await this.operational.register(now);
    // Another instance's publish past its capacity, or its change to the catalogue,
    // reaches this one at once where the store can say so; otherwise at the next sweep.
    // Listening before the first count: an instance registering in between is not missed.
    await this.store.signals?.listen({
      work: () => this.dispatcher.noteBacklog(),
      // A destination enabled elsewhere has pending deliveries to claim now.
      catalog: () => {
        this.catalog.refresh().then(
          (changed) => changed && this.dispatcher.noteBacklog(),
          (error) => this.deps.log.error("reloading the catalogue failed", { error: errorMessage(error) }),
        );
      },
      // Counted again at once, not at the next sweep: the count divides rate limits,
      // and tells the dispatcher whether to keep work that others could take.
      instances: () => {
        this.countInstances().catch((error) => this.deps.log.error("counting the instances failed", { error: errorMessage(error) }));
      },
      // A key made or revoked elsewhere: refused or accepted here at once, not at the next check.
      keys: () => this.apiKeys.changed(),
    });
    await this.countInstances();
    this.dispatcher.setOpenBreakers(await this.store.queue.openBreakers());
    this.dispatcher.start();
    // Jobs of a crashed previous run (their instance is dead now) go on from their cursors.
    await this.backfills.resume(now);
    if (options.sweeps !== false) {
      this.sweeper.start();
      this.retention.start();
    }
  }

  /**
   * Stops the timers, lets sends under way finish and be recorded, and hands
   * back the leases of deliveries still waiting in memory, so another instance
   * sends them now rather than when their lease runs out.
   */
  async stop(): Promise<void> {
    this.sweeper.stop();
    this.retention.stop();
    // Before the retirement below, which lets another instance take the jobs over.
    await this.backfills.stop();
    await this.dispatcher.stop();
    // Sends have finished: no pooled connection outlives the engine.
    this.httpClient.close();
    try {
      await this.store.queue.retireInstance(this.deps.instance, this.deps.now());
    } catch (error) {
      // A store that cannot write: the leases come back once this process has
      // ended (its lock is then free) or when they expire.
      this.deps.log.error("handing back leases at stop failed", { error: errorMessage(error) });
    }
  }

  /**
   * Sends one delivery within `scope` again now, with a fresh schedule and the
   * same webhook-id, and answers with it as leased. Another tenant's delivery
   * is not_found; one being sent, or cancelled, is a conflict.
   */
  async retry(by: Caller, scope: Scope, deliveryId: string): Promise<Delivery> {
    const now = this.deps.now();
    const leased = await this.store.queue.leaseForRetry(deliveryId, now, { owner: this.deps.instance, until: now + this.lease_ms }, scope.tenant);
    if ("error" in leased) {
      if (leased.error === "not_found") throw notFound("delivery", deliveryId);
      if (leased.error === "cancelled") {
        throw new Problem(
          "conflict",
          `delivery ${deliveryId} was cancelled (its destination was deleted, or its event cancelled); it cannot be retried`,
          undefined,
          "delivery_cancelled",
        );
      }
      throw new Problem("conflict", `delivery ${deliveryId} is being sent right now; try again when this attempt ends`);
    }
    this.dispatcher.accept([leased.job]);
    // A queue write, which takes no entry: recorded right after it (the send is not kept waiting).
    const d = leased.job.delivery;
    await this.audit.record(by, { action: "delivery.retried", resource: { type: "delivery", id: d.id }, tenant: d.tenant });
    return d;
  }

  /**
   * Puts failed deliveries within `scope` back to pending, due now, each with a
   * fresh schedule and its webhook-id: the given ids (at most MAX_BULK_RETRY; any
   * not failed, unknown or another tenant's is skipped), or every failed one
   * matching the filter. One queue write, then one audit entry for the lot.
   */
  async retryMany(by: Caller, scope: Scope, selection: { ids: string[] } | { filter: BulkRetryFilter }): Promise<{ queued: number; skipped: number }> {
    const now = this.deps.now();
    const ids = "ids" in selection ? [...new Set(selection.ids)] : null;
    if (ids && ids.length > MAX_BULK_RETRY) throw new Problem("invalid", `at most ${MAX_BULK_RETRY} ids at once`, [{ path: "ids", message: `must hold at most ${MAX_BULK_RETRY}` }]);
    const f = "filter" in selection ? selection.filter : null;
    if (f?.since !== undefined && f.until !== undefined && f.until <= f.since) {
      throw new Problem("invalid", "until must be after since", [{ path: "filter.until", message: "must be after since" }]);
    }
    const queued = await this.store.queue.requeueSelected(ids ? { ids, tenant: scope.tenant } : { filter: f!, tenant: scope.tenant }, now);
    if (queued > 0) this.dispatcher.noteBacklog();
    // A queue write, which takes no entry: recorded right after it.
    await this.audit.record(by, {
      action: "deliveries.retried", resource: { type: "deliveries", id: ids ? `${ids.length} ids` : "filter" }, tenant: scope.tenant,
      changes: { queued: { from: null, to: queued }, ...(f ? { filter: { from: null, to: { status: "failed", ...f } } } : {}) },
    });
    return { queued, skipped: ids ? ids.length - queued : 0 };
  }

  /**
   * Cancels the deliveries of one event within `scope` that are not yet made
   * (pending: scheduled, or waiting for a retry) and answers with the event and
   * all its deliveries. One being sent right now is left to finish, and ends as
   * its attempt says. Another tenant's event is not_found, and nothing changes.
   */
  async cancelEvent(by: Caller, scope: Scope, eventId: string): Promise<{ event: HeraldEvent; deliveries: Delivery[]; cancelled: number }> {
    // Cancelled first, limited to the scope's tenant, then read: one write, and
    // the read's not_found answers for another tenant's event (it cancelled nothing).
    const cancelled = await this.store.queue.cancelPendingOfEvent(eventId, this.deps.now(), scope.tenant);
    const read = await this.reads.getEvent(scope, eventId);
    // Recorded right after the queue write (which takes no entry), once the event is known to be the caller's.
    await this.audit.record(by, {
      action: "event.cancelled", resource: { type: "event", id: eventId }, tenant: read.event.tenant, changes: { cancelled: { from: null, to: cancelled } },
    });
    return { ...read, cancelled };
  }

  /** Counts the instances sharing the store (a signal, a sweep, the start); counts may overlap: LatestRead. */
  private countInstances(): Promise<void> {
    return this.counts.run(() => this.store.queue.countInstances(), (n) => this.dispatcher.setInstanceCount(n));
  }

  /** Whether the store takes writes now (the readiness probe; while it fails, this is what finds it writable again). */
  isWritable(): Promise<boolean> {
    return this.store.admin.probeWritable();
  }

  /** Resolves once nothing is queued or being sent (tests, shutdown). */
  idle(): Promise<void> {
    return this.dispatcher.idle();
  }

  /**
   * One line per failed attempt (info): what an operator looks for first. The
   * attempt's error is Herald's own description (sender.ts), never a header
   * value or the signature; the destination is named by id, not by URL (a URL
   * may carry a token in its query).
   */
  private logFailure(job: DeliveryJob, result: SendResult, status: string, nextAttemptAt: number | null): void {
    if (result.ok) return;
    const d = job.delivery;
    this.deps.log.info("attempt failed", {
      destination: d.destination_id,
      delivery: d.id,
      event_type: d.event_type,
      attempt: d.attempts + 1,
      status: result.status,
      error: result.attempt.error,
      outcome: status,
      next_attempt: nextAttemptAt === null ? null : new Date(nextAttemptAt).toISOString(),
    });
  }

  private afterAttempt(job: DeliveryJob, result: SendResult, status: string): void {
    const d = job.delivery;
    const destination = this.catalog.destinations.get(d.destination_id);
    if (!destination) return;
    if (result.status === 410) {
      this.operational.destinationDisabled(destination.id, "the endpoint answered 410 Gone");
      // The record that disabled it is on the delivery path, which writes no entry: this one
      // follows it, off that path. `destination` is the catalogue's copy from before the disabling.
      if (destination.enabled) {
        void this.audit.record(heraldCaller(this.deps.instance), disabledByHerald(destination, "the endpoint answered 410 Gone"));
      }
    }
    // Deliveries of Herald's own events report nothing further, or a failing
    // subscriber of herald.delivery.* would feed itself forever.
    if (d.event_type.startsWith("herald.")) return;
    const attempts = d.attempts + 1;
    const base = { delivery_id: d.id, event_id: d.event_id, destination_id: d.destination_id, attempts };
    if (status === "failed") {
      this.operational.emit("herald.delivery.exhausted", destination.tenant, { ...base, last_error: result.attempt.error });
    } else if (status === "pending" && attempts - d.schedule_start === FAILING_AFTER) {
      this.operational.emit("herald.delivery.failing", destination.tenant, { ...base, last_error: result.attempt.error });
    } else if (status === "succeeded" && attempts > 1) {
      this.operational.emit("herald.delivery.recovered", destination.tenant, base);
    }
  }
}
