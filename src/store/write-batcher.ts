// Group commit: writes submitted while the event loop is busy are run together
// in one transaction, so `synchronous=full` costs one sync per batch, not per
// request. Each write runs in its own savepoint, so one failing write (say, a
// duplicate id) fails alone and the rest of the batch still commits.
import type { Database } from "bun:sqlite";

interface QueuedWrite {
  run: () => unknown;
  resolve: (value: any) => void;
  reject: (error: unknown) => void;
}

export class WriteBatcher {
  private queue: QueuedWrite[] = [];
  private scheduled = false;

  constructor(private readonly db: Database) {}

  /** Runs `run` inside the next batch transaction; settles after the commit. */
  submit<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the I/O callbacks of this turn: every request
        // parsed in the same turn lands in the same transaction.
        setImmediate(() => this.flush());
      }
    });
  }

  /** Writes everything queued now. Also called on shutdown so nothing is left behind. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    const results: { ok: boolean; value: unknown }[] = [];
    try {
      this.db.run("BEGIN IMMEDIATE");
      for (const write of batch) {
        this.db.run("SAVEPOINT write");
        try {
          results.push({ ok: true, value: write.run() });
          this.db.run("RELEASE write");
        } catch (error) {
          this.db.run("ROLLBACK TO write");
          this.db.run("RELEASE write");
          results.push({ ok: false, value: error });
        }
      }
      this.db.run("COMMIT");
    } catch (error) {
      if (this.db.inTransaction) this.db.run("ROLLBACK");
      for (const write of batch) write.reject(error);
      return;
    }
    batch.forEach((write, i) => {
      const result = results[i]!;
      if (result.ok) write.resolve(result.value);
      else write.reject(result.value);
    });
  }

  get pending(): number {
    return this.queue.length;
  }
}
