// The counting half of LogStore.destinationsHealth, the same SQL in both stores:
// each destination's deliveries in the window by state, and how many are retrying.
import type { DestinationHealth, StatusCounts } from "./types.ts";
import { DELIVERY_STATUSES } from "./types.ts";

/** The aggregate columns over a destination's deliveries (aggregate FILTER: SQLite ≥ 3.30 and PostgreSQL alike). */
export const HEALTH_COUNT_COLUMNS = [
  ...DELIVERY_STATUSES.map((s) => `count(*) FILTER (WHERE status = '${s}') AS ${s}`),
  // Pending or delivering and already attempted: failing, waiting to try again.
  "count(*) FILTER (WHERE status IN ('pending', 'delivering') AND attempts > 0) AS retrying",
].join(", ");

/** Those columns read back; a destination with no deliveries in the window has none (null from an outer join): zeros. */
export function healthCounts(row: Record<string, unknown>): Pick<DestinationHealth, "counts" | "retrying"> {
  const n = (name: string) => Number(row[name] ?? 0);
  return { counts: Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, n(s)])) as StatusCounts, retrying: n("retrying") };
}
