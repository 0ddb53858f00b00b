// News from the other instances, through PostgreSQL's LISTEN/NOTIFY: the
// triggers of migration 2 notify herald_work when due deliveries were left
// pending for anyone to claim, and herald_catalog when the catalogue changed;
// instances.ts notifies herald_instances when an instance registers or goes;
// migration 9's trigger notifies herald_keys when an API key was made or revoked.
// Bun's client keeps one dedicated connection for every LISTEN and, when it
// drops, reconnects and listens again; a notification missed meanwhile is
// made up for by the sweep (which also claims and compares catalogue versions).
import type { SQL } from "bun";
import type { StoreSignals } from "../store.ts";

export class PostgresSignals implements StoreSignals {
  private subscriptions: SQL.ListenSubscription[] = [];

  constructor(private readonly sql: SQL) {}

  async listen(handlers: { work(): void; catalog(): void; instances(): void; keys(): void }): Promise<void> {
    this.subscriptions.push(
      // After a reconnect (onlisten runs again) anything may have been missed: act as if told.
      await this.sql.listen("herald_work", () => handlers.work(), () => handlers.work()),
      await this.sql.listen("herald_catalog", () => handlers.catalog(), () => handlers.catalog()),
      await this.sql.listen("herald_instances", () => handlers.instances(), () => handlers.instances()),
      await this.sql.listen("herald_keys", () => handlers.keys(), () => handlers.keys()),
    );
  }

  async stop(): Promise<void> {
    const subscriptions = this.subscriptions;
    this.subscriptions = [];
    await Promise.all(subscriptions.map((s) => s.unlisten().catch(() => {})));
  }
}
