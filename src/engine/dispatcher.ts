// The dispatcher: a bounded in-memory ready queue of leased deliveries, drained
// by up to `concurrency` sends at once. Publishes hand their deliveries straight
// in (no wait for a sweep), and past the queue leave them leased on disk, to be
// read back in order; when the queue runs low and the job table may hold more
// due rows, it claims a batch. It holds no SQL: it is handed the queue.
import type { QueueStore } from "../store/store.ts";
import type { BreakerChange, BreakerSettings, DeliveryJob, Destination, Lease } from "../store/types.ts";
import { isLimited, type Catalog } from "./catalog.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import { DiskLeases } from "./disk-leases.ts";
import { RateLimiter, share } from "./rate-limiter.ts";
import { decide, type RetrySettings } from "./retry-policy.ts";
import { send, type SendOptions, type SendResult } from "./sender.ts";

/** The lease a job was handed with: writes that end it name it (store types: Lease). */
const leaseOf = (job: DeliveryJob): Lease => ({ owner: job.delivery.lease_owner!, until: job.delivery.lease_until! });

/** Leased deliveries kept in memory per concurrent send (see the constructor). */
const CAPACITY_PER_SENDER = 32;
/** The most leases held in memory whatever `delivery.concurrency` (~64 MiB of jobs). */
const MAX_LEASES_IN_MEMORY = 65_536;
/**
 * Leases a publish may write on disk beyond the in-memory queue (with other
 * instances, fewer: SHARED_ON_DISK_MS): such a delivery is written leased (`delivering`) instead
 * of pending, and only its id and lease end wait here (24 bytes); the rows
 * are read back in publish order as the queue has room (store.readLeased). A
 * pending row costs two more index entries at publish and a claim's write
 * later (~10 µs on SQLite); this costs a read. At most this many, and no more
 * than the senders have lately taken in half a lease (onDiskBound): past that,
 * publishes write pending rows as before. A lease that runs out while its row
 * waits anyway is returned by the sweep, and the row claimed like any pending one.
 */
const ON_DISK_LEASES = 262_144;
/**
 * While other instances share the job table: leases on disk at most what this
 * instance's senders take in this long (onDiskBound), none before they have a
 * rate. A delivery kept so waits at most about this long for this instance
 * where another might have sent it sooner; each one saves a claim, which on
 * PostgreSQL with three instances cost ~70 µs of the server's time a row
 * (bench/README.md). 2 s and 5 s saved too few claims to show.
 */
const SHARED_ON_DISK_MS = 10_000;
/** How often the senders' rate is taken (onDiskBound). */
const SEND_RATE_EVERY_MS = 1_000;
/**
 * The most event data (characters of the events' JSON) the ready queue holds;
 * publishes and claims past it leave their deliveries on disk, pending. The
 * counts above assume events of ~1 KiB: events of 200 KB to a receiver
 * answering in 3 s took Herald to 1 GiB of RSS within 3,000 of them (an
 * event may be 1 MiB). Sends under way are not counted: `concurrency` bounds them.
 * Exported for the test that fills it (test/queued-data-budget.test.ts).
 */
export const QUEUED_DATA_CHARS = 64 * 1024 * 1024;
/**
 * What a lease must have left beyond a send's timeout: the address lookup before
 * the timeout starts, the record's commit after the answer (behind others), and
 * the clocks of other instances' sweeps. The same 60 s as the lease's own margin
 * (engine.ts: lease_ms).
 */
const LEASE_MARGIN_MS = 60_000;
/**
 * The same while other instances share the job table: what this one cannot
 * start sending soon is left pending for them (their wake-up, or their next
 * claim), instead of waiting here behind its own busy senders. Two: one send
 * in flight and one ready behind it per sender, so senders are not left idle
 * between claims.
 */
const SHARED_CAPACITY_PER_SENDER = 2;

/**
 * A retry (or a scheduled delivery) due within this long is woken by a timer of
 * the dispatcher's own instead of waiting for the next sweep (every 5 s by
 * default), so a short first retry wait is kept; later ones are left to the sweep.
 */
