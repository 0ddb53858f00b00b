// Backfill: deliveries made after the fact, for a subscriber who came late.
// A job covers one subscription's destination and a window [since, until) of
// stored events; it is worked in the background, a chunk of events at a time:
// the store reads the tenant's next events after the job's cursor, the
// subscription's own matching rule (fanout.ts) picks them, and the store writes
// their deliveries (only where the destination has none of that event yet)
// with the moved cursor and counts in one transaction. The job is leased to the
// instance working it, renewed by every chunk; a job whose instance died, or
// whose lease ran out, is taken over by a sweep (resume) and goes on from its
// cursor. Nothing here runs on a request's path or on publish, claim or record.
import type { Store } from "../store/store.ts";
import { newId } from "../store/ids.ts";
import type { BackfillJob, Delivery, HeraldEvent, Lease, Page, Subscription } from "../store/types.ts";
import { isStorageFailure } from "../store/unavailable.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import { subscriptionMatches } from "./fanout.ts";
import { notFound, Problem, type ProblemDetail } from "./problem.ts";
import { sees, type Scope } from "./scope.ts";
import type { AuditLog, Caller } from "./audit.ts";
import type { Catalog } from "./catalog.ts";

export interface BackfillSettings {
  /** A job stays leased this long after each chunk: a chunk takes far less. */
  lease_ms: number;
  /** Events read per chunk (and so per transaction). */
  chunk: number;
  /** Jobs one instance works at once; more wait for a later sweep (or another instance). */
  max_jobs: number;
}

/**
 * 500 events a chunk: one transaction of up to 500 delivery inserts, a few ms on
 * SQLite, short enough that publishes gathered behind it barely wait.
 */
export const DEFAULT_BACKFILL_SETTINGS = { chunk: 500, max_jobs: 4 } as const;

export interface BackfillWindow {
  since: number;
  /** Defaults to now. */
  until?: number;
}

