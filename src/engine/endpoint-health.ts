// A destination's endpoint health for the console and GET /v1/destinations/{id}/health:
// its attempts over a window in buckets (count, successes, latency p50/p95), the
// success rate of its deliveries, its breaker, and every reason it is held back now.
import type { AttemptBucket, Destination, DestinationHealth, DestinationLoad } from "../store/types.ts";
import { breakerState, type BreakerState } from "../store/types.ts";
import { successRate } from "./success-rate.ts";

const HOUR = 3_600_000;

/** The windows the page offers: the last 24 h in hourly buckets, the last 7 days in daily ones. */
export const HEALTH_RANGES = {
  "24h": { ms: 24 * HOUR, bucket_ms: HOUR },
  "7d": { ms: 7 * 24 * HOUR, bucket_ms: 24 * HOUR },
} as const;
export type HealthRange = keyof typeof HEALTH_RANGES;

/** Why a destination's deliveries are not going out now, with when it may change (null: not known). */
export interface HeldBack {
  reason: "disabled" | "breaker_open" | "ordered_head" | "max_in_flight" | "rate_limit";
  message: string;
  until: number | null;
}

export interface EndpointHealth {
  destination: Destination;
  range: HealthRange;
  since: number;
  until: number;
  bucket_ms: number;
  deliveries: DestinationHealth;
  success_rate: number | null;
  /** Every bucket of the window, oldest first, empty ones included (attempts 0). */
  buckets: AttemptBucket[];
  breaker: BreakerState;
  load: DestinationLoad;
  held_back: HeldBack[];
}

/** Every bucket from the one holding `since` to the one holding `until - 1`, the store's where it has them. */
export function everyBucket(found: AttemptBucket[], since: number, until: number, bucket_ms: number): AttemptBucket[] {
  const known = new Map(found.map((b) => [b.start, b]));
  const out: AttemptBucket[] = [];
  for (let start = Math.floor(since / bucket_ms) * bucket_ms; start < until; start += bucket_ms) {
    out.push(known.get(start) ?? { start, attempts: 0, succeeded: 0, p50_ms: null, p95_ms: null });
  }
  return out;
}

/** The reasons, most fundamental first: a disabled destination sends nothing whatever else holds. */
export function heldBack(d: Destination, load: DestinationLoad): HeldBack[] {
  const reasons: HeldBack[] = [];
  if (!d.enabled) reasons.push({ reason: "disabled", message: `disabled: ${d.disabled_reason ?? "no reason given"}`, until: null });
  const breaker = breakerState(d.breaker);
  if (breaker !== "closed") {
    const probe = d.breaker?.next_probe_at ?? null;
    reasons.push({
      reason: "breaker_open",
      message: breaker === "half_open"
        ? "the circuit breaker is open and a probe is being sent now; the rest wait for its answer"
        : `the circuit breaker is open after ${d.breaker?.consecutive_failures ?? 0} failed attempts in a row; one probe goes out at the next probe time`,
      until: probe,
    });
  }
  const head = d.held_by_head;
  if (head) {
    reasons.push({
      reason: "ordered_head",
      message: `ordered: delivery ${head.delivery_id} failed ${head.attempts} time(s) and waits for its retry; ${head.waiting} wait behind it`,
      until: head.next_attempt_at,
    });
  }
  if (d.max_in_flight !== null && load.in_flight >= d.max_in_flight) {
    reasons.push({ reason: "max_in_flight", message: `${load.in_flight} of at most ${d.max_in_flight} requests in flight; ${load.due} due wait for a place`, until: null });
  }
  // A rate limit holds back only what is due beyond it: named when deliveries are
  // due now and nothing above already explains the wait.
  if (d.rate_limit !== null && load.due > 0 && reasons.length === 0) {
    reasons.push({ reason: "rate_limit", message: `rate limit of ${d.rate_limit}/s: ${load.due} due deliveries go out at that pace`, until: null });
  }
  return reasons;
}

export function endpointHealth(input: {
  destination: Destination; range: HealthRange; since: number; until: number; deliveries: DestinationHealth; found: AttemptBucket[]; load: DestinationLoad;
}): EndpointHealth {
  const { destination, range, since, until, deliveries, found, load } = input;
  const { bucket_ms } = HEALTH_RANGES[range];
  return {
    destination, range, since, until, bucket_ms, deliveries,
    success_rate: successRate(deliveries.counts, deliveries.retrying),
    buckets: everyBucket(found, since, until, bucket_ms),
    breaker: breakerState(destination.breaker),
    load,
    held_back: heldBack(destination, load),
  };
}
