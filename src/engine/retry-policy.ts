// Decides what happens to a delivery after an attempt: success, another try on
// the schedule (with jitter, or later if the receiver asked with Retry-After),
// or failure. Pure: it takes the clock and the random source as arguments.
import type { AttemptOutcome, Delivery } from "../store/types.ts";
import type { SendResult } from "./sender.ts";

export interface RetrySettings {
  /** Delays between tries after the first, e.g. 5s, 5m, 30m, 2h, 5h, 10h, 10h: 8 tries in all. */
  retry_schedule: readonly number[];
  /** ±fraction applied to each delay, so a burst of failures does not retry in lockstep. */
  jitter: number;
}

/** A Retry-After beyond a day is treated as a day: the receiver still gets retried. */
export const MAX_RETRY_AFTER_MS = 24 * 60 * 60 * 1000;

export interface Decision {
  outcome: AttemptOutcome;
  disable_destination?: string;
}

export function decide(result: SendResult, delivery: Delivery, settings: RetrySettings, now: number, random: () => number): Decision {
  if (result.ok) return { outcome: { status: "succeeded" } };
  if (result.status === 410) {
    return { outcome: { status: "failed" }, disable_destination: "the endpoint answered 410 Gone" };
  }
  if (!result.retryable) return { outcome: { status: "failed" } };
  // Tries made in the current schedule, this one included (a manual retry starts a new schedule).
  const tries = delivery.attempts + 1 - delivery.schedule_start;
  const base = settings.retry_schedule[tries - 1];
  if (base === undefined) return { outcome: { status: "failed" } };
  let delay = Math.round(base * (1 + (random() * 2 - 1) * settings.jitter));
  if (result.retry_after_ms !== null) delay = Math.max(delay, Math.min(result.retry_after_ms, MAX_RETRY_AFTER_MS));
  return { outcome: { status: "pending", next_attempt_at: now + delay } };
}
