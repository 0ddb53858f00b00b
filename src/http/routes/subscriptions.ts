// /v1/subscriptions: link destinations to event-type patterns, with an optional payload filter.
import { Elysia } from "elysia";
import { type } from "arktype";
import { EventTypePattern, Id } from "../../config/fields.ts";
import { narrow, type Scope } from "../../engine/scope.ts";
import { authenticated, changeErrors, DEFAULT_LIMIT, errorResponses, Limit, NoContent, security, type HttpContext } from "../context.ts";
import { Cursor, DESTINATION_ID, idParams, SUBSCRIPTION_ID, TenantFilter } from "../parameters.ts";
import { callerOf } from "../caller.ts";
import { presentSubscription } from "../present.ts";
import { ErrorBody, SubscriptionBody, SubscriptionList } from "../schemas.ts";

const Filter = type("object").describe("a payload filter: dotted paths into {type, tenant, data} with $eq $ne $gt $gte $lt $lte $in $nin $exists $startsWith $and $or $not");
const EXAMPLE_FILTER = { "data.total": { $gte: 100 }, "data.currency": { $in: ["EUR", "USD"] } };
const CreateBody = type({
  "id?": Id,
  destination_id: type("string").describe(DESTINATION_ID),
  event_types: EventTypePattern.array().atLeastLength(1),
  "filter?": Filter.or("null"),
  "enabled?": "boolean",
  "description?": "string <= 1000",
  "+": "reject",
}).configure({
  title: "SubscriptionInput",
  examples: [{ id: "crm-orders", destination_id: "crm", event_types: ["order.*"], filter: EXAMPLE_FILTER, description: "Large orders to the CRM" }],
});
const PatchBody = type({
  "event_types?": EventTypePattern.array().atLeastLength(1),
  "filter?": Filter.or("null"),
  "enabled?": "boolean",
  "description?": "string <= 1000",
  "+": "reject",
}).configure({ title: "SubscriptionChanges", examples: [{ event_types: ["order.*", "refund.created"], filter: null }] });
const CheckFilterBody = type({ filter: Filter.or("null"), "+": "reject" }).configure({ title: "FilterCheck", examples: [{ filter: EXAMPLE_FILTER }] });
const FilterOk = type({ ok: "true" }).configure({ title: "FilterOk" });
const ListQuery = type({
  "tenant?": TenantFilter,
  "destination_id?": type("string").describe(`only subscriptions to this destination: ${DESTINATION_ID}`),
  "limit?": Limit,
  "cursor?": Cursor,
  "+": "reject",
});
const IdParams = idParams(SUBSCRIPTION_ID);
const tags = ["Subscriptions"];

export function subscriptionRoutes(ctx: HttpContext) {
  const service = ctx.engine.subscriptions;
  /** A subscription the token may see; another tenant's is a 404, as if it did not exist. */
  const visible = (scope: Scope, id: string) => ctx.engine.reads.getSubscription(scope, id);

  return new Elysia({ prefix: "/v1/subscriptions" })
    .use(authenticated())
    .get(
      "",
      async ({ query, scope }) => {
        const page = await ctx.engine.reads.listSubscriptions(narrow(scope, query.tenant), {
          destination_id: query.destination_id, cursor: query.cursor, limit: query.limit ?? DEFAULT_LIMIT,
        });
        return { data: page.data.map(presentSubscription), next_cursor: page.next_cursor };
      },
      { query: ListQuery, response: { 200: SubscriptionList, ...errorResponses }, detail: { operationId: "listSubscriptions", summary: "List subscriptions", tags, security } },
    )
    .post(
      "",
      async ({ body, scope, principal, request, set }) => {
        // Another tenant's destination reads as missing, like everywhere else.
        await ctx.engine.reads.getDestination(scope, body.destination_id);
        set.status = 201;
        return presentSubscription(await service.create(callerOf(principal, request), { ...body, filter: body.filter ?? null }));
      },
      { parse: "json", body: CreateBody, response: { 201: SubscriptionBody, ...changeErrors }, detail: { operationId: "createSubscription", summary: "Create a subscription", tags, security } },
    )
    // Registered before "/:id" routes, so "check-filter" is never read as an id.
    .post(
      "/check-filter",
      ({ body }) => {
        service.checkFilter(body.filter);
        return { ok: true as const };
      },
      {
        parse: "json",
        body: CheckFilterBody,
        response: { 200: FilterOk, ...errorResponses, 413: ErrorBody },
        detail: {
          operationId: "checkSubscriptionFilter",
          summary: "Check a payload filter without saving it",
          description: "Runs the validation a create or change runs: 200 {ok: true}, or the 400 with details naming each problem's path.",
          tags,
          security,
        },
      },
    )
    .get("/:id", async ({ params, scope }) => presentSubscription(await visible(scope, params.id)), {
      params: IdParams,
      response: { 200: SubscriptionBody, ...errorResponses },
      detail: { operationId: "getSubscription", summary: "Get a subscription", tags, security },
    })
    .patch(
      "/:id",
      async ({ params, body, scope, principal, request }) => {
        await visible(scope, params.id);
        return presentSubscription(await service.update(callerOf(principal, request), params.id, body));
      },
      { params: IdParams, parse: "json", body: PatchBody, response: { 200: SubscriptionBody, ...changeErrors }, detail: { operationId: "updateSubscription", summary: "Change a subscription", tags, security } },
    )
    .delete(
      "/:id",
      async ({ params, scope, principal, request, set }) => {
        await visible(scope, params.id);
        await service.remove(callerOf(principal, request), params.id);
        set.status = 204;
        return null;
      },
      { params: IdParams, response: { 204: NoContent, ...changeErrors }, detail: { operationId: "deleteSubscription", summary: "Delete a subscription", tags, security } },
    );
}
