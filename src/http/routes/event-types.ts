// /v1/event-types: the catalogue consumers browse. Anyone may read it (a
// tenant's caller the types shared by every tenant and those limited to its
// own); only admin tokens change it.
import { Elysia } from "elysia";
import { type } from "arktype";
import { JsonSchemaOrNull, OwnEventTypeName, Tenant } from "../../config/fields.ts";
import { deleted, authenticated, errorResponses, requireAdmin, security, type HttpContext } from "../context.ts";
import { callerOf } from "../caller.ts";
import { presentEventType } from "../present.ts";
import { EventTypeBody, EventTypeList } from "../schemas.ts";

const Tenants = Tenant.array().or("null").describe("the tenants that may see, publish and receive it (each named once, at least one); null or absent: every tenant");
const CreateBody = type({ name: OwnEventTypeName, "description?": "string <= 2000", "schema?": JsonSchemaOrNull, "example?": "unknown", "tenants?": Tenants, "+": "reject" });
const PatchBody = type({ "description?": "string <= 2000", "schema?": JsonSchemaOrNull, "example?": "unknown", "tenants?": Tenants, "+": "reject" });
const NameParams = type({ name: "string" });
const tags = ["Event types"];

export function eventTypeRoutes(ctx: HttpContext) {
  const service = ctx.engine.eventTypes;
  return new Elysia({ prefix: "/v1/event-types" })
    .use(authenticated())
    .get("", async ({ scope }) => ({ data: (await ctx.engine.reads.listEventTypes(scope)).map((t) => presentEventType(t, scope)), next_cursor: null }), {
      response: { 200: EventTypeList, ...errorResponses },
      detail: { summary: "List the event-type catalogue", tags, security },
    })
    .post(
      "",
      async ({ body, principal, request, scope, set }) => {
        requireAdmin(principal, "change event types");
        set.status = 201;
        return presentEventType(await service.create(callerOf(principal, request), body), scope);
      },
      { parse: "json", body: CreateBody, response: { 201: EventTypeBody, ...errorResponses }, detail: { summary: "Create an event type", tags, security } },
    )
    .get("/:name", async ({ params, scope }) => presentEventType(await ctx.engine.reads.getEventType(scope, params.name), scope), {
      params: NameParams,
      response: { 200: EventTypeBody, ...errorResponses },
      detail: { summary: "Get an event type", tags, security },
    })
    .patch(
      "/:name",
      async ({ params, body, principal, request, scope }) => {
        requireAdmin(principal, "change event types");
        return presentEventType(await service.update(callerOf(principal, request), params.name, body), scope);
      },
      { params: NameParams, parse: "json", body: PatchBody, response: { 200: EventTypeBody, ...errorResponses }, detail: { summary: "Change an event type", tags, security } },
    )
    .delete(
      "/:name",
      async ({ params, principal, request, set }) => {
        requireAdmin(principal, "change event types");
        await service.remove(callerOf(principal, request), params.name);
        set.status = 204;
        return null;
      },
      { params: NameParams, response: errorResponses, detail: { responses: deleted, summary: "Delete an event type (published events keep it)", tags, security } },
    );
}
