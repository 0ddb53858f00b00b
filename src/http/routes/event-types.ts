// /v1/event-types: the catalogue consumers browse. Anyone may read it (a
// tenant's caller the types shared by every tenant and those limited to its
// own); only admin tokens change it.
import { Elysia } from "elysia";
import { type } from "arktype";
import { EventTypeTenants, JsonSchemaOrNull, OwnEventTypeName } from "../../config/fields.ts";
import { authenticated, changeErrors, errorResponses, NoContent, requireAdmin, security, type HttpContext } from "../context.ts";
import { callerOf } from "../caller.ts";
import { presentEventType } from "../present.ts";
import { EventTypeBody, EventTypeList } from "../schemas.ts";

const EXAMPLE_SCHEMA = {
  type: "object",
  properties: { order_id: { type: "string" }, total: { type: "number" }, currency: { type: "string", enum: ["EUR", "USD"] } },
  required: ["order_id", "total"],
};
const Example = type("unknown").describe("an example payload, shown in the catalogue and sent by test sends");
const CreateBody = type({ name: OwnEventTypeName, "description?": "string <= 2000", "schema?": JsonSchemaOrNull, "example?": Example, "tenants?": EventTypeTenants, "+": "reject" }).configure({
  title: "EventTypeInput",
  examples: [{ name: "order.created", description: "An order was placed.", schema: EXAMPLE_SCHEMA, example: { order_id: "ord_1042", total: 129.5, currency: "EUR" } }],
});
const PatchBody = type({ "description?": "string <= 2000", "schema?": JsonSchemaOrNull, "example?": Example, "tenants?": EventTypeTenants, "+": "reject" }).configure({
  title: "EventTypeChanges",
  examples: [{ description: "An order was placed (web shop and point of sale)." }],
});
const NameParams = type({ name: type("string").describe("the event type's name, such as order.created") });
const tags = ["Event types"];

export function eventTypeRoutes(ctx: HttpContext) {
  const service = ctx.engine.eventTypes;
  return new Elysia({ prefix: "/v1/event-types" })
    .use(authenticated())
    .get("", async ({ scope }) => ({ data: (await ctx.engine.reads.listEventTypes(scope)).map((t) => presentEventType(t, scope)), next_cursor: null }), {
      response: { 200: EventTypeList, ...errorResponses },
      detail: { operationId: "listEventTypes", summary: "List the event-type catalogue", tags, security },
    })
    .post(
      "",
      async ({ body, principal, request, scope, set }) => {
        requireAdmin(principal, "change event types");
        set.status = 201;
        return presentEventType(await service.create(callerOf(principal, request), body), scope);
      },
      { parse: "json", body: CreateBody, response: { 201: EventTypeBody, ...changeErrors }, detail: { operationId: "createEventType", summary: "Create an event type", tags, security } },
    )
    .get("/:name", async ({ params, scope }) => presentEventType(await ctx.engine.reads.getEventType(scope, params.name), scope), {
      params: NameParams,
      response: { 200: EventTypeBody, ...errorResponses },
      detail: { operationId: "getEventType", summary: "Get an event type", tags, security },
    })
    .patch(
      "/:name",
      async ({ params, body, principal, request, scope }) => {
        requireAdmin(principal, "change event types");
        return presentEventType(await service.update(callerOf(principal, request), params.name, body), scope);
      },
      { params: NameParams, parse: "json", body: PatchBody, response: { 200: EventTypeBody, ...changeErrors }, detail: { operationId: "updateEventType", summary: "Change an event type", tags, security } },
    )
    .delete(
      "/:name",
      async ({ params, principal, request, set }) => {
        requireAdmin(principal, "change event types");
        await service.remove(callerOf(principal, request), params.name);
        set.status = 204;
        return null;
      },
      { params: NameParams, response: { 204: NoContent, ...changeErrors }, detail: { operationId: "deleteEventType", summary: "Delete an event type (published events keep it)", tags, security } },
    );
}
