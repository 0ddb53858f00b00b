// Liveness and readiness probes (no auth) and Prometheus metrics (a reader or
// admin token, unless metrics.public: the figures span every tenant).
import { Elysia } from "elysia";
import { security, type HttpContext } from "../context.ts";
import { errorBody } from "../errors.ts";
import { ErrorBody } from "../schemas.ts";
import { type } from "arktype";
import { renderMetrics } from "../metrics.ts";

export function healthRoutes(ctx: HttpContext) {
  return new Elysia()
    .get("/healthz", () => ({ status: "ok" as const }), { response: { 200: type({ status: "'ok'" }) }, detail: { operationId: "checkLiveness", summary: "Liveness", tags: ["Health"], security: [] } })
    .get(
      "/readyz",
      async ({ set }) => {
        set.status = 503;
        if (!ctx.isReady()) return errorBody("not_ready", "Herald is starting or draining");
        // While writes fail this is also the probe that finds the store writable again.
        if (!(await ctx.engine.isWritable())) return errorBody("not_ready", "Herald cannot write to its store (disk full, I/O error or locked)");
        set.status = 200;
        return { status: "ready" as const };
      },
      {
        response: { 200: type({ status: "'ready'" }), 503: ErrorBody },
        detail: { operationId: "checkReadiness", summary: "Readiness: the store is writable and Herald is not draining", tags: ["Health"], security: [] },
      },
    )
    .get(
      "/metrics",
      ({ set }) => {
        set.headers["content-type"] = "text/plain; version=0.0.4; charset=utf-8";
        return renderMetrics(ctx.engine, ctx.requests);
      },
      {
        response: { 200: type("string"), 401: ErrorBody, 403: ErrorBody },
        detail: {
          operationId: "getMetrics",
          summary: "Prometheus metrics (text format)",
          description: "Needs a reader or admin token that sees every tenant (the figures span all tenants), unless metrics.public is set.",
          tags: ["Health"],
          security: ctx.config.metrics.public ? [] : security,
        },
      },
    );
}
