// Endpoint health's samples on SQLite (migration 22): each attempt's
// destination, start, duration and success, kept in attempt_health (keyed by
// destination, then time, for the health read) and written there in bulk, a
// few times a second, instead of one index entry per attempt inside its record.
//
// Why: an index whose key starts with the destination has a place to insert
// per destination. A group commit of records for 100 destinations dirtied ~100
// of its pages, every one written whole to the WAL and again by the checkpoint;
// in the fan-out bench (1 event to 100 destinations) that index alone cost
// ~15 % of Herald's CPU per delivery (bench/README.md). Gathered for a quarter
// of a second, sorted, and written in one go, the same entries dirty each
// destination's page once per flush instead of once per commit.
//
// What it costs: samples wait in memory up to FLUSH_AFTER_MS. The health read
// of this instance flushes first (exact); another instance sharing the file
// sees them within that time (its reads are cached for 30 s anyway). A crash
// loses at most the samples gathered since the last flush, never an attempt:
// the attempt log (attempts) is written with each record, as before.
import type { Database } from "bun:sqlite";
import type { WriteBatcher } from "./write-batcher.ts";

/**
 * Whether an attempt counts as a success in its destination's health: answered
 * 2xx with no error (the same rule as PostgreSQL's read, postgres/log.ts, and
 * migration 22's fill).
 */
export function answeredOk(attempt: { error: string | null; response_status: number | null }): boolean {
  const status = attempt.response_status;
  return attempt.error === null && status !== null && status >= 200 && status <= 299;
}

export interface HealthSample {
  destination_id: string;
  started_at: number;
  delivery_id: string;
  number: number;
  duration_ms: number;
  ok: boolean;
}

/** How long a sample may wait in memory; a flush also starts once this many are gathered. */
export const FLUSH_AFTER_MS = 250;
export const FLUSH_AT_SAMPLES = 4096;

export class HealthSamples {
  private gathered: HealthSample[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly batcher: WriteBatcher,
    /** Tests set a longer one, to see what a flush writes. */
    private readonly flushAfterMs = FLUSH_AFTER_MS,
  ) {}

  /**
   * Called inside a record's write. A record replayed after a failed batch adds
   * its sample twice: the table's key (the attempt's own) keeps one. One whose
   * batch could not be written at all keeps its sample: the attempt was made.
   */
  add(sample: HealthSample): void {
    this.gathered.push(sample);
    if (this.gathered.length >= FLUSH_AT_SAMPLES) this.startFlush();
    else if (!this.timer) {
      this.timer = setTimeout(() => this.startFlush(), this.flushAfterMs);
      // A process with nothing else to do may end; closeNow writes what is left.
      this.timer.unref?.();
    }
  }

  /** Writes what is gathered (with the next group commit); resolves once it is committed. */
  flush(): Promise<void> {
    if (this.gathered.length > 0) this.startFlush();
    return this.flushing ?? Promise.resolve();
  }

  /** Queues what is gathered as one write; the store's close commits it with the batcher's last batch. */
  startFlush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const samples = this.gathered;
    if (samples.length === 0) return;
    this.gathered = [];
    // Batches settle in the order they were submitted, so the latest flush
    // settling means every earlier one has too: it is the only one to wait for.
    const written: Promise<void> = this.batcher
      .submit(() => this.write(samples))
      // Not written (the store could not write): health loses these samples, as
      // after a crash; the attempts themselves are in the attempt log.
      .catch(() => {})
      .finally(() => {
        if (this.flushing === written) this.flushing = null;
      });
    this.flushing = written;
  }

  private write(samples: HealthSample[]): void {
    // In key order: each destination's new entries go in one after another.
    samples.sort((a, b) => (a.destination_id < b.destination_id ? -1 : a.destination_id > b.destination_id ? 1 : a.started_at - b.started_at));
    const insert = this.db.query(
      `INSERT OR IGNORE INTO attempt_health (destination_id, started_at, delivery_id, number, duration_ms, ok)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    for (const s of samples) insert.run(s.destination_id, s.started_at, s.delivery_id, s.number, s.duration_ms, s.ok ? 1 : 0);
  }
}
