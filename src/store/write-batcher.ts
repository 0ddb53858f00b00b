// Group commit: writes submitted while the event loop is busy are run together
// in one transaction, so `synchronous=full` costs one sync per batch, not per
// request. One failing write (say, a duplicate id) must fail alone while the
// rest of the batch still commits: the batch first runs optimistically with no
// savepoints, and only if a write throws is it rolled back and replayed with a
// savepoint around each write. Savepoints cost ~6 µs a write (a third of a
// publish), and writes practically never fail. With a WalSync (synchronous =
// full), the writes settle after the WAL is synced off the event loop, and the
// next batch can be gathered and committed meanwhile.
import type { Database } from "bun:sqlite";
import type { WalSync } from "./wal-sync.ts";

interface QueuedWrite {
  run: () => unknown;
  resolve: (value: any) => void;
  reject: (error: unknown) => void;
}

type Result = { ok: boolean; value: unknown };

export class WriteBatcher {
  private queue: QueuedWrite[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Database,
    private readonly walSync: WalSync | null = null,
  ) {}

  /** Runs `run` inside the next batch transaction; settles after the commit (and its sync). `run` may run twice (a replay). */
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
    let results: Result[];
    try {
      results = this.runBatch(batch, false) ?? this.runBatch(batch, true)!;
    } catch (error) {
      if (this.db.inTransaction) this.db.run("ROLLBACK");
      for (const write of batch) write.reject(error);
      return;
    }
    const settle = () =>
      batch.forEach((write, i) => {
        const result = results[i]!;
        if (result.ok) write.resolve(result.value);
        else write.reject(result.value);
      });
    if (!this.walSync) return settle();
    this.walSync.sync().then(settle, (error) => {
      for (const write of batch) write.reject(error);
    });
  }

  /**
   * One transaction over the batch. Without savepoints, the first failing write
   * rolls everything back and answers null (replay with savepoints); with them,
   * a failing write is undone alone and reported in its result.
   */
  private runBatch(batch: QueuedWrite[], savepoints: boolean): Result[] | null {
    const results: Result[] = [];
    this.db.run("BEGIN IMMEDIATE");
    for (const write of batch) {
      if (!savepoints) {
        try {
          results.push({ ok: true, value: write.run() });
        } catch {
          // (An I/O error may already have ended the transaction.)
          if (this.db.inTransaction) this.db.run("ROLLBACK");
          return null;
        }
        continue;
      }
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
    return results;
  }

  get pending(): number {
    return this.queue.length;
  }
}
