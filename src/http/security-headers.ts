// The headers every answer carries (content-security-policy, nosniff,
// referrer-policy, frame options) and CORS, closed unless server.cors_origins
// names origins. Decided from the path alone, before authentication, so 401s,
// 404s, 413s and 500s carry them as well as successes.

export interface EdgeSettings {
  /** Origins allowed to frame the console (CSP frame-ancestors); none: the console is never framed. */
  portal_frame_ancestors: readonly string[];
  /** Origins whose browser scripts may call the API; none: CORS is closed. */
  cors_origins: readonly string[];
}

/** The request headers a browser app may send cross-origin: the token, JSON bodies, and idempotent publishes. */
const CORS_ALLOW_HEADERS = "authorization, content-type, idempotency-key";
const CORS_ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE";
/** How long a browser may cache a preflight's answer (seconds): one per origin and route per 10 minutes. */
const CORS_MAX_AGE = "600";

/**
 * JSON (and every other non-page answer) can load nothing and be framed by no
 * one: if a browser is ever tricked into rendering one as a document, no
 * script, style or frame of it runs.
 */
const API_POLICY = "default-src 'none'; frame-ancestors 'none'";

/**
 * The console's and Swagger UI's policy: everything from Herald itself, no
 * inline script or style (both pages load only files; Swagger UI's are
 * embedded, swagger-assets.ts), data: images for icons, API calls to this
 * same origin. Swagger UI runs a request under it with no violation
 * (test/console-csp.test.ts): its React styles are set through the CSSOM,
 * which style-src does not govern.
 */
const pagePolicy = (frameAncestors: string) =>
  [
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    `frame-ancestors ${frameAncestors}`, "base-uri 'none'", "form-action 'self'",
  ].join("; ");

export interface EdgeHeaders {
  /** The headers for an answer to this path (and, when allowed, this Origin). */
  forRequest(request: Request, path: string): Record<string, string>;
  /** A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed origin is answered here; anything else is null. */
  preflight(request: Request): Response | null;
}

export function edgeHeaders(settings: EdgeSettings): EdgeHeaders {
  const framed = settings.portal_frame_ancestors.length > 0;
  // Only the console may be framed, and only by the portals named: the docs and the API never.
  const consolePolicy = pagePolicy(framed ? settings.portal_frame_ancestors.join(" ") : "'none'");
  const origins = new Set(settings.cors_origins);
  // no-referrer rather than strict-origin-when-cross-origin: the console links to
  // nothing that needs to know where a visitor came from, and its URLs (#/events?…)
  // may name tenants and event ids.
  const common = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };
  const pageHeaders = (policy: string, frameable: boolean) =>
    Object.freeze({ ...common, "content-security-policy": policy, ...(frameable ? {} : { "x-frame-options": "DENY" }) });
  const forConsole = pageHeaders(consolePolicy, framed);
  const forDocs = pageHeaders(pagePolicy("'none'"), false);
  const forApi = pageHeaders(API_POLICY, false);

  const allowedOrigin = (request: Request): string | null => {
    const origin = request.headers.get("origin");
    return origin !== null && origins.has(origin) ? origin : null;
  };

  return {
    forRequest(request, path) {
      const base = path === "/ui" || path.startsWith("/ui/") ? forConsole : path === "/docs" || path.startsWith("/docs/") ? forDocs : forApi;
      if (origins.size === 0) return { ...base };
      const origin = allowedOrigin(request);
      // vary: the same URL answers differently per Origin, so a shared cache must key on it.
      return origin ? { ...base, "access-control-allow-origin": origin, vary: "origin" } : { ...base, vary: "origin" };
    },
    preflight(request) {
      if (request.method !== "OPTIONS" || !request.headers.has("access-control-request-method")) return null;
      const origin = allowedOrigin(request);
      if (!origin) return null;
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": CORS_ALLOW_METHODS,
          "access-control-allow-headers": CORS_ALLOW_HEADERS,
          "access-control-max-age": CORS_MAX_AGE,
          vary: "origin",
        },
      });
    },
  };
}
