// The Elysia application: routes, the OpenAPI document and Swagger UI, and the
// one error handler that turns anything thrown into DESIGN §4's error shape.
import { Elysia } from "elysia";
import "../arktype-settings.ts";
import { admitRequest, clientAddress, type HttpContext } from "./context.ts";
import { AuthFailureLimiter } from "./auth-failures.ts";
import { ApiError, errorBody, validationDetails } from "./errors.ts";
import { checkJsonLimits, describeBreach, type JsonLimits } from "./json-limits.ts";
import { withCheapSerialization } from "./validation-error-cost.ts";
import { deliveryRoutes } from "./routes/deliveries.ts";
import { destinationRoutes } from "./routes/destinations.ts";
import { eventTypeRoutes } from "./routes/event-types.ts";
import { statsRoutes } from "./routes/stats.ts";
import { apiKeyRoutes } from "./routes/api-keys.ts";
import { portalLinkRoutes } from "./routes/portal-links.ts";
import { uiRoutes } from "./routes/ui.ts";
import { subscriptionRoutes } from "./routes/subscriptions.ts";
import { backfillRoutes } from "./routes/backfills.ts";
import { auditRoutes } from "./routes/audit.ts";
import { eventRoutes } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { meRoutes } from "./routes/me.ts";
import { edgeHeaders } from "./security-headers.ts";
import { assignRequestId, requestIdOf } from "./request-id.ts";
import { routeOf } from "./request-metrics.ts";
import { swaggerAssetRoutes } from "./swagger-assets.ts";
import { openApiDocument } from "./openapi-document.ts";
import { errorMessage } from "../engine/deps.ts";
import { asStorageProblem, Problem, type ProblemKind } from "../engine/problem.ts";

/** DESIGN §4's status for each kind of the engine's problems. */
const PROBLEM_STATUS: Record<ProblemKind, number> = { invalid: 400, forbidden: 403, not_found: 404, conflict: 409, unavailable: 503 };

