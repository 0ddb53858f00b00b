// What every route module is given: the engine, the authenticator and the
// config, plus the small request helpers they share (auth, the caller's scope, times).
import { Elysia } from "elysia";
import { type } from "arktype";
import type { Config } from "../config/schema.ts";
import type { Engine } from "../engine/engine.ts";
import { forbidden, invalid } from "../engine/problem.ts";
import { narrow, type Scope } from "../engine/scope.ts";
import type { Authenticator, Principal } from "./auth.ts";
import { ApiError } from "./errors.ts";
import { ErrorBody } from "./schemas.ts";

export interface HttpContext {
  engine: Engine;
  auth: Authenticator;
  config: Config;
  /** False while starting or draining: /readyz answers 503. */
  isReady: () => boolean;
}

const unauthorized = () => new ApiError(401, "unauthorized", "a valid bearer token is required (Authorization: Bearer <token>)");

/** Paths anyone may read: probes, metrics, the API document, Swagger UI and the console. */
export function isPublicPath(path: string): boolean {
  return (
    path === "/" || path === "/healthz" || path === "/readyz" || path === "/metrics" || path === "/openapi.json" ||
    path === "/docs" || path.startsWith("/docs/") || path === "/ui" || path.startsWith("/ui/")
  );
}

// The principal found for each request, from the server's first hook to the route.
const principals = new WeakMap<Request, Principal>();

/**
 * Authentication from the headers alone, in the server's first hook: a request to
 * a protected path without a valid token is refused (the 401 returned) before its
 * body is read, parsed or validated (DESIGN §4). Otherwise the principal is kept
 * for `authenticated` to hand to the route.
 */
export function authenticateRequest(auth: Authenticator, request: Request, path: string): ApiError | null {
  if (isPublicPath(path)) return null;
  const principal = auth.authenticate(request.headers.get("authorization"));
  if (!principal) return unauthorized();
  principals.set(request, principal);
  return null;
}

/** Adds `principal` (found by `authenticateRequest`) and its `scope` (what the engine's reads take) to every route after it. */
export function authenticated(auth: Authenticator) {
  return new Elysia().resolve({ as: "scoped" }, ({ request, headers }) => {
    // Every route using this is behind authenticateRequest; checking again keeps a
    // route safe even if it were ever mounted where that hook does not run.
    const principal = principals.get(request) ?? auth.authenticate(headers.authorization);
    if (!principal) throw unauthorized();
    return { principal, scope: scopeOf(principal) };
  });
}

/** The tenants a token may see and change: an admin's every tenant, a tenant token's own. */
export function scopeOf(principal: Principal): Scope {
  return { tenant: principal.tenant };
}

/** Roles are the token's, not the engine's: checked here, answered as the engine's forbidden. */
export function requireAdmin(principal: Principal, action: string): void {
  if (principal.role !== "admin") throw forbidden(`only an admin token may ${action}`);
}

/**
 * What newest-first lists (events, deliveries) share: the scope narrowed to a
 * named tenant (first, so a tenant token naming another is a 403 whatever else
 * is wrong), the time window, cursor and limit.
 */
export function timeWindowPage(scope: Scope, query: { tenant?: string; since?: string; until?: string; cursor?: string; limit?: number }) {
  return {
    scope: narrow(scope, query.tenant),
    since: parseTime(query.since, "since"),
    until: parseTime(query.until, "until"),
    cursor: query.cursor,
    limit: query.limit ?? DEFAULT_LIMIT,
  };
}

export function parseTime(value: string | undefined, path: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalid(`${path} is not a valid ISO 8601 time`, [{ path, message: "must be an ISO 8601 time such as 2026-01-31T12:00:00Z" }]);
  return ms;
}

/** `limit` in list queries: 1 to 1000, default 100. */
export const Limit = type("string.integer.parse").to("1 <= number <= 1000");
export const DEFAULT_LIMIT = 100;

export const security = [{ bearer: [] as string[] }];

/** OpenAPI note for routes that answer 204 with no body. */
export const deleted = { 204: { description: "Deleted; no content" } };

/** The error answers every authenticated route may give. */
export const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody } as const;

/**
 * OpenAPI responses written straight into the document, for an answer Elysia
 * should not check at run time: it checks every answer against its `response`
 * schema, and for the 1,000 results of a batch publish that cost ~2 µs per
 * event (~6 % of batch ingest). The document reads as if they were `response`
 * schemas (the OpenAPI plugin drops these when a route also has `response`).
 */
export function documentedResponses(responses: Record<number, { toJsonSchema(): object }>) {
  return Object.fromEntries(
    Object.entries(responses).map(([status, schema]) => [
      status,
      { description: `Response for status ${status}`, content: { "application/json": { schema: schema.toJsonSchema() } } },
    ]),
  );
}
