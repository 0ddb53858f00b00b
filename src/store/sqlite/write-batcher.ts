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
// A write may leave its rows for later in the batch (`defers`, DeferredRows):
// a batch's publishes gather their events and deliveries and write them in a few
// multi-row INSERTs, which cost ~2 µs less per row than one statement per row.
// What was gathered is written before the next write that does not defer (it
// may read or move those rows) and before COMMIT, so no statement of another
// write and no reader outside the batch ever misses them. The replay with
// savepoints gathers nothing: there each write's rows are its own, undone alone.
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
  /** Gathers its rows (or reads none that another write gathered): what was gathered is not written before it. */
  defers: boolean;
}

/** Rows a batch's writes gathered, to be written later in the same transaction. */
export interface DeferredRows {
  /** Writes what was gathered (and forgets it, whether or not the writing throws). */
  flush(): void;
  /** Forgets what was gathered: the batch was rolled back. */
  discard(): void;
}

type Result = { ok: boolean; value: unknown };

export class WriteBatcher {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  private syncing = 0;
  private failure: StoreUnavailableError | null = null;
  private transactions = 0;
  /** True while a batch runs without savepoints: writes may gather rows (defer). */
  private gathering = false;
  private deferred: DeferredRows[] = [];

  /** `sync` makes everything committed so far durable (see WalSync); null when COMMIT itself is enough. */
  constructor(
    private readonly db: Database,
    private readonly sync: (() => Promise<void>) | null = null,
  ) {}

  /** Runs `run` inside the next batch transaction; settles after the commit (and its sync). `run` may run twice (a replay). */
  submit<T>(run: () => T, defers = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve, reject, defers });
      this.schedule();
    });
  }

  /** Whether the write running now may gather its rows (defer) instead of writing them itself. */
  get deferring(): boolean {
    return this.gathering;
  }

  /** Called by a write that gathered rows in `rows` (only while `deferring`): they are written before the next write that does not defer, and before COMMIT. */
  defer(rows: DeferredRows): void {
    if (!this.deferred.includes(rows)) this.deferred.push(rows);
  }

  private writeDeferred(): void {
    if (this.deferred.length === 0) return;
    const all = this.deferred;
    this.deferred = [];
    for (const rows of all) rows.flush();
  }

  private discardDeferred(): void {
    for (const rows of this.deferred) rows.discard();
    this.deferred = [];
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
    if (!savepoints) {
      this.gathering = true;
      try {
        for (const write of batch) {
          if (!write.defers) this.writeDeferred();
          results.push({ ok: true, value: write.run() });
        }
        this.writeDeferred();
      } catch (error) {
        // A failing write, or gathered rows that could not be written (replayed
        // with savepoints, where each write writes its own). A full disk or an
        // I/O error fails the whole batch (flush); SQLite may have rolled the
        // transaction back already, so no write may run after it.
        this.discardDeferred();
        if (isStorageFailure(error)) throw error;
        if (this.db.inTransaction) this.db.run("ROLLBACK");
        return null;
      } finally {
        this.gathering = false;
      }
      this.db.run("COMMIT");
      return results;
    }
    for (const write of batch) {
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
