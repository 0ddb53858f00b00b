// Backfills: POST /v1/subscriptions/{id}/backfill starts a job that creates the
// deliveries a late subscription missed, in the background; /v1/backfills reads
// jobs and their progress, and cancels one. Tenant-scoped like subscriptions.
import { Elysia } from "elysia";
import { type } from "arktype";
import { narrow } from "../../engine/scope.ts";
import type { BackfillJob } from "../../engine/records.ts";
import { authenticated, changeErrors, DEFAULT_LIMIT, errorResponses, Limit, parseTime, security, type HttpContext } from "../context.ts";
import { Cursor, idParams, SUBSCRIPTION_ID, TenantFilter } from "../parameters.ts";
import { callerOf } from "../caller.ts";
import { iso, time } from "../present.ts";
import { isoTime, NullableTime, page } from "../schemas.ts";

const Instant = isoTime("ISO 8601 with a time zone, such as 2026-01-31T12:00:00Z");
const StartBody = type({
  since: Instant.describe("events created at or after this time (ISO 8601 with a time zone)"),
  "until?": Instant.describe("events created before this time (ISO 8601 with a time zone); default now; not in the future"),
  "+": "reject",
}).configure({ title: "BackfillInput", examples: [{ since: "2026-01-01T00:00:00Z", until: "2026-01-31T00:00:00Z" }] });
const ListQuery = type({
  "tenant?": TenantFilter,
  "subscription_id?": type("string").describe(`only backfills of this subscription: ${SUBSCRIPTION_ID}`),
  "limit?": Limit,
  "cursor?": Cursor,
  "+": "reject",
});
const SubscriptionParams = idParams(SUBSCRIPTION_ID);
const IdParams = idParams("the backfill's id (bkf_…)");

const BackfillBody = type({
  id: "string", subscription_id: "string", destination_id: "string", tenant: "string", since: "string", until: "string",
  status: type("'running' | 'completed' | 'failed' | 'cancelled'"),
  events_scanned: type("number").describe("the tenant's events in the window read so far"),
  deliveries_created: type("number").describe("deliveries made so far (events the destination had none of, matching the subscription)"),
  created_at: "string", updated_at: "string", finished_at: NullableTime, error: "string | null",
}).configure({ title: "Backfill" });
const BackfillList = type(page(BackfillBody.array())).configure({ title: "BackfillList" });
const tags = ["Backfills"];

export function presentBackfill(j: BackfillJob) {
  return {
    id: j.id, subscription_id: j.subscription_id, destination_id: j.destination_id, tenant: j.tenant, since: time(j.since),
    until: time(j.until), status: j.status, events_scanned: j.events_scanned, deliveries_created: j.deliveries_created,
    created_at: time(j.created_at), updated_at: time(j.updated_at), finished_at: iso(j.finished_at), error: j.error,
  };
}

export function backfillRoutes(ctx: HttpContext) {
  const backfills = ctx.engine.backfills;
  return new Elysia()
    .use(authenticated())
    .post(
      "/v1/subscriptions/:id/backfill",
      async ({ params, body, scope, principal, request, set }) => {
        // Both ends instants with a zone, as every time field: a bare date-time would be read in the server's zone.
        const since = parseTime(body.since, "since")!;
        const until = parseTime(body.until, "until");
        const job = await backfills.start(callerOf(principal, request), scope, params.id, until === undefined ? { since } : { since, until });
        set.status = 202;
        set.headers.location = `/v1/backfills/${job.id}`;
        return presentBackfill(job);
      },
      {
        params: SubscriptionParams,
        parse: "json",
        body: StartBody,
        response: { 202: BackfillBody, ...changeErrors },
        detail: {
          operationId: "startBackfill",
          summary: "Backfill a subscription: deliver the stored events it missed",
          description:
            "Creates, in the background, a delivery to the subscription's destination for every stored event created in [since, until) " +
            "that the subscription matches (its tenant, event-type patterns and payload filter) and that the destination has no delivery of yet, " +
            "in any state. Answers 202 with the job (and its URL in `location`); GET it for progress. Backfilling the same window again creates nothing twice. " +
            "A disabled destination's deliveries wait, pending, until it is enabled.",
          tags,
          security,
        },
      },
    )
    .get(
      "/v1/backfills",
      async ({ query, scope }) => {
        const page = await backfills.list(narrow(scope, query.tenant), {
          subscription_id: query.subscription_id, cursor: query.cursor, limit: query.limit ?? DEFAULT_LIMIT,
        });
        return { data: page.data.map(presentBackfill), next_cursor: page.next_cursor };
      },
      { query: ListQuery, response: { 200: BackfillList, ...errorResponses }, detail: { operationId: "listBackfills", summary: "List backfills, newest first", tags, security } },
    )
    .get("/v1/backfills/:id", async ({ params, scope }) => presentBackfill(await backfills.get(scope, params.id)), {
      params: IdParams,
      response: { 200: BackfillBody, ...errorResponses },
      detail: { operationId: "getBackfill", summary: "Get a backfill and its progress", tags, security },
    })
    .post("/v1/backfills/:id/cancel", async ({ params, scope, principal, request }) => presentBackfill(await backfills.cancel(callerOf(principal, request), scope, params.id)), {
      params: IdParams,
      response: { 200: BackfillBody, ...changeErrors },
      detail: {
        operationId: "cancelBackfill",
        summary: "Cancel a running backfill",
        description: "Stops it after the chunk under way; the deliveries it created stay. A finished backfill is a 409.",
        tags,
        security,
      },
    });
}