/** Lets the event loop serve requests and sends between two chunks. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export class Backfills {
  /** The jobs this instance works now, by id. */
  private readonly working = new Map<string, Promise<void>>();
  private stopping = false;

  constructor(
    private readonly store: Pick<Store, "backfills" | "catalog">,
    /** The loaded catalogue: whether an event's type is hidden from the job's tenant (fan-out's rule, kept by a backfill too). */
    private readonly catalog: Pick<Catalog, "hidesEventType">,
    private readonly deps: EngineDeps,
    private readonly audit: AuditLog,
    /** Tells the dispatcher that due deliveries were written (Dispatcher.noteBacklog). */
    private readonly wake: () => void,
    private readonly settings: BackfillSettings,
  ) {}

  /**
   * Starts a backfill of the subscription within `scope` (another tenant's
   * reads as missing), answers with the job as written (running), and works it
   * in the background from the next turn of the event loop.
   */
  async start(by: Caller, scope: Scope, subscriptionId: string, window: BackfillWindow): Promise<BackfillJob> {
    const now = this.deps.now();
    const until = window.until ?? now;
    const details: ProblemDetail[] = [];
    if (window.until !== undefined && window.until > now) details.push({ path: "until", message: "must not be in the future" });
    else if (window.since >= until) {
      details.push(window.until === undefined ? { path: "since", message: "must be in the past" } : { path: "until", message: "must be after since" });
    }
    if (details.length) throw new Problem("invalid", `the window is invalid: ${details[0]!.path} ${details[0]!.message}`, details);
    const subscription = await this.store.catalog.getSubscription(subscriptionId);
    if (!subscription || !sees(scope, subscription.tenant)) throw notFound("subscription", subscriptionId);
    const job: BackfillJob = {
      id: newId("bkf", now), subscription_id: subscription.id, destination_id: subscription.destination_id, tenant: subscription.tenant,
      since: window.since, until, status: "running", cursor_at: null, cursor_id: null, events_scanned: 0, deliveries_created: 0,
      lease_owner: this.deps.instance, lease_until: now + this.settings.lease_ms, error: null, created_at: now, updated_at: now,
      finished_at: null,
    };
    await this.store.backfills.create(job);
    this.launch(job);
    // A job write, which takes no entry: recorded right after it.
    await this.audit.record(by, {
      action: "backfill.started", resource: { type: "backfill", id: job.id }, tenant: job.tenant,
      changes: { subscription_id: { from: null, to: job.subscription_id }, since: { from: null, to: job.since }, until: { from: null, to: job.until } },
    });
    return job;
  }

  /** One job within `scope`; another tenant's is not_found. */
  async get(scope: Scope, id: string): Promise<BackfillJob> {
    const job = await this.store.backfills.get(id);
    if (!job || !sees(scope, job.tenant)) throw notFound("backfill", id);
    return job;
  }

  /** The scope's jobs, newest first; a scope already narrowed to any tenant the caller named. */
  list(scope: Scope, query: { subscription_id?: string; cursor?: string; limit: number }): Promise<Page<BackfillJob>> {
    return this.store.backfills.list({ ...query, tenant: scope.tenant ?? undefined });
  }

  /** Cancels a running job within `scope`: its next chunk finds the lease gone. What it made so far stays. */
  async cancel(by: Caller, scope: Scope, id: string): Promise<BackfillJob> {
    const cancelled = await this.store.backfills.finish(id, "cancelled", "cancelled through the API", this.deps.now(), { tenant: scope.tenant });
    if (cancelled) {
      await this.audit.record(by, {
        action: "backfill.cancelled", resource: { type: "backfill", id }, tenant: cancelled.tenant,
        changes: { status: { from: "running", to: "cancelled" } },
      });
      return cancelled;
    }
    const job = await this.get(scope, id);
    throw new Problem("conflict", `backfill ${id} is ${job.status} already`, undefined, "backfill_finished");
  }

  /**
   * Takes over running jobs whose lease ran out or whose instance is gone (the
   * sweep runs this after returning dead instances' leases), and works them.
   * How many were taken.
   */
  async resume(now: number): Promise<number> {
    const room = this.settings.max_jobs - this.working.size;
    if (this.stopping || room <= 0) return 0;
    try {
      const jobs = await this.store.backfills.claim(now, { owner: this.deps.instance, until: now + this.settings.lease_ms }, room);
      for (const job of jobs) this.launch(job);
      if (jobs.length) this.deps.log.info("backfills taken over", { jobs: jobs.map((j) => j.id) });
      return jobs.length;
    } catch (error) {
      this.deps.log.error("taking over backfills failed", { error: errorMessage(error) });
      return 0;
    }
  }

  /** Stops after each job's chunk under way; their leases go with the instance's retirement, and another instance takes them over. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.idle();
  }

  /** Resolves once no job is being worked here (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.working.size > 0) await Promise.all([...this.working.values()]);
  }

  private launch(job: BackfillJob): void {
    if (this.stopping) return;
    // A job claimed again while an earlier run of it here has not noticed its
    // lost lease yet (a stalled loop): the new run starts once that one ends.
    const before = this.working.get(job.id) ?? Promise.resolve();
    const run: Promise<void> = before
      .then(() => this.work(job))
      .finally(() => {
        if (this.working.get(job.id) === run) this.working.delete(job.id);
      });
    this.working.set(job.id, run);
  }

  /** Works a job chunk by chunk while it holds the lease; never throws. */
  private async work(job: BackfillJob): Promise<void> {
    let lease: Lease = { owner: job.lease_owner!, until: job.lease_until! };
    let current = job;
    try {
      for (;;) {
        await nextTurn();
        // Stopping: the lease is left to run out or go with this instance's row; the cursor keeps the progress.
        if (this.stopping) return;
        const subscription = await this.store.catalog.getSubscription(current.subscription_id);
        if (!subscription) {
          await this.store.backfills.finish(current.id, "cancelled", "the subscription was deleted", this.deps.now(), { lease });
          return;
        }
        const events = await this.store.backfills.nextEvents(current, this.settings.chunk);
        const now = this.deps.now();
        const last = events.at(-1);
        const written = await this.store.backfills.writeChunk(
          {
            job_id: current.id,
            lease,
            renew_until: now + this.settings.lease_ms,
            deliveries: events.flatMap((event) => (this.takes(subscription, current, event) ? [toDelivery(current, event, now)] : [])),
            cursor: last ? { at: last.created_at, id: last.id } : null,
            scanned: events.length,
            done: events.length < this.settings.chunk,
          },
          now,
        );
        // Taken over, or cancelled: whoever holds it now goes on from the cursor.
        if (!written) return;
        if (written.created > 0) this.wake();
        current = written.job;
        if (current.status !== "running") return;
        lease = { owner: lease.owner, until: current.lease_until! };
      }
    } catch (error) {
      if (isStorageFailure(error)) {
        // The store cannot write now: the lease runs out and a sweep resumes the job from its cursor.
        this.deps.log.warn("backfill paused: the store cannot write", { backfill: current.id, error: errorMessage(error) });
        return;
      }
      this.deps.log.error("backfill failed", { backfill: current.id, error: errorMessage(error) });
      await this.store.backfills.finish(current.id, "failed", errorMessage(error), this.deps.now(), { lease }).catch(() => {});
    }
  }

  /** The subscription's own rule, within the job's tenant (the store reads only that tenant's events; checked again here). */
  private takes(subscription: Subscription, job: BackfillJob, event: HeraldEvent): boolean {
    return event.tenant === job.tenant && subscription.tenant === job.tenant && !this.catalog.hidesEventType(event.type, event.tenant) && subscriptionMatches(subscription, event);
  }
}

/** A backfilled delivery: pending, due now (or at the event's deliver_at if that is still ahead). */
function toDelivery(job: BackfillJob, event: HeraldEvent, now: number): Delivery {
  return {
    id: newId("dlv", now), event_id: event.id, destination_id: job.destination_id, subscription_id: job.subscription_id,
    tenant: event.tenant, event_type: event.type, status: "pending", attempts: 0, schedule_start: 0,
    next_attempt_at: Math.max(now, event.deliver_at ?? now), lease_until: null, lease_owner: null, last_status: null,
    last_error: null, created_at: now, updated_at: now, finalized_at: null,
  };
}