/** The methods that do have a route for this path: a wrong method is a 405, not a 404. */
function methodsFor(routes: { method: string; path: string }[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) {
    const pattern = new RegExp("^" + route.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+").replace(/\*/g, ".*") + "/?$");
    if (pattern.test(path) && route.method !== "ALL") methods.add(route.method);
  }
  return [...methods].sort();
}

const tooLarge = (maxBody: number) =>
  new ApiError(413, "payload_too_large", `the request body is larger than server.max_body (${maxBody} bytes)`);

const kindOf = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`);

/**
 * The body's bytes, at most `maxBody` of them. A declared Content-Length was
 * checked in onRequest, so such a body is read whole; a chunked one carries no
 * length and is read as it comes, refused as soon as it passes the bound.
 */
async function readBody(request: Request, maxBody: number): Promise<Uint8Array> {
  if (request.headers.has("content-length") || !request.body) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    if (bytes.byteLength > maxBody) throw tooLarge(maxBody);
    return bytes;
  }
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBody) {
      await reader.cancel().catch(() => {});
      throw tooLarge(maxBody);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * Bodies from this size on are made cheap for Elysia's error message to
 * serialize (validation-error-cost.ts). Smaller ones are left alone: changing an
 * object's prototype slows every later read of it, and a body under 4 KiB costs
 * at most a few milliseconds to serialize however many bad keys it holds.
 */
const CHEAP_SERIALIZATION_FROM = 4 * 1024;

/** The parsed body, once it is known to be an object within the configured bounds. */
function boundedObject(value: unknown, limits: JsonLimits, byteLength: number): object {
  // Every route's body is an object: anything else is refused here rather than
  // left to routes whose fields are all optional (where `[]` would pass as `{}`).
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError(400, "invalid_request", `the request body must be a JSON object, not ${kindOf(value)}`, [{ path: "", message: "must be an object" }]);
  }
  const breach = checkJsonLimits(value, limits);
  if (breach) throw new ApiError(400, "body_too_complex", describeBreach(breach), [{ path: breach.path, message: `exceeds ${breach.setting} (${breach.limit})` }]);
  return byteLength >= CHEAP_SERIALIZATION_FROM ? withCheapSerialization(value) : value;
}

export function createHttpApp(ctx: HttpContext) {
  const { max_body: maxBody, max_depth, max_keys, max_array, max_string } = ctx.config.server;
  const limits: JsonLimits = { maxDepth: max_depth, maxKeys: max_keys, maxArray: max_array, maxString: max_string };
  const edge = edgeHeaders(ctx.config.server);
  const info = {
    title: "Herald",
    description: "Self-hosted webhook dispatcher: publish events, manage destinations and subscriptions, read every delivery and attempt.",
  };
  const limiter = new AuthFailureLimiter(ctx.config.server.auth_failures_per_minute, ctx.engine.deps.now);
  const log = ctx.engine.deps.log;
  const app = new Elysia()
    // Around everything, whatever answers (a route, onError, an early 401 from
    // onRequest): the request's id first, then its figures and its debug line
    // once the answer is known.
    .wrap((handle) => (request: Request, ...rest: unknown[]) => {
      const started = performance.now();
      const id = assignRequestId(request);
      const done = (response: Response) => {
        const seconds = (performance.now() - started) / 1000;
        const path = new URL(request.url).pathname;
        const route = routeOf(request.method, path);
        ctx.requests.observe(request.method, route, response.status, seconds);
        // The path's own segments are ids (never secrets); the query is left out (it may hold a cursor or filters).
        log.debug("request", { request_id: id, method: request.method, route, path, status: response.status, ms: Math.round(seconds * 1e4) / 10 });
        return response;
      };
      const answer = (handle as unknown as (request: Request, ...rest: unknown[]) => Response | Promise<Response>)(request, ...rest);
      return answer instanceof Promise ? answer.then(done) : done(answer);
    })
    .onRequest(async ({ request, set }) => {
      set.headers["x-request-id"] = requestIdOf(request);
      const path = new URL(request.url).pathname;
      // Security headers and CORS before anything can answer: Elysia adds what is
      // set here to every answer, the early 401, 429 and 413 below and onError's included.
      Object.assign(set.headers, edge.forRequest(request, path));
      // A preflight carries no token: an allowed origin's is answered before authentication.
      const preflight = edge.preflight(request);
      if (preflight) return preflight;
      // Authentication first, from the headers alone: before any size check, parse or validation.
      // The server from the app, not the hook's context: naming it there makes Elysia define a getter on every request's context.
      let known: string | undefined;
      const address = () => (known ??= clientAddress(request, app.server?.requestIP(request)?.address, ctx.config.server.trust_forwarded_for));
      const refused = await admitRequest(ctx, limiter, request, path, address, ctx.engine.deps.now());
      if (refused) return refused;
      const length = Number(request.headers.get("content-length") ?? 0);
      if (length > maxBody) return Response.json(tooLarge(maxBody).toJSON(), { status: 413 });
    })
    .onParse(async ({ request }) => {
      // Every body is JSON, whatever its content-type says; an empty body is an
      // empty object (routes whose fields are all optional take none).
      const bytes = await readBody(request, maxBody);
      if (bytes.byteLength === 0) return {};
      let value: unknown;
      try {
        // JSON.parse itself is iterative: 200,000 levels parse in milliseconds.
        value = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw new ApiError(400, "invalid_json", "the request body is not valid JSON");
      }
      return boundedObject(value, limits, bytes.byteLength);
    })
    .onError(({ code, error, request }) => {
      // Elysia wraps whatever onParse throws in a ParseError; ours say what was wrong.
      const cause = code === "PARSE" ? (error as Error).cause : undefined;
      if (cause instanceof ApiError) return Response.json(cause.toJSON(), { status: cause.status });
      if (error instanceof ApiError) return Response.json(error.toJSON(), { status: error.status });
      // The engine's refusals (and the routes' own, in the same model), and any
      // write the store could not make (503: the request may be repeated).
      const problem = error instanceof Problem ? error : asStorageProblem(error);
      if (problem) {
        if (problem.kind === "unavailable") ctx.engine.deps.log.error("a request could not be completed: the store cannot write", { method: request.method, path: new URL(request.url).pathname, error: errorMessage(error) });
        return Response.json(errorBody(problem.answerCode, problem.message, problem.details), { status: PROBLEM_STATUS[problem.kind] });
      }
      switch (code) {
        case "VALIDATION":
          return Response.json(errorBody("invalid_request", "the request is invalid", validationDetails(error)), { status: 400 });
        case "PARSE":
          return Response.json(errorBody("invalid_json", "the request body is not valid JSON"), { status: 400 });
        case "NOT_FOUND": {
          const path = new URL(request.url).pathname;
          const allowed = methodsFor(app.routes, path);
          if (allowed.length) {
            return Response.json(errorBody("method_not_allowed", `${request.method} is not allowed on ${path}; use ${allowed.join(", ")}`), {
              status: 405,
              headers: { allow: allowed.join(", ") },
            });
          }
          return Response.json(errorBody("not_found", `no route for ${request.method} ${path}`), { status: 404 });
        }
      }
      const status = (error as { status?: number }).status;
      if (status === 413) return Response.json(errorBody("payload_too_large", "the request body is too large"), { status: 413 });
      ctx.engine.deps.log.error("request failed", { method: request.method, path: new URL(request.url).pathname, error: errorMessage(error) });
      return Response.json(errorBody("internal_error", "Herald could not complete the request; see its log"), { status: 500 });
    })
    // Built by @elysiajs/openapi from every route's schemas, finished in openapi-document.ts.
    // (Its own page is not used: the plugin's starts Swagger UI from an inline script; /docs is swagger-assets.ts.)
    .get("/openapi.json", () => apiDocument(), { detail: { hide: true } })
    .use(swaggerAssetRoutes(info))
    .get("/", ({ redirect }) => redirect("/ui/"), { detail: { hide: true } })
    .use(uiRoutes())
    .use(healthRoutes(ctx))
    .use(eventRoutes(ctx))
    .use(deliveryRoutes(ctx))
    .use(destinationRoutes(ctx))
    .use(subscriptionRoutes(ctx))
    .use(backfillRoutes(ctx))
    .use(eventTypeRoutes(ctx))
    .use(auditRoutes(ctx))
    .use(statsRoutes(ctx))
    .use(apiKeyRoutes(ctx))
    .use(portalLinkRoutes(ctx))
    .use(meRoutes(ctx));
  const apiDocument = openApiDocument(app, info);
  return app;
}