const RETRY_WAKE_WITHIN_MS = 60_000;
/** Near retries are grouped into wake-ups this far apart (at most 600 timers a minute). */
const WAKE_GRAIN_MS = 100;

export interface DispatcherSettings extends RetrySettings {
  concurrency: number;
  /** How long a claimed delivery stays leased before the sweep may hand it out again. */
  lease_ms: number;
  /** The circuit breaker (config delivery.breaker): the store keeps its state, these say when it moves. */
  breaker: BreakerSettings;
}

/**
 * Rows moved between due and parked per settle (store.ts: settleParking), one
 * transaction each: ~2,000 rows is a few milliseconds of the thread on SQLite
 * (bench/README.md, "Held rows parked out of the claim's way"); a larger move
 * goes on chunk by chunk, the event loop turning in between.
 */
const PARK_CHUNK = 2_000;

/** Rate-limited sends due later than this wait in the job table, not in memory. */
const MAX_WAIT_IN_MEMORY_MS = 5_000;

/**
 * What reserve granted a publish: leases in the in-memory queue, each holding
 * `chars` of event data, and leases on disk past it (ON_DISK_LEASES). The
 * publish hands it back with accept, or with release when nothing was leased.
 */
export interface Reservation {
  memory: number;
  disk: number;
  chars: number;
}
const NOTHING_RESERVED: Reservation = { memory: 0, disk: 0, chars: 0 };

/** Told about every attempt, after it is recorded (metrics, operational events). */
export type AttemptListener = (job: DeliveryJob, result: SendResult, status: string, nextAttemptAt: number | null) => void;
/** Told when an attempt this instance recorded opened or closed its destination's breaker (once across instances). */
export type BreakerListener = (change: BreakerChange) => void;

export class Dispatcher {
  private ready: DeliveryJob[] = [];
  private head = 0;
  /** Leases publishes wrote on disk (ON_DISK_LEASES), oldest first, not yet read back. */
  private readonly onDisk = new DiskLeases();
  /** On-disk leases reserved by publishes not yet accepted (reserve). */
  private diskReserved = 0;
  /** Sends begun since `sendsSince.at`, and the rate per millisecond last taken from them (onDiskBound). */
  private sendsSince = { count: 0, at: 0 };
  private sendRate = 0;
  /**
   * The event data of the jobs in the ready queue, counted per job: a fan-out's
   * jobs share one string, so this overstates it, which only makes its queue
   * shallower (never below a sender's worth at these sizes).
   */
  private queuedChars = 0;
  /** Event data reserved by publishes not yet accepted (reserve). */
  private reservedChars = 0;
  /**
   * Characters of event data per claimed row, as the last claim found: sizes the
   * next claim (fitByData). Until a claim has found rows, as if each were
   * an event of the largest body a publish takes: the first claim is a small one.
   */
  private claimedCharsPerRow = 1024 * 1024;
  private inFlight = 0;
  private reserved = 0;
  /** The job table may hold due pending rows that are not in memory. */
  private backlog = true;
  /** Raised by each noteBacklog: a claim that started before it cannot clear `backlog`. */
  private backlogNotes = 0;
  private claiming = false;
  private running = false;
  /** Leases held in memory at most while this instance is alone (see the constructor). */
  private readonly soloCapacity: number;
  private idleWaiters: (() => void)[] = [];
  /** Writes not yet committed (attempt records, leases handed back): stop() and idle() wait for them. */
  private pendingWrites = new Set<Promise<unknown>>();
  /** Attempts answered whose records are not committed yet (see canSend). */
  private unrecorded = 0;
  private listeners: AttemptListener[] = [];
  private breakerListeners: BreakerListener[] = [];
  /**
   * Destinations whose breaker this instance knows to be open: from the
   * transitions its own records made, and from the store at each sweep (those
   * another instance opened). The store is what holds their deliveries back; this
   * only keeps leases already held in memory from being sent past it.
   */
  private openBreakers = new Set<string>();
  /** Due times of near retries, rounded up to WAKE_GRAIN_MS, and the timer for the earliest. */
  private wakeTimes = new Set<number>();
  private wake: { at: number; cancel: () => void } | null = null;
  private readonly rateLimiter: RateLimiter;
  /** Deliveries held back by their destination's rate limit, each waiting on a timer for its slot. */
  private deferred = new Map<DeliveryJob, { due: number; cancel: () => void }>();
  /**
   * Held-back deliveries whose slot has come: sent before the ready queue, and
   * without asking the rate limiter again (asking again took a fresh slot each
   * time, so under a backlog the slot kept moving away and nothing was sent).
   */
  private slotted: DeliveryJob[] = [];
  private readonly holdsSlot = new WeakSet<DeliveryJob>();
  /** Instances sharing the database, and so each destination's rate limit (the sweep counts them). */
  private instances = 1;
  /**
   * A destination's rows may not be where its state says (parked while it is
   * held, due when not): the next claim settles a chunk first. "verify" also
   * looks for rows left parked by mistake (the sweep's, and the first claim's:
   * a migration leaves moves to it).
   */
  private parking: "no" | "settle" | "verify" = "verify";

