// Retention (croner schedule from the config): deletes events older than
// `retention.keep` whose deliveries are all finished, with their attempts.
import type { AdminStore } from "../store/store.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import { Schedule } from "./schedule.ts";

export class Retention {
  private readonly schedule: Schedule;

  constructor(
    private readonly store: Pick<AdminStore, "deleteFinishedBefore">,
    private readonly deps: EngineDeps,
    private readonly settings: { schedule: string; keep: number },
  ) {
    this.schedule = new Schedule(settings.schedule, () => this.runOnce(this.deps.now()));
  }

  start(): void {
    this.schedule.start();
  }

  stop(): void {
    this.schedule.stop();
  }

  async runOnce(now: number): Promise<number> {
    try {
      const deleted = await this.store.deleteFinishedBefore(now - this.settings.keep);
      if (deleted) this.deps.log.info("retention deleted old events", { events: deleted });
      return deleted;
    } catch (error) {
      this.deps.log.error("retention failed", { error: errorMessage(error) });
      return 0;
    }
  }
}
