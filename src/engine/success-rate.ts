// The success rate, defined once for every answer that shows one: of the
// deliveries created in a window that have an outcome or are failing, the
// share that succeeded. A delivery that has failed at least once and is still
// retrying counts against it, so a destination whose deliveries all retry is
// 0 %, never 100 %. Those not yet attempted and those cancelled do not count.
import type { StatusCounts } from "../store/types.ts";

/** succeeded / (succeeded + failed + retrying), or null when none of them is there yet. */
export function successRate(counts: Pick<StatusCounts, "succeeded" | "failed">, retrying: number): number | null {
  const judged = counts.succeeded + counts.failed + retrying;
  return judged === 0 ? null : counts.succeeded / judged;
}
