// Liveness and readiness probes (no auth) and Prometheus metrics.
import { Elysia } from "elysia";
import type { HttpContext } from "../context.ts";
import { errorBody } from "../errors.ts";
import { renderMetrics } from "../metrics.ts";

export function healthRoutes(ctx: HttpContext) {
  return new Elysia()
    .get("/healthz", () => ({ status: "ok" }), { detail: { summary: "Liveness", tags: ["Health"] } })
    .get(
      "/readyz",
      ({ set }) => {
        if (ctx.isReady() && ctx.engine.store.isWritable()) return { status: "ready" };
        set.status = 503;
        return errorBody("not_ready", "Herald is starting, draining or cannot write its store");
      },
      { detail: { summary: "Readiness: the store is writable and Herald is not draining", tags: ["Health"] } },
    )
    .get(
      "/metrics",
      ({ set }) => {
        set.headers["content-type"] = "text/plain; version=0.0.4; charset=utf-8";
        return renderMetrics(ctx.engine);
      },
      { detail: { summary: "Prometheus metrics", tags: ["Health"] } },
    );
}
