// Gathers concurrent calls into batches, so that many publishes (or attempt
// records) arriving together cost one write (a transaction, or one statement
// committed on its own) and a few round trips, not one each: PostgreSQL's cost per write is mostly the round trip and the commit
// (a WAL flush), both shared by the batch. The counterpart of SQLite's
// WriteBatcher, but the database is across a socket: while one batch is in
// flight, calls keep arriving and form the next one, and up to `inFlight`
// batches run at once on separate pooled connections. While other instances
// share the database (`fullOnlyBeside`), a batch starts beside one in flight
// only when it is full: the cluster's batches are then about one per
// instance at a time, each larger, instead of two small ones per instance.
//
// A batch is all or nothing in PostgreSQL (one error aborts its statement or transaction), so
// when it fails for a reason that is not the server's (a bad row), each call is
// run again alone, in order, and fails or succeeds on its own. Storage failures fail the
// whole batch at once: running the calls again would only fail again.
import { isStorageFailure } from "../unavailable.ts";

interface Waiting<I, R> {
  item: I;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export interface GatherOptions<I, R> {
  /** Runs a whole batch as one write (all or nothing); answers one result per item, in order. */
  batch: (items: I[]) => Promise<R[]>;
  /** Runs one item alone (the replay after a failed batch). */
  one: (item: I) => Promise<R>;
  /** The most items in one batch. */
  max: number;
  /** How many batches may run at once. */
  inFlight: number;
  /**
   * While it answers true, a batch starts beside one in flight only when it is
   * full (`max` calls waiting); a smaller one waits for the batch in flight to end.
   */
  fullOnlyBeside?: () => boolean;
}

export class Gatherer<I, R> {
  private queue: Waiting<I, R>[] = [];
  private running = 0;
  private scheduled = false;
  private idle: (() => void)[] = [];

  constructor(private readonly options: GatherOptions<I, R>) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything submitted so far has settled (close waits for it). */
  drained(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled || this.running >= this.options.inFlight) return;
    this.scheduled = true;
    // setImmediate runs after this turn's I/O callbacks: every request parsed in
    // the same turn joins the same batch.
    setImmediate(() => {
      this.scheduled = false;
      this.start();
    });
  }

  private start(): void {
    while (this.queue.length > 0 && this.running < this.options.inFlight) {
      // The batch in flight starts the next when it ends (run's finally).
      if (this.running > 0 && this.queue.length < this.options.max && this.options.fullOnlyBeside?.()) return;
      const batch = this.queue.splice(0, this.options.max);
      this.running++;
      void this.run(batch).finally(() => {
        this.running--;
        if (this.queue.length > 0) this.schedule();
        else if (this.running === 0) for (const done of this.idle.splice(0)) done();
      });
    }
  }

  private async run(batch: Waiting<I, R>[]): Promise<void> {
    let results: R[];
    try {
      results = await this.options.batch(batch.map((w) => w.item));
    } catch (error) {
      if (isStorageFailure(error) || batch.length === 1) {
        for (const w of batch) w.reject(error);
        return;
      }
      // One after another, in the order they came: writes whose order matters (a
      // destination's failing_since from two answers) come out as they would alone.
      for (const w of batch) await this.options.one(w.item).then(w.resolve, w.reject);
      return;
    }
    batch.forEach((w, i) => w.resolve(results[i]!));
  }
}
