// Group commit: writes submitted while the event loop is busy are run together
// in one transaction, so `synchronous=full` costs one sync per batch, not per
// request. One failing write (say, a duplicate id) must fail alone while the
// rest of the batch still commits: the batch first runs optimistically with no
// savepoints, and only if a write throws is it rolled back and replayed with a
// savepoint around each write. Savepoints cost ~6 µs a write (a third of a
// publish), and writes practically never fail.
//
// With a `sync` (WalSync, for synchronous = full) a batch settles only once the
// sync after its commit is done, and the writes submitted meanwhile wait for it
// and form the next batch: one sync runs at a time, and batches stay as large as
// when the sync blocked the thread. (Committing them at once instead made more,
// smaller commits: ~30 % more CPU per single publish.)
//
// A store that cannot write (SQLITE_FULL, an I/O error, the lock held past
// busy_timeout, a failing COMMIT or WAL sync) is not one write's fault: the
// whole batch is rolled back and every waiter rejected with a
// StoreUnavailableError, the batcher marks itself failing until a later commit
// succeeds, and it stays usable. Nothing it settles as done was left uncommitted.
import type { Database } from "bun:sqlite";
import { isStorageFailure, StoreUnavailableError, toUnavailable } from "../unavailable.ts";

interface QueuedWrite {
  run: () => unknown;
  resolve: (value: any) => void;
  reject: (error: unknown) => void;
}

type Result = { ok: boolean; value: unknown };

export class WriteBatcher {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  private syncing = 0;
  private failure: StoreUnavailableError | null = null;
  private transactions = 0;

  /** `sync` makes everything committed so far durable (see WalSync); null when COMMIT itself is enough. */
  constructor(
    private readonly db: Database,
    private readonly sync: (() => Promise<void>) | null = null,
  ) {}

  /** Runs `run` inside the next batch transaction; settles after the commit (and its sync). `run` may run twice (a replay). */
  submit<T>(run: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.syncing > 0) return; // the sync's end schedules the next batch
    this.scheduled = true;
    // setImmediate runs after the I/O callbacks of this turn: every request
    // parsed in the same turn lands in the same transaction.
    setImmediate(() => this.flush());
  }

  /** Writes everything queued now, sync or not. Also called on shutdown so nothing is left behind. */
  flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    let results: Result[];
    try {
      results = this.runBatch(batch, false) ?? this.runBatch(batch, true)!;
    } catch (error) {
      // BEGIN, a storage failure inside a write, or COMMIT: nothing of the batch is kept.
      this.rollback();
      return this.fail(batch, error);
    }
    const settle = () => {
      this.failure = null;
      batch.forEach((write, i) => {
        const result = results[i]!;
        if (result.ok) write.resolve(result.value);
        else write.reject(result.value);
      });
    };
    if (!this.sync) return settle();
    this.syncing++;
    this.sync()
      // Committed but perhaps not on disk: the writes are not acknowledged.
      .then(settle, (error) => this.fail(batch, error))
      .finally(() => {
        this.syncing--;
        if (this.queue.length > 0) this.schedule();
      });
  }

  /** Why the last batch could not be written, until a later one is: the store is not writable meanwhile. */
  get failing(): StoreUnavailableError | null {
    return this.failure;
  }

  /** A write outside the batches (a readiness probe) got through: the store writes again. */
  noteWritable(): void {
    this.failure = null;
  }

  private fail(batch: QueuedWrite[], error: unknown): void {
    const failure = toUnavailable(error);
    this.failure = failure;
    for (const write of batch) write.reject(failure);
  }

  /** Ends a transaction the failure left open; SQLite may already have rolled it back itself. */
  private rollback(): void {
    try {
      if (this.db.inTransaction) this.db.run("ROLLBACK");
    } catch {
      // Nothing more to undo: a failed ROLLBACK leaves no transaction behind.
    }
  }

  /**
   * One transaction over the batch. Without savepoints, the first failing write
   * rolls everything back and answers null (replay with savepoints); with them,
   * a failing write is undone alone and reported in its result.
   */
  private runBatch(batch: QueuedWrite[], savepoints: boolean): Result[] | null {
    const results: Result[] = [];
    this.db.run("BEGIN IMMEDIATE");
    this.transactions++;
    for (const write of batch) {
      if (!savepoints) {
        try {
          results.push({ ok: true, value: write.run() });
        } catch (error) {
          // A full disk or an I/O error fails the whole batch (flush); SQLite may
          // have rolled the transaction back already, so no write may run after it.
          if (isStorageFailure(error)) throw error;
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
        if (isStorageFailure(error)) throw error;
        this.db.run("ROLLBACK TO write");
        this.db.run("RELEASE write");
        results.push({ ok: false, value: error });
      }
    }
    this.db.run("COMMIT");
    return results;
  }

  /**
   * Which batch transaction the writes now running belong to: a new number for
   * each (a replay too). Inside one, no other connection can write, so a write
   * may keep what it read for the next writes of the same transaction.
   */
  get transaction(): number {
    return this.transactions;
  }

  get pending(): number {
    return this.queue.length;
  }
}
