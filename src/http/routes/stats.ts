// /v1/stats: deliveries in a window by state and over time, for the console's
// overview. A tenant token counts only its tenant.
import { Elysia } from "elysia";
import { type } from "arktype";
import { invalid } from "../../engine/problem.ts";
import { narrow } from "../../engine/scope.ts";
import { successRate } from "../../engine/success-rate.ts";
import { authenticated, errorResponses, parseTime, security, type HttpContext } from "../context.ts";
import { iso } from "../present.ts";
import { StatsBody } from "../schemas.ts";
import { DESTINATION_ID, Since, TenantFilter, Until } from "../parameters.ts";

const BUCKETS = { "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000 } as const;
const Query = type({
  "since?": Since.describe("the window's start: ISO 8601, such as 2026-01-31T12:00:00Z (default 24 hours ago)"),
  "until?": Until.describe("the window's end: ISO 8601 (default now)"),
  "bucket?": type("'1m' | '5m' | '15m' | '1h' | '1d'").describe("the width of each point of the series (default 1h)"),
  "tenant?": TenantFilter,
  "destination_id?": type("string").describe(`only deliveries to this destination: ${DESTINATION_ID}`),
  "+": "reject",
});
/** At most this many buckets per answer, so a wide window with small buckets stays cheap. */
const MAX_BUCKETS = 2000;

export function statsRoutes(ctx: HttpContext) {
  return new Elysia({ prefix: "/v1/stats" }).use(authenticated()).get(
    "",
    async ({ query, scope }) => {
      const now = ctx.engine.deps.now();
      const since = parseTime(query.since, "since") ?? now - 86_400_000;
      const until = parseTime(query.until, "until") ?? now + 1;
      const bucket_ms = BUCKETS[query.bucket ?? "1h"];
      if (until <= since) throw invalid("until must be after since", [{ path: "until", message: "must be after since" }]);
      if ((until - since) / bucket_ms > MAX_BUCKETS) throw invalid(`that window holds more than ${MAX_BUCKETS} buckets; use a larger bucket`, [{ path: "bucket", message: "is too small for the window" }]);
      const stats = await ctx.engine.reads.deliveryStats(narrow(scope, query.tenant), { destination_id: query.destination_id, since, until, bucket_ms });
      return {
        since: iso(since)!,
        until: iso(until)!,
        counts: stats.counts,
        retrying: stats.retrying,
        success_rate: successRate(stats.counts, stats.retrying),
        series: stats.series.map((b) => ({ ...b, start: iso(b.start)! })),
      };
    },
    {
      query: Query,
      response: {
        200: StatsBody,
        ...errorResponses,
      },
      detail: { operationId: "getDeliveryStats", summary: "Delivery counts by state and over time (default: the last 24 h in 1 h buckets)", tags: ["Deliveries"], security },
    },
  );
}
