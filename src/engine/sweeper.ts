// The sweep (croner schedule from the config): heartbeats this instance,
// follows catalogue changes made by other instances, returns expired leases and
// those of dead instances to pending, tells the dispatcher to claim due retries,
// and disables destinations that have failed for longer than `disable_after`.
// Tests call runOnce(now).
import { Cron } from "croner";
import type { Store } from "../store/store.ts";
import type { Catalog } from "./catalog.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import { Schedule } from "./schedule.ts";
import type { Dispatcher } from "./dispatcher.ts";
import type { OperationalEvents } from "./operational-events.ts";

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
    private readonly store: Store,
    private readonly catalog: Catalog,
    private readonly dispatcher: Dispatcher,
    private readonly operational: OperationalEvents,
    private readonly deps: EngineDeps,
    private readonly settings: { schedule: string; disable_after: number },
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

  runOnce(now: number): { released: number; disabled: string[]; reloaded: boolean } {
    try {
      this.store.heartbeat(this.deps.instance, now);
      // First, so that the deliveries claimed below find destinations created
      // elsewhere (noteBacklog also wakes deliveries a remote enable let go).
      const reloaded = this.catalog.refresh();
      const released = this.store.releaseExpiredLeases(now) + this.store.releaseLeasesOfDeadInstances(now, now - this.staleAfter);
      const disabled = this.disableLongFailing(now);
      this.dispatcher.noteBacklog();
      return { released, disabled, reloaded };
    } catch (error) {
      this.deps.log.error("sweep failed", { error: errorMessage(error) });
      return { released: 0, disabled: [], reloaded: false };
    }
  }

  private disableLongFailing(now: number): string[] {
    const failing = this.store.destinationsFailingSince(now - this.settings.disable_after);
    for (const destination of failing) {
      const reason = `failing since ${new Date(destination.failing_since!).toISOString()}`;
      this.store.setDestinationEnabled(destination.id, false, reason, now);
      this.deps.log.warn("destination disabled", { destination: destination.id, reason });
    }
    if (failing.length) {
      this.catalog.reload();
      for (const d of failing) this.operational.destinationDisabled(d.id, `failing since ${new Date(d.failing_since!).toISOString()}`);
    }
    return failing.map((d) => d.id);
  }
}
