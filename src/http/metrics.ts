// GET /metrics in Prometheus text format: the engine's counters and histograms
// (telemetry.ts), the HTTP server's (request-metrics.ts), process memory, and
// figures read from the store at scrape time (deliveries by state, the oldest
// due delivery, breakers, the store's size), each read from an index.
// README "Metrics and logs" lists every series.
import type { Engine } from "../engine/engine.ts";
import type { Histogram } from "../engine/histogram.ts";
import { ATTEMPT_CLASSES } from "../engine/telemetry.ts";
import { DELIVERY_STATUSES } from "../engine/records.ts";
import { VERSION } from "../version.ts";
import type { RequestMetrics } from "./request-metrics.ts";

type Labels = Record<string, string | number>;

/** Label values escaped as the text format asks: backslash, quote, newline. */
const escape = (value: string | number) => String(value).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

class Exposition {
  readonly lines: string[] = [];

  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }

  sample(name: string, labels: Labels | null, value: number): this {
    const text = labels && Object.keys(labels).length ? `{${Object.entries(labels).map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}` : "";
    this.lines.push(`${name}${text} ${Number.isFinite(value) ? value : 0}`);
    return this;
  }

  /** One histogram's samples (its family line written before): cumulative buckets, +Inf, sum, count. */
  histogram(name: string, labels: Labels, h: Histogram): this {
    let cumulative = 0;
    h.bounds.forEach((bound, i) => {
      cumulative += h.counts[i]!;
      this.sample(`${name}_bucket`, { ...labels, le: bound }, cumulative);
    });
    this.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, h.count);
    this.sample(`${name}_sum`, labels, h.sum);
    return this.sample(`${name}_count`, labels, h.count);
  }

  text(): string {
    return this.lines.join("\n") + "\n";
  }
}

export async function renderMetrics(engine: Engine, requests: RequestMetrics): Promise<string> {
  const t = engine.telemetry;
  const settings = engine.config.metrics;
  const [byStatus, queue, storeBytes] = await Promise.all([
    engine.reads.countDeliveriesByStatus(),
    engine.reads.queueFigures(),
    engine.reads.storeSize(),
  ]);
  const now = engine.deps.now();
  const out = new Exposition();

  out.family("herald_build_info", "gauge", "Always 1; the version running.").sample("herald_build_info", { version: VERSION }, 1);

  out.family("herald_events_published_total", "counter", "Events written by this instance by type (repeats not counted; types no longer in the catalogue as other).");
  for (const [type, n] of t.published) out.sample("herald_events_published_total", { type }, n);

  out.family("herald_deliveries", "gauge", "Deliveries in the job table by status (every instance's).");
  for (const status of DELIVERY_STATUSES) out.sample("herald_deliveries", { status }, byStatus[status] ?? 0);
  out.family("herald_oldest_due_seconds", "gauge", "Age of the oldest pending delivery that is due (0 when none); includes those held by a disabled destination or an open breaker.");
  out.sample("herald_oldest_due_seconds", null, queue.oldest_due_at === null ? 0 : Math.max(0, now - queue.oldest_due_at) / 1000);

  out.family("herald_delivery_outcomes_total", "counter", "Attempts recorded here by what they made of their delivery: succeeded, failed (for good), retrying.");
  for (const [outcome, n] of Object.entries(t.outcomes)) out.sample("herald_delivery_outcomes_total", { outcome }, n);

  out.family("herald_attempts_total", "counter", "Delivery attempts by outcome since start (success, http_3xx/4xx/5xx, error).");
  for (const [outcome, n] of engine.telemetry.attemptOutcomes) out.sample("herald_attempts_total", { outcome }, n);
  out.family("herald_attempts_by_class_total", "counter", "Delivery attempts by status class since start: 2xx, 3xx, 4xx, 5xx, error (no answer), timeout.");
  ATTEMPT_CLASSES.forEach((cls, i) => out.sample("herald_attempts_by_class_total", { class: cls }, t.attempts[i]!));
  out.family("herald_attempt_duration_seconds", "histogram", "Duration of each delivery attempt, request to answer (or error).");
  out.histogram("herald_attempt_duration_seconds", {}, t.attemptSeconds);
  out.family("herald_delivered_latency_seconds", "histogram", "From an event's publish (created_at) to the end of its delivery's successful attempt.");
  out.histogram("herald_delivered_latency_seconds", {}, t.deliveredSeconds);

  out.family("herald_destination_attempts_total", "counter", `Attempts by destination and status class: the ${settings.busiest} busiest since start plus metrics.per_destination.`);
  for (const [destination, figures] of t.perDestination(settings.busiest, settings.per_destination)) {
    ATTEMPT_CLASSES.forEach((cls, i) => out.sample("herald_destination_attempts_total", { destination, class: cls }, figures.attempts[i]!));
  }

  // One number kept from before, and the states apart: destinations may be many, which ones are open is in the API.
  out.family("herald_destination_breaker_open", "gauge", "Destinations whose circuit breaker is open or half open.");
  out.sample("herald_destination_breaker_open", null, queue.breakers.open + queue.breakers.half_open);
  out.family("herald_breakers", "gauge", "Destinations by breaker state (closed ones are not counted).");
  out.sample("herald_breakers", { state: "open" }, queue.breakers.open).sample("herald_breakers", { state: "half_open" }, queue.breakers.half_open);
  out.family("herald_breaker_transitions_total", "counter", "Breakers this instance's records opened or closed.");
  for (const [change, n] of Object.entries(t.breakerChanges)) out.sample("herald_breaker_transitions_total", { change }, n);

  out.family("herald_dispatcher_queued", "gauge", "Deliveries leased and waiting in memory.").sample("herald_dispatcher_queued", null, engine.dispatcher.queued);
  out.family("herald_dispatcher_sending", "gauge", "Sends under way.").sample("herald_dispatcher_sending", null, engine.dispatcher.sending);
  out
    .family("herald_dispatcher_leased_on_disk", "gauge", "Deliveries a publish leased past the in-memory queue, waiting on disk to be read back.")
    .sample("herald_dispatcher_leased_on_disk", null, engine.dispatcher.leasedOnDisk);

  out.family("herald_http_requests_total", "counter", "API requests by route pattern, method and status.");
  for (const [route, figures] of requests.routes) {
    for (const [method, statuses] of figures.counts) for (const [status, n] of statuses) out.sample("herald_http_requests_total", { route, method, status }, n);
  }
  out.family("herald_http_request_duration_seconds", "histogram", "API request durations by route pattern, to the answer's headers.");
  for (const [route, figures] of requests.routes) out.histogram("herald_http_request_duration_seconds", { route }, figures.seconds);

  const memory = process.memoryUsage();
  out.family("herald_process_resident_memory_bytes", "gauge", "Resident set size of the process.").sample("herald_process_resident_memory_bytes", null, memory.rss);
  out.family("herald_process_heap_used_bytes", "gauge", "JavaScript heap in use.").sample("herald_process_heap_used_bytes", null, memory.heapUsed);
  out.family("herald_store_size_bytes", "gauge", "The store on disk: SQLite file plus WAL, or the PostgreSQL schema's tables with indexes.");
  out.sample("herald_store_size_bytes", null, storeBytes);

  out.family("herald_sweep_duration_seconds", "histogram", "Duration of each sweep (due retries, expired leases, auto-disable) on this instance.");
  out.histogram("herald_sweep_duration_seconds", {}, t.sweepSeconds);
  out.family("herald_retention_duration_seconds", "histogram", "Duration of each retention run this instance led.");
  out.histogram("herald_retention_duration_seconds", {}, t.retentionSeconds);
  return out.text();
}
