// /v1/me: who the presented token is (name, role, tenant), so the console offers
// only what the API will allow that token. Nothing secret: the caller's own role.
import { Elysia } from "elysia";
import { type } from "arktype";
import { authenticated, errorResponses, security, type HttpContext } from "../context.ts";

export const MeBody = type({
  name: "string",
  role: "'admin' | 'tenant' | 'publisher' | 'reader'",
  tenant: type("string | null").describe("set when everything the token sees and does is limited to one tenant"),
  event_types: type("string[] | null").describe("a publisher's event-type patterns; null: any type"),
}).configure({ title: "Caller" });

export function meRoutes(ctx: HttpContext) {
  return new Elysia({ prefix: "/v1/me" }).use(authenticated()).get(
    "",
    ({ principal }) => ({ name: principal.name, role: principal.role, tenant: principal.tenant, event_types: principal.event_types ? [...principal.event_types] : null }),
    { response: { 200: MeBody, ...errorResponses }, detail: { operationId: "getMe", summary: "The presented token's name, role and tenant", tags: ["Access"], security } },
  );
}
