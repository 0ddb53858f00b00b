// Prometheus text exposition: counters kept by the engine's attempt listener,
// and gauges read from the job table when scraped.
import type { Engine } from "../engine/engine.ts";
import { DELIVERY_STATUSES } from "../engine/records.ts";

const attemptCounts = new WeakMap<Engine, Map<string, number>>();

/** Starts counting attempts by outcome for this engine. */
export function trackAttempts(engine: Engine): void {
  const counts = new Map<string, number>();
  attemptCounts.set(engine, counts);
  engine.dispatcher.onAttempt((_job, result) => {
    const outcome = result.ok ? "success" : result.status === null ? "error" : `http_${Math.floor(result.status / 100)}xx`;
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  });
}

export async function renderMetrics(engine: Engine): Promise<string> {
  const lines: string[] = [];
  const byStatus = await engine.reads.countDeliveriesByStatus();
  lines.push("# HELP herald_deliveries Deliveries in the job table by status.", "# TYPE herald_deliveries gauge");
  for (const status of DELIVERY_STATUSES) lines.push(`herald_deliveries{status="${status}"} ${byStatus[status] ?? 0}`);
  lines.push("# HELP herald_attempts_total Delivery attempts by outcome since start.", "# TYPE herald_attempts_total counter");
  for (const [outcome, n] of attemptCounts.get(engine) ?? []) lines.push(`herald_attempts_total{outcome="${outcome}"} ${n}`);
  // One number, not a gauge per destination: destinations may be many (API-made,
  // per tenant), and which ones are open is in the API and the console.
  lines.push("# HELP herald_destination_breaker_open Destinations whose circuit breaker is open or half open.", "# TYPE herald_destination_breaker_open gauge");
  lines.push(`herald_destination_breaker_open ${await engine.reads.countOpenBreakers()}`);
  lines.push("# HELP herald_dispatcher_queued Deliveries leased and waiting in memory.", "# TYPE herald_dispatcher_queued gauge");
  lines.push(`herald_dispatcher_queued ${engine.dispatcher.queued}`);
  lines.push("# HELP herald_dispatcher_sending Sends under way.", "# TYPE herald_dispatcher_sending gauge");
  lines.push(`herald_dispatcher_sending ${engine.dispatcher.sending}`);
  return lines.join("\n") + "\n";
}
