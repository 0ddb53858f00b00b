// /v1/subscriptions: link destinations to event-type patterns, with an optional payload filter.
import { Elysia } from "elysia";
import { type } from "arktype";
import { EventTypePattern, Id } from "../../config/fields.ts";
import type { Principal } from "../auth.ts";
import { deleted, authenticated, DEFAULT_LIMIT, errorResponses, Limit, scopeTenant, security, visibleTo, type HttpContext } from "../context.ts";
import { notFound } from "../errors.ts";
import { presentSubscription } from "../present.ts";
import { SubscriptionBody, SubscriptionList } from "../schemas.ts";

const Filter = type("object").describe("a payload filter: dotted paths into {type, tenant, data} with $eq $ne $gt $gte $lt $lte $in $nin $exists $startsWith $and $or $not");
const CreateBody = type({
  "id?": Id,
  destination_id: "string",
  event_types: EventTypePattern.array().atLeastLength(1),
  "filter?": Filter.or("null"),
  "enabled?": "boolean",
  "description?": "string <= 1000",
  "+": "reject",
});
const PatchBody = type({
  "event_types?": EventTypePattern.array().atLeastLength(1),
  "filter?": Filter.or("null"),
  "enabled?": "boolean",
  "description?": "string <= 1000",
  "+": "reject",
});
const ListQuery = type({ "tenant?": "string", "destination_id?": "string", "limit?": Limit, "cursor?": "string", "+": "reject" });
const IdParams = type({ id: "string" });
const tags = ["Subscriptions"];

export function subscriptionRoutes(ctx: HttpContext) {
  const service = ctx.engine.subscriptions;
  const visible = (id: string, principal: Principal) => {
    const subscription = ctx.engine.store.getSubscription(id);
    if (!subscription || !visibleTo(principal, subscription.tenant)) throw notFound("subscription", id);
    return subscription;
  };

  return new Elysia({ prefix: "/v1/subscriptions" })
    .use(authenticated(ctx.auth))
    .get(
      "",
      ({ query, principal }) => {
        const page = ctx.engine.store.listSubscriptions({
          tenant: scopeTenant(principal, query.tenant), destination_id: query.destination_id, cursor: query.cursor, limit: query.limit ?? DEFAULT_LIMIT,
        });
        return { data: page.data.map(presentSubscription), next_cursor: page.next_cursor };
      },
      { query: ListQuery, response: { 200: SubscriptionList, ...errorResponses }, detail: { summary: "List subscriptions", tags, security } },
    )
    .post(
      "",
      ({ body, principal, set }) => {
        const destination = ctx.engine.store.getDestination(body.destination_id);
        // Another tenant's destination reads as missing, like everywhere else.
        if (!destination || !visibleTo(principal, destination.tenant)) {
          throw notFound("destination", body.destination_id);
        }
        set.status = 201;
        return presentSubscription(service.create({ ...body, filter: body.filter ?? null }));
      },
      { parse: "json", body: CreateBody, response: { 201: SubscriptionBody, ...errorResponses }, detail: { summary: "Create a subscription", tags, security } },
    )
    .get("/:id", ({ params, principal }) => presentSubscription(visible(params.id, principal)), {
      params: IdParams,
      response: { 200: SubscriptionBody, ...errorResponses },
      detail: { summary: "Get a subscription", tags, security },
    })
    .patch(
      "/:id",
      ({ params, body, principal }) => {
        visible(params.id, principal);
        return presentSubscription(service.update(params.id, body));
      },
      { params: IdParams, parse: "json", body: PatchBody, response: { 200: SubscriptionBody, ...errorResponses }, detail: { summary: "Change a subscription", tags, security } },
    )
    .delete(
      "/:id",
      ({ params, principal, set }) => {
        visible(params.id, principal);
        service.remove(params.id);
        set.status = 204;
        return null;
      },
      { params: IdParams, response: errorResponses, detail: { responses: deleted, summary: "Delete a subscription", tags, security } },
    );
}
