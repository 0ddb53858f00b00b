// The engine's figures for /metrics, fed by its listeners (attempts, breaker
// changes, publishes, sweeps): plain counters and fixed-bucket histograms, so
// the delivery path pays an increment or two. Since this process started;
// figures of the job table itself are read from the store at scrape time.
import type { BreakerChange, DeliveryJob } from "../store/types.ts";
import type { Catalog } from "./catalog.ts";
import { Histogram, LATENCY_SECONDS, REQUEST_SECONDS } from "./histogram.ts";
import type { SendResult } from "./sender.ts";

export const ATTEMPT_CLASSES = ["2xx", "3xx", "4xx", "5xx", "error", "timeout"] as const;
export type AttemptClass = (typeof ATTEMPT_CLASSES)[number];

/** The class of an attempt: its status's hundred, or why there was none (the sender's timeout message). */
export function attemptClass(result: SendResult): AttemptClass {
  const status = result.status;
  if (status !== null && status >= 200 && status < 600) return ATTEMPT_CLASSES[Math.floor(status / 100) - 2]!;
  return result.attempt.error?.startsWith("timed out") ? "timeout" : "error";
}

/** Attempts of one destination by class (indexed as ATTEMPT_CLASSES), and their total for ranking. */
export interface DestinationFigures {
  attempts: Float64Array;
  total: number;
}

/** Published events of a type outside the catalogue (deleted since) are counted under this one label. */
export const OTHER_TYPE = "other";

export class Telemetry {
  /** Events published (created, not repeats) by type: bounded by the catalogue's types plus `other`. */
  readonly published = new Map<string, number>();
  readonly attempts = new Float64Array(ATTEMPT_CLASSES.length);
  /** Attempts by outcome as herald_attempts_total has always counted them: success (an accepted answer), http_Nxx, error. */
  readonly attemptOutcomes = new Map<string, number>();
  readonly attemptSeconds = new Histogram(REQUEST_SECONDS);
  /** Event created_at → end of the successful attempt. */
  readonly deliveredSeconds = new Histogram(LATENCY_SECONDS);
  /** Deliveries that reached a final state through an attempt here, and retries scheduled. */
  readonly outcomes = { succeeded: 0, failed: 0, retrying: 0 };
  readonly breakerChanges = { opened: 0, closed: 0 };
  /** Per destination id: bounded by the catalogue (deleted ones are dropped when noticed, see perDestination). */
  readonly destinations = new Map<string, DestinationFigures>();
  readonly sweepSeconds = new Histogram(REQUEST_SECONDS);
  readonly retentionSeconds = new Histogram(LATENCY_SECONDS);

  constructor(private readonly catalog: Catalog) {}

  eventPublished(type: string): void {
    const label = this.catalog.eventTypes.has(type) ? type : OTHER_TYPE;
    this.published.set(label, (this.published.get(label) ?? 0) + 1);
  }

  attempt(job: DeliveryJob, result: SendResult, status: string): void {
    const cls = ATTEMPT_CLASSES.indexOf(attemptClass(result));
    this.attempts[cls]!++;
    const outcome = result.ok ? "success" : result.status === null ? "error" : `http_${Math.floor(result.status / 100)}xx`;
    this.attemptOutcomes.set(outcome, (this.attemptOutcomes.get(outcome) ?? 0) + 1);
    this.attemptSeconds.observe(result.attempt.duration_ms / 1000);
    if (status === "succeeded") {
      this.outcomes.succeeded++;
      const end = result.attempt.started_at + result.attempt.duration_ms;
      this.deliveredSeconds.observe(Math.max(0, end - job.event.created_at) / 1000);
    } else if (status === "failed") this.outcomes.failed++;
    else if (status === "pending") this.outcomes.retrying++;
    const id = job.delivery.destination_id;
    let figures = this.destinations.get(id);
    if (!figures) this.destinations.set(id, (figures = { attempts: new Float64Array(ATTEMPT_CLASSES.length), total: 0 }));
    figures.attempts[cls]!++;
    figures.total++;
  }

  breaker(change: BreakerChange): void {
    this.breakerChanges[change.change]++;
  }

  /**
   * The destinations given series at a scrape: the `busiest` by attempts since
   * start, then every one named in `named` (config metrics.per_destination),
   * each once. Destinations no longer in the catalogue are forgotten here, so the
   * map holds at most the catalogue's.
   */
  perDestination(busiest: number, named: readonly string[]): [string, DestinationFigures][] {
    for (const id of this.destinations.keys()) if (!this.catalog.destinations.has(id)) this.destinations.delete(id);
    const chosen = [...this.destinations].sort((a, b) => b[1].total - a[1].total || (a[0] < b[0] ? -1 : 1)).slice(0, busiest);
    const ids = new Set(chosen.map(([id]) => id));
    for (const id of named) {
      if (ids.has(id) || !this.catalog.destinations.has(id)) continue;
      ids.add(id);
      chosen.push([id, this.destinations.get(id) ?? { attempts: new Float64Array(ATTEMPT_CLASSES.length), total: 0 }]);
    }
    return chosen;
  }
}
