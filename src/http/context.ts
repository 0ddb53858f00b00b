// What every route module is given: the engine, the authenticator and the
// config, plus the small request helpers they share (auth, the caller's scope, times).
import { Elysia } from "elysia";
import { type } from "arktype";
import type { Config } from "../config/schema.ts";
import type { Engine } from "../engine/engine.ts";
import { forbidden, invalid } from "../engine/problem.ts";
import { narrow, type Scope } from "../engine/scope.ts";
import { refusal } from "./access.ts";
import type { Authenticator, Principal } from "./auth.ts";
import { addressKey, type AuthFailureLimiter } from "./auth-failures.ts";
import { ApiError, errorBody } from "./errors.ts";
import { ErrorBody } from "./schemas.ts";
import { parseInstant } from "../rules/instant.ts";
import type { RequestMetrics } from "./request-metrics.ts";

export interface HttpContext {
  engine: Engine;
  auth: Authenticator;
  config: Config;
  /** False while starting or draining: /readyz answers 503. */
  isReady: () => boolean;
  /** HTTP requests by route and status, and their durations (request-metrics.ts): filled by the server, shown by /metrics. */
  requests: RequestMetrics;
}

// One answer for no token, an unknown one, a revoked key and an expired key alike:
// a client learns nothing about which tokens exist.
const unauthorized = () => new ApiError(401, "unauthorized", "a valid bearer token is required (Authorization: Bearer <token>)");

/**
 * Paths anyone may read: probes, the API document, Swagger UI and the console;
 * /metrics too when `metrics.public` is set (a scraper on a private network).
 */
export function isPublicPath(path: string, metricsPublic = false): boolean {
  return (
    path === "/" || path === "/healthz" || path === "/readyz" || (metricsPublic && path === "/metrics") || path === "/openapi.json" ||
    path === "/docs" || path.startsWith("/docs/") || path === "/ui" || path.startsWith("/ui/")
  );
}

// The principal found for each request, from the server's first hook to the route.
const principals = new WeakMap<Request, Principal>();

/** The address a request came from: the socket's, or the last X-Forwarded-For entry when the config trusts the proxy in front. */
export function clientAddress(request: Request, socketAddress: string | undefined, trustForwardedFor: boolean): string {
  if (trustForwardedFor) {
    const last = request.headers.get("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (last) return addressKey(last);
  }
  return socketAddress ? addressKey(socketAddress) : "unknown";
}

/**
 * The server's first hook, from the headers alone, before any body is read,
 * parsed or validated (DESIGN §4): an address past its failed authentications
 * is a 429 before its token is looked at; no valid token is a 401 (a wrong
 * one counted against the address); a role the access table does not allow on this route
 * is a 403. Otherwise the principal is kept for `authenticated` to hand to the
 * route, and null is returned.
 */
export async function admitRequest(
  ctx: Pick<HttpContext, "auth" | "config">,
  limiter: AuthFailureLimiter,
  request: Request,
  path: string,
  /** The client's address, worked out on the first call and the same after (server.ts). */
  address: () => string,
  now: number,
): Promise<Response | null> {
  if (isPublicPath(path, ctx.config.metrics.public)) return null;
  // The address is asked for only when there is something to look up or count:
  // the socket's address costs ~2 µs a request (bench/README.md, 5 Dec 2026, 10:00 UTC).
  const wait = limiter.empty ? null : limiter.retryAfter(address());
  if (wait !== null) {
    return Response.json(errorBody("too_many_auth_failures", `too many failed authentications from this address; try again in ${wait} s`), {
      status: 429,
      headers: { "retry-after": String(wait) },
    });
  }
  const header = request.headers.get("authorization");
  // Taken before a store read's wait: a client that hangs up meanwhile has no address any more.
  const principal = await ctx.auth.authenticate(header, now, address);
  if (!principal) {
    // Only a presented credential counts as a failed try: a request with none
    // (a browser asking for /favicon.ico, a probe) guesses nothing.
    if (header !== null) limiter.fail(address());
    const error = unauthorized();
    return Response.json(error.toJSON(), { status: error.status });
  }
  const refused = refusal(principal, request.method, path);
  if (refused) return Response.json(errorBody("forbidden", refused), { status: 403 });
  principals.set(request, principal);
  return null;
}

/** Adds `principal` (found by `admitRequest`) and its `scope` (what the engine's reads take) to every route after it. */
export function authenticated() {
  return new Elysia().resolve({ as: "scoped" }, ({ request }) => {
    // Every route using this is behind admitRequest, which authenticated the
    // request and checked its role; a route ever mounted where that hook does not
    // run finds no principal and refuses, rather than skipping the role check.
    const principal = principals.get(request);
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

/** What every time field the API reads is told when it is not a strict instant (parseInstant). */
export const TIME_RULE = "must be an ISO 8601 time with a time zone, such as 2026-01-31T12:00:00Z";

/**
 * A time field (a query's filter, a window's end, a key's expiry): strict, like
 * deliver_at: Date.parse reads "1" as the year 2001 and a time without a zone in
 * the server's zone, so a filter could silently mean another window. Undefined
 * stays undefined; a bad value is a 400 naming the field at `path`.
 */
export function parseTime(value: string | undefined, path: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = parseInstant(value);
  if (ms === null) throw invalid(`${path} is not a valid ISO 8601 time`, [{ path, message: TIME_RULE }]);
  return ms;
}

/** A stats window from a query's `since` and `until`: by default the last 24 hours, now included. */
export function statsWindow(query: { since?: string; until?: string }, now: number): { since: number; until: number } {
  return { since: parseTime(query.since, "since") ?? now - 86_400_000, until: parseTime(query.until, "until") ?? now + 1 };
}

/** `limit` in list queries: 1 to 1000, default 100. */
export const Limit = type("string.integer.parse").to("1 <= number.integer <= 1000").describe("how many to answer, 1 to 1000 (default 100)");
export const DEFAULT_LIMIT = 100;

export const security = [{ bearer: [] as string[] }];

/** The answer of a route that answers 204 with no body (a delete). */
export const NoContent = type("null").describe("Done; no content");

/**
 * The error answers every authenticated route may give: 400 invalid input, 401
 * no valid token, 403 outside the token's role or tenant, 404 not found, 429 too
 * many failed authentications from the address, 503 a store that cannot answer.
 */
export const errorResponses = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody } as const;

/** …and those of a route that takes a body and changes something: 409 a conflict (a duplicate id, a resource the config owns), 413 a body over server.max_body. */
export const changeErrors = { ...errorResponses, 409: ErrorBody, 413: ErrorBody } as const;

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
