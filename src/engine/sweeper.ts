// The sweep (croner schedule from the config): heartbeats this instance,
// follows catalogue changes made by other instances, returns expired leases and
// those of dead instances to pending (safe from every instance at once: each is
// one conditional UPDATE), takes over backfill jobs whose instance is gone or
// whose lease ran out, counts the instances that share the rate limits,
// tells the dispatcher to claim due retries, and, on the one instance holding
// the maintenance lease, disables destinations that have failed for longer
// than `disable_after` (run twice, it would announce each disabling twice).
// Tests call runOnce(now).
import { Cron } from "croner";
import type { AdminStore, CatalogStore, QueueStore } from "../store/store.ts";
import type { Catalog } from "./catalog.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import { Schedule } from "./schedule.ts";
import type { Dispatcher } from "./dispatcher.ts";
import type { OperationalEvents } from "./operational-events.ts";
import { disabledByHerald, heraldCaller, type AuditLog } from "./audit.ts";

/**
 * An instance whose heartbeat is older than this many sweep intervals is taken
 * for dead, where the store has no surer sign (SQLite has: a lock). Three, so
 * one late or skipped sweep (`protect` skips a tick while a run is going) is not a death.
 */
const STALE_AFTER_SWEEPS = 3;

export class Sweeper {
  private readonly schedule: Schedule;
  /** How long an instance may go without a heartbeat before it is taken for dead. */
  readonly staleAfter: number;

  constructor(
    private readonly store: {
      queue: Pick<QueueStore, "heartbeat" | "releaseExpiredLeases" | "releaseLeasesOfDeadInstances" | "openBreakers">;
      catalog: Pick<CatalogStore, "destinationsFailingSince" | "setDestinationEnabled">;
      admin: Pick<AdminStore, "leadMaintenance">;
    },
    private readonly catalog: Catalog,
    private readonly dispatcher: Dispatcher,
    private readonly operational: OperationalEvents,
    private readonly deps: EngineDeps,
    private readonly audit: AuditLog,
    private readonly settings: { schedule: string; disable_after: number },
    /** Counts the instances sharing the store again (the engine's one way to, shared with its signals). */
    private readonly recountInstances: () => Promise<void>,
    /** Takes over and works the backfill jobs left by dead instances or run-out leases (Backfills.resume). */
    private readonly resumeBackfills: (now: number) => Promise<number>,
  ) {
    this.schedule = new Schedule(settings.schedule, () => this.runOnce(this.deps.now()));
    const [first, second] = new Cron(settings.schedule, { paused: true }).nextRuns(2);
    this.staleAfter = STALE_AFTER_SWEEPS * (second!.getTime() - first!.getTime());
  }

  start(): void {
    this.schedule.start();
  }

  stop(): void {
    this.schedule.stop();
  }

  /**
   * Whether this instance does the maintenance that must run on one instance
   * only, renewing its lease for three sweep intervals: if it dies, another
   * takes over within that (at once when it stopped cleanly or was found dead).
   */
  leadsMaintenance(now: number): Promise<boolean> {
    return this.store.admin.leadMaintenance(this.deps.instance, now, now + this.staleAfter);
  }

  /** Told how long each run took, in seconds (metrics). */
  onRun: (seconds: number) => void = () => {};

  async runOnce(now: number): Promise<{ released: number; disabled: string[]; reloaded: boolean }> {
    const started = performance.now();
    try {
      await this.store.queue.heartbeat(this.deps.instance, now);
      // First, so that the deliveries claimed below find destinations created
      // elsewhere (noteBacklog also wakes deliveries a remote enable let go).
      const reloaded = await this.catalog.refresh();
      const released =
        (await this.store.queue.releaseExpiredLeases(now)) + (await this.store.queue.releaseLeasesOfDeadInstances(now, now - this.staleAfter));
      // After the dead instances are forgotten: their jobs now name no registered instance.
      await this.resumeBackfills(now);
      await this.recountInstances();
      // Breakers other instances opened or closed: leases held here stop (or start) going out.
      this.dispatcher.setOpenBreakers(await this.store.queue.openBreakers());
      const disabled = (await this.leadsMaintenance(now)) ? await this.disableLongFailing(now) : [];
      // Rows of destinations held or released elsewhere (a breaker another
      // instance moved, a remote enable) and rows left parked by mistake: the
      // next claim settles them (Dispatcher.noteParking). It notes the backlog too.
      this.dispatcher.noteParking(true);
      return { released, disabled, reloaded };
    } catch (error) {
      this.deps.log.error("sweep failed", { error: errorMessage(error) });
      return { released: 0, disabled: [], reloaded: false };
    } finally {
      this.onRun((performance.now() - started) / 1000);
    }
  }

  private async disableLongFailing(now: number): Promise<string[]> {
    const failing = await this.store.catalog.destinationsFailingSince(now - this.settings.disable_after);
    const reasons = failing.map((d) => `failing since ${new Date(d.failing_since!).toISOString()}`);
    for (const [i, destination] of failing.entries()) {
      // Herald's own change, named by this instance, written with its audit entry.
      const entry = this.audit.entry(heraldCaller(this.deps.instance), disabledByHerald(destination, reasons[i]!));
      await this.store.catalog.setDestinationEnabled(destination.id, false, reasons[i]!, now, entry);
      this.deps.log.warn("destination disabled", { destination: destination.id, reason: reasons[i] });
    }
    if (failing.length) {
      await this.catalog.reload();
      for (const [i, d] of failing.entries()) this.operational.destinationDisabled(d.id, reasons[i]!);
    }
    return failing.map((d) => d.id);
  }
}
