// Swagger UI at /docs: its script and stylesheet embedded in the binary so /docs
// works offline, and a page whose only scripts are files (no inline script), so
// its content-security-policy can keep scripts to 'self' (security-headers.ts).
// The OpenAPI plugin's own page would load them from a CDN and start Swagger UI
// from an inline script.
import { Elysia } from "elysia";
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import cssPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };

export const SWAGGER_BUNDLE_URL = "/docs/assets/swagger-ui-bundle.js";
export const SWAGGER_CSS_URL = "/docs/assets/swagger-ui.css";
const INIT_URL = "/docs/assets/herald-docs.js";
const DARK_CSS_URL = "/docs/assets/herald-docs.css";

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";
const CACHE = "public, max-age=86400";

const escapeHtml = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

/** Starts Swagger UI on the document at /openapi.json; the token given to "Authorize" survives a reload. */
const INIT_SCRIPT = `window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger-ui", persistAuthorization: true });
});
`;

/** Swagger UI has no dark theme: invert it when the reader's system asks for one. */
const DARK_CSS = `@media (prefers-color-scheme: dark) {
  body { background-color: #222; }
  .swagger-ui { filter: invert(92%) hue-rotate(180deg); }
  .swagger-ui .microlight { filter: invert(100%) hue-rotate(180deg); }
}
`;

export function swaggerAssetRoutes(info: { title: string; description: string }) {
  const page = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <meta name="viewport" content="width=device-width, initial-scale=1" />
  <title>${escapeHtml(info.title)}</title>
  <meta name="description" content="${escapeHtml(info.description)}" />
  <link rel="icon" href="data:," />
  <link rel="stylesheet" href="${SWAGGER_CSS_URL}" />
  <link rel="stylesheet" href="${DARK_CSS_URL}" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="${SWAGGER_BUNDLE_URL}"></script>
  <script src="${INIT_URL}"></script>
</body>
</html>
`;
  const text = (body: string, type: string) => () => new Response(body, { headers: { "content-type": type, "cache-control": CACHE } });
  return new Elysia()
    .get("/docs", () => new Response(page, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-cache" } }), { detail: { hide: true } })
    .get(SWAGGER_BUNDLE_URL, () => new Response(Bun.file(bundlePath), { headers: { "content-type": JS, "cache-control": CACHE } }), { detail: { hide: true } })
    .get(SWAGGER_CSS_URL, () => new Response(Bun.file(cssPath), { headers: { "content-type": CSS, "cache-control": CACHE } }), { detail: { hide: true } })
    .get(INIT_URL, text(INIT_SCRIPT, JS), { detail: { hide: true } })
    .get(DARK_CSS_URL, text(DARK_CSS, CSS), { detail: { hide: true } });
}