  constructor(
    private readonly store: QueueStore,
    private readonly catalog: Catalog,
    private readonly deps: EngineDeps,
    private readonly settings: DispatcherSettings,
    private readonly sendOptions: SendOptions,
  ) {
    // Room for a few batch publishes (1000 events each) to be leased as they are
    // written: a delivery that goes to disk as pending costs a claim later (~16 µs
    // more than one leased at publish on SQLite). 32 × 256 jobs of ~1 KiB is ~8 MiB;
    // the backlog beyond it stays on disk. (128 per sender was tried: not shown by
    // its A/B pairs, bench/README.md "In-memory leases".) At least 1,024, at most
    // MAX_LEASES_IN_MEMORY. A lease that could run out before its send ends is
    // extended first (deliver).
    this.soloCapacity = Math.min(Math.max(settings.concurrency * CAPACITY_PER_SENDER, 1024), MAX_LEASES_IN_MEMORY);
    this.rateLimiter = new RateLimiter(deps.now);
    catalog.onReload(() => this.noteParking());
  }

  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops taking new work; resolves when every send under way has been recorded. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.cancel();
    this.wake = null;
    this.wakeTimes.clear();
    // Held back by a rate limit: back to the job table, due at their slots,
    // rather than keeping the stop waiting for them (up to 5 s).
    const now = this.deps.now();
    for (const [job, { due, cancel }] of this.deferred) {
      cancel();
      this.releaseLease(job, now, due);
    }
    this.deferred.clear();
    // Leases waiting on disk are handed back with the instance's others (the engine's retireInstance).
    this.onDisk.clear();
    await this.idle();
  }

  onAttempt(listener: AttemptListener): void {
    this.listeners.push(listener);
  }

  /**
   * Reserves leases for up to `n` deliveries of one event a publish is about to
   * write, its data `chars` long: first in the in-memory queue, as many as fit
   * in count and in QUEUED_DATA_CHARS (fitByData); past it, on disk, as many
   * as onDiskBound allows. Leases are handed out in publish order:
   * while some wait on disk, a publish's wait there too, behind them.
   */
  reserve(n: number, chars = 0): Reservation {
    if (!this.running) return NOTHING_RESERVED;
    const memory = this.leasedOnDisk + this.diskReserved > 0 ? 0 : Math.max(0, Math.min(n, this.room, this.fitByData(chars)));
    const disk = n - memory <= 0 ? 0 : Math.max(0, Math.min(n - memory, this.onDiskBound() - this.leasedOnDisk - this.diskReserved));
    this.reserved += memory;
    this.reservedChars += memory * chars;
    this.diskReserved += disk;
    return { memory, disk, chars };
  }

  /** Gives back a reservation: not used (the publish failed or was a repeat), or taken (accept). */
  release(reservation: Reservation): void {
    this.reserved -= reservation.memory;
    this.reservedChars -= reservation.memory * reservation.chars;
    this.diskReserved -= reservation.disk;
  }

  /**
   * Takes leased deliveries: `jobs` into the queue, `onDisk` (each row's id and
   * lease end) to be read back in order, using up `reservation`.
   */
  accept(jobs: DeliveryJob[], reservation = NOTHING_RESERVED, onDisk: { id: string; until: number }[] = []): void {
    this.release(reservation);
    for (const job of jobs) this.enqueue(job);
    for (const lease of onDisk) this.onDisk.push(lease.id, lease.until);
    this.pump();
  }

  /**
   * How many leases may wait on disk: what the senders take within half a
   * lease at the rate they sent in the last second or so (at least what the
   * in-memory queue holds), so that a slow receiver's burst goes pending
   * rather than into leases that run out on disk and come back through the sweep.
   * With other instances, what they take in SHARED_ON_DISK_MS (none before a
   * rate is known): the rest is pending, for whichever instance is free. An
   * instance that dies leaves its leases to the others' sweep, as it leaves
   * those in memory (Sweeper: releaseLeasesOfDeadInstances).
   */
  private onDiskBound(): number {
    const now = this.deps.now();
    const elapsed = now - this.sendsSince.at;
    if (elapsed >= SEND_RATE_EVERY_MS) {
      this.sendRate = this.sendsSince.count / elapsed;
      this.sendsSince = { count: 0, at: now };
    }
    if (this.instances > 1) return Math.min(ON_DISK_LEASES, Math.floor(this.sendRate * SHARED_ON_DISK_MS));
    return Math.min(ON_DISK_LEASES, Math.max(this.soloCapacity, Math.floor((this.sendRate * this.settings.lease_ms) / 2)));
  }

  /** Leases publishes wrote on disk, waiting to be read back. */
  get leasedOnDisk(): number {
    return this.onDisk.size;
  }

  private enqueue(job: DeliveryJob): void {
    this.ready.push(job);
    this.queuedChars += job.event.data_json.length;
  }

  /**
   * How many jobs of `chars` of event data each still fit in QUEUED_DATA_CHARS:
   * at least one while nothing is queued or reserved, so an event larger than
   * the budget still goes out.
   */
  private fitByData(chars: number): number {
    const fit = Math.floor((QUEUED_DATA_CHARS - this.queuedChars - this.reservedChars) / Math.max(1, chars));
    return this.queued + this.reserved === 0 ? Math.max(1, fit) : Math.max(0, fit);
  }

  onBreaker(listener: BreakerListener): void {
    this.breakerListeners.push(listener);
  }

  /** The destinations whose breaker is open, as the store says now (the sweep). */
  setOpenBreakers(ids: Iterable<string>): void {
    this.openBreakers = new Set(ids);
  }

  /** Whether this instance knows the destination's breaker to be open: a publish leases nothing for it. */
  breakerOpen(destinationId: string): boolean {
    return this.openBreakers.has(destinationId);
  }

  /** How many instances share the database: each keeps to its part of a destination's rate limit. */
  setInstanceCount(n: number): void {
    this.instances = Math.max(1, n);
  }

  /**
   * A destination became held or was released (a catalogue change, a breaker;
   * `verify`: the sweep): its rows move, a chunk before each claim until they
   * are all where they go. Released rows are claimable from the first chunk on.
   */
  noteParking(verify = false): void {
    if (verify) this.parking = "verify";
    else if (this.parking === "no") this.parking = "settle";
    this.noteBacklog();
  }

  /** The job table has due rows (a publish beyond capacity, a sweep, a recover). */
  noteBacklog(): void {
    this.backlog = true;
    this.backlogNotes++;
    this.pump();
  }

  get queued(): number {
    return this.ready.length - this.head;
  }

  get sending(): number {
    return this.inFlight;
  }

  /** A claim from the job table is under way. */
  get claimInFlight(): boolean {
    return this.claiming;
  }

  /** Writes (attempt records, leases handed back) not yet committed. */
  get writing(): number {
    return this.pendingWrites.size;
  }

  /**
   * The most leases held in memory: a deep queue while alone (the fewest claims);
   * while other instances share the job table, no more than its senders take on
   * soon (a deep queue here would hold deliveries that they could send now,
   * behind a slow receiver): a publish past that goes on disk for a few seconds
   * of its sends (onDiskBound), and the rest is left to idle instances.
   */
  private get capacity(): number {
    return this.instances > 1 ? this.settings.concurrency * SHARED_CAPACITY_PER_SENDER : this.soloCapacity;
  }

  /** Leases the dispatcher can still take on: capacity less everything it holds or has promised. */
  private get room(): number {
    return this.capacity - this.queued - this.slotted.length - this.inFlight - this.reserved - this.deferred.size;
  }

  /** Resolves once nothing is queued or being sent. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * A sender is free, and the records of answered attempts keep up: at most
   * `concurrency` wait for their commit. A send whose answer is in but not
   * recorded is sent again after a crash (its lease comes back), so without
   * this bound a store that records slower than receivers answer let sends run
   * ahead of it: measured on PostgreSQL with three instances, ~1,000 answered
   * attempts were unrecorded on a busy instance, and all were sent twice after
   * its SIGKILL (test/instances-postgres.test.ts).
   */
  private get canSend(): boolean {
    return this.inFlight < this.settings.concurrency && this.unrecorded < this.settings.concurrency;
  }

  private pump(): void {
    if (!this.running) return this.checkIdle();
    while (this.canSend && this.slotted.length > 0) {
      this.inFlight++;
      void this.deliver(this.slotted.shift()!);
    }
    while (this.canSend && this.head < this.ready.length) {
      const job = this.ready[this.head]!;
      this.ready[this.head++] = undefined as unknown as DeliveryJob;
      this.queuedChars -= job.event.data_json.length;
      this.inFlight++;
      void this.deliver(job);
    }
    if (this.head > 1024 && this.head * 2 > this.ready.length) {
      this.ready = this.ready.slice(this.head);
      this.head = 0;
    }
    if (
      (this.backlog || this.leasedOnDisk > 0) &&
      !this.claiming && this.queued < this.settings.concurrency && this.room > 0 && this.fitByData(this.claimedCharsPerRow) > 0
    ) void this.claim();
    this.checkIdle();
  }

  /**
   * Claims due rows from the job table, one batch at a time (never two claims
   * at once), and pumps again: while a full batch came back, or a noteBacklog
   * arrived meanwhile, there may be more. Leases waiting on disk come first:
   * they are older than any due row a publish has left since, and held already.
   */
  private async claim(): Promise<void> {
    this.claiming = true;
    const notes = this.backlogNotes;
    let moreParking = false;
    // One time for the settle and the claim: the rows a settle leaves parked for
    // the claim (those due by then) are all due to the claim that follows.
    const now = this.deps.now();
    try {
      if (this.parking !== "no") moreParking = await this.settleParking(now);
      const limit = Math.min(this.room, 1000, this.fitByData(this.claimedCharsPerRow));
      let jobs: DeliveryJob[];
      if (this.leasedOnDisk > 0) jobs = await this.readOnDisk(limit);
      else {
        const lease = { owner: this.deps.instance, until: now + this.settings.lease_ms };
        // Whether to look for limited destinations' rows at all (store.ts: claimDue).
        jobs = await this.store.claimDue(now, lease, limit, this.settings.breaker, this.catalog.anyLimited);
        // Probes come on top of the limit: only the others say whether the batch was full.
        const claimed = jobs.reduce((n, job) => n + (job.probe ? 0 : 1), 0);
        if (claimed < limit && notes === this.backlogNotes) this.backlog = false;
      }
      const queuedBefore = this.queuedChars;
      for (const job of jobs) this.enqueue(job);
      if (jobs.length > 0) this.claimedCharsPerRow = (this.queuedChars - queuedBefore) / jobs.length;
    } catch (error) {
      this.deps.log.error("claiming deliveries failed", { error: errorMessage(error) });
      if (notes === this.backlogNotes) this.backlog = false;
    } finally {
      this.claiming = false;
    }
    // The next chunk after the event loop has turned (requests, answers), not in
    // this chain of promises: a large move must not hold the thread.
    if (moreParking) setImmediate(() => this.noteBacklog());
    this.pump();
  }

  /**
   * Reads back the oldest `limit` leases waiting on disk. Those the row no
   * longer holds are left out by the store. If the read fails they are not read
   * again: their leases run out and the sweep returns the rows to pending.
   */
  private readOnDisk(limit: number): Promise<DeliveryJob[]> {
    return this.store.readLeased(this.deps.instance, this.onDisk.take(limit));
  }

  /** One chunk of settleParking at `now`; true when more is left to move. A failure is left to the next sweep's verify. */
  private async settleParking(now: number): Promise<boolean> {
    const verify = this.parking === "verify";
    this.parking = "no";
    try {
      const { more } = await this.store.settleParking(PARK_CHUNK, verify, now);
      // A verifying pass with more to move goes on verifying: only it unparks a gone destination's rows.
      // A note made during the await (the cast: TypeScript does not see one) asks for a
      // settle at most: it must not cut a verify short.
      if (more && (this.parking as string) !== "verify") this.parking = verify ? "verify" : "settle";
      return more;
    } catch (error) {
      this.deps.log.error("moving parked deliveries failed", { error: errorMessage(error) });
      return false;
    }
  }

  /**
   * A destination this instance does not know may have been created through
   * another one since the last sweep: the catalogue is checked (one cheap read)
   * before the delivery is taken for an orphan.
   */
  private async afterRefresh(destinationId: string): Promise<Destination | undefined> {
    return (await this.catalog.refresh()) ? this.catalog.destinations.get(destinationId) : undefined;
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    this.sendsSince.count++;
    try {
      const destination = this.catalog.destinations.get(job.delivery.destination_id) ?? (await this.afterRefresh(job.delivery.destination_id));
      if (!destination) {
        // Deleted meanwhile: the deletion cancelled the row, unless it was written
        // just after (a publish racing the delete); either way it ends cancelled,
        // never left leased for a destination that no longer exists.
        await this.store.cancelOrphan(job.delivery.id, this.deps.now());
        return;
      }
      // A delivery not younger than its destination may have been made for one
      // deleted since (its row cancelled) that a new one with the same id replaced,
      // and still sit in memory (the ready queue, a rate-limit timer). Only a row
      // still leased may be sent: the store says, read only in this rare case
      // (equal times too: a destination re-created within the same millisecond).
      if (job.delivery.created_at <= destination.created_at && !(await this.store.holdsLease(job.delivery.id, leaseOf(job)))) return;
      if (!destination.enabled) {
        // Disabled meanwhile: the delivery waits, pending, until it is enabled again.
        this.releaseLease(job, this.deps.now());
        return;
      }
      if (!job.probe && this.openBreakers.has(destination.id)) {
        // Leased before its breaker opened (at publish, or in a claim): back to
        // pending, due now, where the store holds it until a probe succeeds.
        this.releaseLease(job, this.deps.now());
        return;
      }
      if (isLimited(destination) && !job.limited && !job.probe) {
        // Leased without the store counting it against the limit (before the
        // limit was set, or a manual retry): back to pending, due now, to be
        // claimed again within it (ordered: in its place in the order).
        this.releaseLease(job, this.deps.now(), undefined, () => this.noteBacklog());
        return;
      }
      if (destination.rate_limit !== null && !this.holdsSlot.delete(job)) {
        const wait = this.rateLimiter.take(destination.id, share(destination.rate_limit, this.instances), MAX_WAIT_IN_MEMORY_MS);
        if (wait > MAX_WAIT_IN_MEMORY_MS) {
          // No slot within 5 s: the delivery goes back to the job table, due
          // when the next free slot comes, without taking it (a slot held by a
          // row on disk would be missed by the time the row is claimed again),
          // so one slow destination cannot fill the in-memory queue.
          const now = this.deps.now();
          const due = now + wait;
          this.releaseLease(job, now, due);
          this.wakeAt(due);
          return;
        }
        if (wait > 0) return this.defer(job, wait);
      }
      // The lease must outlast the send: a job may have waited here behind slow sends,
      // and a destination's own timeout may be longer than any lease. Otherwise the
      // sweep would hand the row to a fresh lease mid-send and the delivery be sent
      // twice (an ordered destination's head, out of order). Such a lease is extended
      // first, if it still holds; one the row went on without is dropped here (the
      // sweep returned it to pending: the next claim takes it).
      const timeout = destination.timeout_ms ?? this.sendOptions.timeout_ms;
      const before = this.deps.now();
      if (job.delivery.lease_until! - before <= timeout + LEASE_MARGIN_MS) {
        const until = before + Math.max(this.settings.lease_ms, timeout * 2 + LEASE_MARGIN_MS);
        if (!(await this.store.extendLease(job.delivery.id, leaseOf(job), until))) return this.noteBacklog();
        job.delivery.lease_until = until;
      }
      const result = await send(job.event, destination, this.sendOptions);
      const now = this.deps.now();
      let decision = decide(result, job.delivery, this.settings, now, this.deps.random);
      if (job.probe && !result.ok && result.retryable && decision.outcome.status !== "succeeded") {
        // A failed probe is not the delivery's own try: it stays pending, due now
        // (held back while the breaker is open, first in line when it closes),
        // and the store keeps its schedule where it was (AttemptRecord.probe).
        decision = { outcome: { status: "pending", next_attempt_at: now } };
      }
      const record = this.store.recordAttempt(
        {
          delivery_id: job.delivery.id,
          lease: leaseOf(job),
          attempt: result.attempt,
          outcome: decision.outcome,
          disable_destination: decision.disable_destination,
          breaker: this.settings.breaker,
          probe: job.probe,
          as_leased: { attempts: job.delivery.attempts, destination_id: job.delivery.destination_id },
        },
        now,
      );
      // The slot is free once the answer is in; the record commits with its batch.
      // One settle handler per record (not one per concern): the outcome's
      // consequences, then the bound on unrecorded answers, then the write's
      // tracking for idle() and stop(), in that order.
      this.unrecorded++;
      this.pendingWrites.add(record);
      const limited = isLimited(destination);
      const recorded = () => {
        this.unrecorded--;
        // A limited destination's place is free once the record commits (the store
        // counts leased rows): claim its next, here, at once (noteBacklog pumps).
        if (limited) this.noteBacklog();
        else this.pump();
        this.pendingWrites.delete(record);
        this.checkIdle();
      };
      record.then(
        ({ applied, breaker }) => {
          try {
            // The lease ran out and the row went on without this send (another
            // instance, or a later claim, holds it): the attempt is logged, but its
            // outcome is not the delivery's, so nothing follows from it.
            if (!applied) return;
            if (breaker) this.breakerChanged(breaker);
            // A failed probe: the next one is due probe_every after this one was claimed.
            else if (job.probe && decision.outcome.status === "pending") this.wakeAt(job.delivery.updated_at + this.settings.breaker.probe_every_ms);
            if (decision.outcome.status === "pending") this.wakeAt(decision.outcome.next_attempt_at);
            if (decision.disable_destination) this.reloadCatalog();
            const next = decision.outcome.status === "pending" ? decision.outcome.next_attempt_at : null;
            this.tell(this.listeners, (listener) => listener(job, result, decision.outcome.status, next));
          } finally {
            recorded();
          }
        },
        (error) => {
          this.deps.log.error("recording an attempt failed", { delivery: job.delivery.id, error: errorMessage(error) });
          recorded();
        },
      );
    } catch (error) {
      // A bug here must not kill the loop; the lease returns the delivery to pending later.
      this.deps.log.error("delivering failed", { delivery: job.delivery.id, error: errorMessage(error) });
    } finally {
      this.inFlight--;
      this.pump();
    }
  }

  /** A breaker this instance's record opened or closed: held back or let go here at once, and announced. */
  private breakerChanged(change: BreakerChange): void {
    // Its rows are parked (opened) or due again (closed): moved from the next claim on.
    this.noteParking();
    if (change.change === "opened") {
      this.openBreakers.add(change.destination_id);
      if (change.next_probe_at !== null) this.wakeAt(change.next_probe_at);
    } else {
      this.openBreakers.delete(change.destination_id);
      // The backlog it held is due: claim it now, at the destination's limits.
      this.noteBacklog();
    }
    this.tell(this.breakerListeners, (listener) => listener(change));
  }

  /** Calls every listener; one listener's bug must not keep the others (metrics, operational events) from hearing. */
  private tell<L>(listeners: L[], call: (listener: L) => void): void {
    for (const listener of listeners) {
      try {
        call(listener);
      } catch (error) {
        this.deps.log.error("a listener failed", { error: errorMessage(error) });
      }
    }
  }

  /** Hands a job's delivery back to pending (due at `due`) without an attempt; the write is tracked like a record. */
  private releaseLease(job: DeliveryJob, now: number, due?: number, then?: () => void): void {
    const released = this.store.releaseLease(job.delivery.id, leaseOf(job), now, due);
    if (then) released.then(then, () => {});
    // A failure leaves the lease to expire: the sweep then returns the delivery.
    released.catch((error) => this.deps.log.error("handing back a lease failed", { delivery: job.delivery.id, error: errorMessage(error) }));
    this.track(released);
  }

  /** Keeps a write in pendingWrites until it settles, so idle() and stop() wait for it. */
  private track(write: Promise<unknown>): void {
    this.pendingWrites.add(write);
    // Not write.finally(): its promise rejects again when the write fails (a
    // full disk), and an unhandled rejection ends the process.
    const settled = () => {
      this.pendingWrites.delete(write);
      this.checkIdle();
    };
    write.then(settled, settled);
  }

  private reloadCatalog(): void {
    this.catalog.reload().catch((error) => this.deps.log.error("reloading the catalogue failed", { error: errorMessage(error) }));
  }

  /** Holds a job until its slot comes; it then keeps that slot and is sent first. */
  private defer(job: DeliveryJob, ms: number): void {
    this.holdsSlot.add(job);
    const cancel = this.deps.timer(() => {
      this.deferred.delete(job);
      this.slotted.push(job);
      this.pump();
    }, ms);
    this.deferred.set(job, { due: this.deps.now() + ms, cancel });
  }

  /**
   * Notes that deliveries fall due at `at` (a retry, a scheduled publish), and
   * arms the wake timer if it is the earliest noted. Only times within
   * RETRY_WAKE_WITHIN_MS are kept; later ones are left to the sweep's claim.
   */
  wakeAt(at: number): void {
    if (!this.running || at - this.deps.now() > RETRY_WAKE_WITHIN_MS) return;
    const due = Math.ceil(at / WAKE_GRAIN_MS) * WAKE_GRAIN_MS;
    this.wakeTimes.add(due);
    if (!this.wake || due < this.wake.at) this.armWake(due);
  }

  private armWake(at: number): void {
    this.wake?.cancel();
    const cancel = this.deps.timer(() => {
      this.wake = null;
      const now = this.deps.now();
      let next = Infinity;
      for (const t of this.wakeTimes) {
        if (t <= now) this.wakeTimes.delete(t);
        else next = Math.min(next, t);
      }
      this.noteBacklog();
      if (next !== Infinity && this.running) this.armWake(next);
    }, Math.max(0, at - this.deps.now()));
    this.wake = { at, cancel };
  }

  private isIdle(): boolean {
    const waiting = this.queued + this.slotted.length + this.leasedOnDisk;
    return (
      this.deferred.size === 0 && this.inFlight === 0 && this.pendingWrites.size === 0 && !this.claiming && (waiting === 0 || !this.running)
    );
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
