// /v1/stats: deliveries in a window by state and over time, for the console's
// overview; /v1/stats/destinations: many destinations' stats in one request, for
// its destinations page. A tenant token counts only its tenant.
import { Elysia } from "elysia";
import { type } from "arktype";
import { Id } from "../../config/fields.ts";
import { invalid } from "../../engine/problem.ts";
import { narrow } from "../../engine/scope.ts";
import { successRate } from "../../engine/success-rate.ts";
import { authenticated, errorResponses, security, statsWindow, type HttpContext } from "../context.ts";
import { iso, presentDestinationStats } from "../present.ts";
import { DestinationStatsBody, StatsBody } from "../schemas.ts";
import { DESTINATION_ID, Since, TenantFilter, Until } from "../parameters.ts";

const BUCKETS = { "1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "1d": 86_400_000 } as const;
const window = {
  "since?": Since.describe("the window's start: ISO 8601, such as 2026-01-31T12:00:00Z (default 24 hours ago)"),
  "until?": Until.describe("the window's end: ISO 8601 (default now)"),
} as const;
const Query = type({
  ...window,
  "bucket?": type("'1m' | '5m' | '15m' | '1h' | '1d'").describe("the width of each point of the series (default 1h)"),
  "tenant?": TenantFilter,
  "destination_id?": type("string").describe(`only deliveries to this destination: ${DESTINATION_ID}`),
  "+": "reject",
});
/** At most this many buckets per answer, so a wide window with small buckets stays cheap. */
const MAX_BUCKETS = 2000;
/** At most this many destinations per request (the console asks in chunks of it), so one answer stays cheap. */
const MAX_STATS_IDS = 100;
const DestinationsQuery = type({
  // The framework hands a query value with commas over as a list, and a repeated name
  // as a list of those (a string, or a list of a value's comma-separated parts).
  ids: type("string | (string | string[])[]").describe(`the destinations' ids, comma-separated (such as dst_a,dst_b) or the parameter repeated, at most ${MAX_STATS_IDS}`),
  ...window,
  "+": "reject",
});
const DestinationStatsList = type({
  data: DestinationStatsBody.array().describe("one per id asked that the token may see, in the order asked; unknown ids and other tenants' are left out"),
}).configure({ title: "DestinationStatsList" });

/**
 * The ids of `ids=a,b,c` (or `ids=a&ids=b,c`), each named once: one to
 * MAX_STATS_IDS of them, each a valid id (a 400 at `ids`, or `ids[i]` for a bad one).
 */
function destinationIds(list: string | (string | string[])[]): string[] {
  // `ids=` alone names nothing (and is answered so), rather than one empty id.
  const given = typeof list === "string" ? (list === "" ? [] : [list]) : list.flat();
  const bad = given.findIndex((id) => Id(id) instanceof type.errors);
  if (bad !== -1) throw invalid(`ids item ${bad + 1} is not a destination id`, [{ path: `ids[${bad}]`, message: `each must be ${Id.description}, comma-separated` }]);
  const ids = [...new Set(given)];
  if (ids.length === 0) throw invalid("ids names no destination", [{ path: "ids", message: "must name at least one destination" }]);
  if (ids.length > MAX_STATS_IDS) {
    throw invalid(`ids names ${ids.length} destinations; at most ${MAX_STATS_IDS} per request`, [{ path: "ids", message: `must name at most ${MAX_STATS_IDS} destinations` }]);
  }
  return ids;
}

export function statsRoutes(ctx: HttpContext) {
  return new Elysia({ prefix: "/v1/stats" }).use(authenticated()).get(
    "",
    async ({ query, scope }) => {
      const { since, until } = statsWindow(query, ctx.engine.deps.now());
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
  ).get(
    // Under /v1/stats, not /v1/destinations/stats: there "stats" would be taken
    // from a destination that has that id (ids may be any name).
    "/destinations",
    async ({ query, scope }) => {
      const ids = destinationIds(query.ids);
      const { since, until } = statsWindow(query, ctx.engine.deps.now());
      const found = await ctx.engine.reads.destinationsHealth(scope, ids, since, until);
      return { data: ids.filter((id) => found.has(id)).map((id) => presentDestinationStats(id, since, until, found.get(id)!)) };
    },
    {
      query: DestinationsQuery,
      response: { 200: DestinationStatsList, ...errorResponses },
      detail: {
        operationId: "listDestinationStats",
        summary: "Many destinations' stats in one request: for each, what GET /v1/destinations/{id}/stats answers (default window: the last 24 h)",
        description: `At most ${MAX_STATS_IDS} ids per request. An id the token may not see (unknown, or another tenant's) is left out of \`data\`, not an error, so that nothing tells whether it exists.`,
        tags: ["Destinations"],
        security,
      },
    },
  );
}
