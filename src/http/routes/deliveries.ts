// /v1/deliveries: list by status, destination, event type, tenant and time;
// read one with its attempts; retry one now with the same webhook-id.
import { Elysia } from "elysia";
import { type } from "arktype";
import { AttemptBody, DeliveryBody, DeliveryList } from "../schemas.ts";
import { authenticated, errorResponses, Limit, security, timeWindowPage, visibleTo, type HttpContext } from "../context.ts";
import { conflict, notFound } from "../errors.ts";
import { presentAttempt, presentDelivery } from "../present.ts";
import type { Principal } from "../auth.ts";

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
  const visibleDelivery = (id: string, principal: Principal) => {
    const delivery = ctx.engine.store.getDelivery(id);
    if (!delivery || !visibleTo(principal, delivery.tenant)) throw notFound("delivery", id);
    return delivery;
  };
  return new Elysia({ prefix: "/v1/deliveries" })
    .use(authenticated(ctx.auth))
    .get(
      "",
      ({ query, principal }) => {
        const page = ctx.engine.store.listDeliveries({
          status: query.status,
          destination_id: query.destination_id ?? query.destination,
          event_id: query.event_id,
          event_type: query.event_type,
          ...timeWindowPage(principal, query),
        });
        return { data: page.data.map(presentDelivery), next_cursor: page.next_cursor };
      },
      { query: ListQuery, response: { 200: DeliveryList, ...errorResponses }, detail: { summary: "List deliveries, newest first", tags: ["Deliveries"], security } },
    )
    .get(
      "/:id",
      ({ params, principal }) => {
        const delivery = visibleDelivery(params.id, principal);
        return { ...presentDelivery(delivery), attempts: ctx.engine.store.attemptsOf(delivery.id).map(presentAttempt) };
      },
      {
        params: type({ id: "string" }),
        response: { 200: DeliveryBody.and({ attempts: AttemptBody.array() }), ...errorResponses },
        detail: { summary: "Get a delivery with its attempts", tags: ["Deliveries"], security },
      },
    )
    .post(
      "/:id/retry",
      ({ params, principal, set }) => {
        visibleDelivery(params.id, principal);
        const result = ctx.engine.retryNow(params.id);
        if (!result.ok) {
          if (result.error === "not_found") throw notFound("delivery", params.id);
          if (result.error === "cancelled") {
            throw conflict(`delivery ${params.id} was cancelled when its destination was deleted; it cannot be retried`, "delivery_cancelled");
          }
          throw conflict(`delivery ${params.id} is being sent right now; try again when this attempt ends`);
        }
        set.status = 202;
        return presentDelivery(ctx.engine.store.getDelivery(params.id)!);
      },
      {
        params: type({ id: "string" }),
        response: { 202: DeliveryBody, ...errorResponses },
        detail: { summary: "Attempt a delivery again now (same webhook-id, fresh schedule)", tags: ["Deliveries"], security },
      },
    );
}
