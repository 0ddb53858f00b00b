// /v1/deliveries: list by status, destination, event type, tenant and time;
// read one with its attempts; retry one now with the same webhook-id.
import { Elysia } from "elysia";
import { type } from "arktype";
import { AttemptBody, DeliveryBody, DeliveryList } from "../schemas.ts";
import { authenticated, errorResponses, Limit, security, timeWindowPage, type HttpContext } from "../context.ts";
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

export function deliveryRoutes(ctx: HttpContext) {
  return new Elysia({ prefix: "/v1/deliveries" })
    .use(authenticated(ctx.auth))
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
