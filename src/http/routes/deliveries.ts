// /v1/deliveries: list by status, destination, event type, tenant and time;
// read one with its attempts; retry one now with the same webhook-id, or many
// failed ones at once (by ids or by filter).
import { Elysia } from "elysia";
import { type } from "arktype";
import { AttemptBody, DeliveryBody, DeliveryList } from "../schemas.ts";
import { MAX_BULK_RETRY } from "../../engine/engine.ts";
import { narrow } from "../../engine/scope.ts";
import { authenticated, errorResponses, Limit, parseTime, security, timeWindowPage, type HttpContext } from "../context.ts";
import { callerOf } from "../caller.ts";
import { presentAttempt, presentDelivery } from "../present.ts";

const ListQuery = type({
  "status?": "'pending' | 'delivering' | 'succeeded' | 'failed' | 'cancelled'",
  "destination?": "string",
  "destination_id?": "string",
  "event_id?": "string",
  "event_type?": "string",
  "tenant?": "string",
  "since?": "string",
  "until?": "string",
  "limit?": Limit,
  "cursor?": "string",
  "+": "reject",
});

const BulkRetryBody = type({ ids: type("string <= 200").array().atLeastLength(1).atMostLength(MAX_BULK_RETRY), "+": "reject" }).or({
  filter: type({
    status: "'failed'",
    "destination_id?": "string",
    "event_type?": "string",
    "tenant?": "string",
    "since?": "string",
    "until?": "string",
    "+": "reject",
  }),
  "+": "reject",
});

export function deliveryRoutes(ctx: HttpContext) {
  return new Elysia({ prefix: "/v1/deliveries" })
    .use(authenticated())
    .get(
      "",
      async ({ query, scope }) => {
        const { scope: within, ...window } = timeWindowPage(scope, query);
        const page = await ctx.engine.reads.listDeliveries(within, {
          status: query.status,
          destination_id: query.destination_id ?? query.destination,
          event_id: query.event_id,
          event_type: query.event_type,
          ...window,
        });
        return { data: page.data.map(presentDelivery), next_cursor: page.next_cursor };
      },
      { query: ListQuery, response: { 200: DeliveryList, ...errorResponses }, detail: { summary: "List deliveries, newest first", tags: ["Deliveries"], security } },
    )
    .get(
      "/:id",
      async ({ params, scope }) => {
        const { delivery, attempts } = await ctx.engine.reads.getDelivery(scope, params.id);
        return { ...presentDelivery(delivery), attempts: attempts.map(presentAttempt) };
      },
      {
        params: type({ id: "string" }),
        response: { 200: DeliveryBody.and({ attempts: AttemptBody.array() }), ...errorResponses },
        detail: { summary: "Get a delivery with its attempts", tags: ["Deliveries"], security },
      },
    )
    .post(
      "/retry",
      async ({ body, scope, principal, request }) => {
        const by = callerOf(principal, request);
        if ("ids" in body) return ctx.engine.retryMany(by, scope, { ids: body.ids });
        const f = body.filter;
        const within = narrow(scope, f.tenant);
        return ctx.engine.retryMany(by, within, {
          filter: { destination_id: f.destination_id, event_type: f.event_type, since: parseTime(f.since, "filter.since"), until: parseTime(f.until, "filter.until") },
        });
      },
      {
        parse: "json",
        body: BulkRetryBody,
        response: { 200: type({ queued: "number", skipped: "number" }), ...errorResponses },
        detail: {
          summary: "Retry many failed deliveries at once",
          description: `Either \`ids\` (at most ${MAX_BULK_RETRY}) or a \`filter\` (status "failed"; every match within the token's tenants). Each failed one goes back to pending, due now, with a fresh schedule and the same webhook-id. \`queued\`: how many; \`skipped\`: ids that were not failed, unknown, or another tenant's.`,
          tags: ["Deliveries"],
          security,
        },
      },
    )
    .post(
      "/:id/retry",
      async ({ params, scope, principal, request, set }) => {
        // Scoped, checked and leased in one step: the row is read once.
        const delivery = await ctx.engine.retry(callerOf(principal, request), scope, params.id);
        set.status = 202;
        return presentDelivery(delivery);
      },
      {
        params: type({ id: "string" }),
        response: { 202: DeliveryBody, ...errorResponses },
        detail: { summary: "Attempt a delivery again now (same webhook-id, fresh schedule)", tags: ["Deliveries"], security },
      },
    );
}
