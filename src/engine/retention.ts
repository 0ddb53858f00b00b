// Retention (croner schedule from the config): deletes events older than
// `retention.keep` whose deliveries are all finished, with their attempts.
import { Cron } from "croner";
import type { Store } from "../store/store.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";

export class Retention {
  private cron: Cron | null = null;

  constructor(
    private readonly store: Store,
    private readonly deps: EngineDeps,
    private readonly settings: { schedule: string; keep: number },
  ) {}

  start(): void {
    this.cron = new Cron(this.settings.schedule, { protect: true }, () => {
      this.runOnce(this.deps.now());
    });
  }

  stop(): void {
    this.cron?.stop();
    this.cron = null;
  }

  runOnce(now: number): number {
    try {
      const deleted = this.store.deleteFinishedBefore(now - this.settings.keep);
      if (deleted) this.deps.log.info("retention deleted old events", { events: deleted });
      return deleted;
    } catch (error) {
      this.deps.log.error("retention failed", { error: errorMessage(error) });
      return 0;
    }
  }
}
