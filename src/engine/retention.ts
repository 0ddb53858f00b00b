// Retention (croner schedule from the config): deletes events older than
// `retention.keep` whose deliveries are all finished, with their attempts, and
// backfill jobs that finished longer than that ago, and audit entries older
// than that; and the records of portal links past their expiry (such a link is
// refused by its expiry already; its audit entries stay). Runs
// on the one instance that holds the maintenance lease (several deleting the
// same rows at once would only contend).
import type { AdminStore, AuditStore, BackfillStore } from "../store/store.ts";
import type { PortalLinkStore } from "../store/portal-links.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import { Schedule } from "./schedule.ts";

export class Retention {
  private readonly schedule: Schedule;

  constructor(
    private readonly store: {
      admin: Pick<AdminStore, "deleteFinishedBefore">;
      backfills: Pick<BackfillStore, "deleteFinishedBefore">;
      audit: Pick<AuditStore, "deleteBefore">;
      portalLinks: Pick<PortalLinkStore, "deleteExpired">;
    },
    private readonly deps: EngineDeps,
    private readonly settings: { schedule: string; keep: number },
    /** Whether this instance holds the maintenance lease now (Sweeper.leadsMaintenance). */
    private readonly leads: (now: number) => Promise<boolean>,
  ) {
    this.schedule = new Schedule(settings.schedule, () => this.runOnce(this.deps.now()));
  }

  start(): void {
    this.schedule.start();
  }

  stop(): void {
    this.schedule.stop();
  }

  /** Told how long each run that did the work took, in seconds (metrics); not the runs another instance leads. */
  onRun: (seconds: number) => void = () => {};

  async runOnce(now: number): Promise<number> {
    const started = performance.now();
    try {
      if (!(await this.leads(now))) return 0;
      const deleted = await this.store.admin.deleteFinishedBefore(now - this.settings.keep);
      if (deleted) this.deps.log.info("retention deleted old events", { events: deleted });
      const jobs = await this.store.backfills.deleteFinishedBefore(now - this.settings.keep);
      if (jobs) this.deps.log.info("retention deleted finished backfills", { backfills: jobs });
      const entries = await this.store.audit.deleteBefore(now - this.settings.keep);
      if (entries) this.deps.log.info("retention deleted old audit entries", { entries });
      const links = await this.store.portalLinks.deleteExpired(now);
      if (links) this.deps.log.info("retention deleted expired portal links", { portal_links: links });
      this.onRun((performance.now() - started) / 1000);
      return deleted;
    } catch (error) {
      this.deps.log.error("retention failed", { error: errorMessage(error) });
      return 0;
    }
  }
}
