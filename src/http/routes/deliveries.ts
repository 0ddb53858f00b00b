// /v1/deliveries: list by status, destination, event type, tenant and time;
// read one with its attempts; retry one now with the same webhook-id, or many
// failed ones at once (by ids or by filter).
import { Elysia } from "elysia";
import { type } from "arktype";
import { AttemptBody, DeliveryBody, DeliveryList, EXAMPLE_DELIVERY, StatusName } from "../schemas.ts";
import { MAX_BULK_RETRY } from "../../engine/engine.ts";
import { narrow } from "../../engine/scope.ts";
import { authenticated, changeErrors, errorResponses, Limit, parseTime, security, timeWindowPage, type HttpContext } from "../context.ts";
import { Cursor, DELIVERY_ID, DESTINATION_ID, EVENT_ID, idParams, Since, TenantFilter, Until } from "../parameters.ts";
import { callerOf } from "../caller.ts";
import { presentAttempt, presentDelivery } from "../present.ts";

const ListQuery = type({
  "status?": StatusName.describe("only deliveries in this state"),
  "destination?": type("string").describe("the same as destination_id (an older name)"),
  "destination_id?": type("string").describe(`only deliveries to this destination: ${DESTINATION_ID}`),
  "event_id?": type("string").describe(`only the deliveries of this event: ${EVENT_ID}`),
  "event_type?": type("string").describe("only deliveries of events of this type"),
  "tenant?": TenantFilter,
  "since?": Since,
  "until?": Until,
  "limit?": Limit,
  "cursor?": Cursor,
  "+": "reject",
});
const IdParams = idParams(DELIVERY_ID);
const DeliveryWithAttempts = DeliveryBody.and({ attempts: AttemptBody.array().describe("every attempt, oldest first") }).configure({
  title: "DeliveryWithAttempts",
  examples: [{
    ...EXAMPLE_DELIVERY,
    attempts: [{
      id: "att_0197a3c2e4b27b3c9d0e1f2a3b4c5d6e", delivery_id: EXAMPLE_DELIVERY.id, number: 1, started_at: "2026-01-31T12:00:00.010Z", duration_ms: 170,
      request: { url: "https://crm.example.com/hooks/herald", headers: { "content-type": "application/json", "webhook-id": EXAMPLE_DELIVERY.event_id } },
      response: { status: 200, headers: { "content-type": "text/plain" }, body: "ok" },
      error: null,
    }],
  }],
});
const BulkRetried = type({
  queued: type("number").describe("how many failed deliveries went back to pending"),
  skipped: type("number").describe("ids that were not failed, unknown, or another tenant's"),
}).configure({ title: "BulkRetryResult" });

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
}).configure({
  title: "BulkRetry",
  examples: [{ filter: { status: "failed", destination_id: "crm", since: "2026-01-31T00:00:00Z" } }, { ids: ["dlv_0197a3c2e4b17a2b8c9d0e1f2a3b4c5d"] }],
}, "self"); // the union itself, not each branch: the document names one schema

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
      { query: ListQuery, response: { 200: DeliveryList, ...errorResponses }, detail: { operationId: "listDeliveries", summary: "List deliveries, newest first", tags: ["Deliveries"], security } },
    )
    .get(
      "/:id",
      async ({ params, scope }) => {
        const { delivery, attempts } = await ctx.engine.reads.getDelivery(scope, params.id);
        return { ...presentDelivery(delivery), attempts: attempts.map(presentAttempt) };
      },
      {
        params: IdParams,
        response: { 200: DeliveryWithAttempts, ...errorResponses },
        detail: { operationId: "getDelivery", summary: "Get a delivery with its attempts", tags: ["Deliveries"], security },
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
        response: { 200: BulkRetried, ...changeErrors },
        detail: {
          operationId: "retryDeliveries",
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
        params: IdParams,
        response: { 202: DeliveryBody, ...changeErrors },
        detail: { operationId: "retryDelivery", summary: "Attempt a delivery again now (same webhook-id, fresh schedule)", tags: ["Deliveries"], security },
      },
    );
}
