// Swagger UI's script and stylesheet, embedded in the binary so /docs works
// offline (the OpenAPI plugin would otherwise load them from a CDN).
import { Elysia } from "elysia";
import bundlePath from "swagger-ui-dist/swagger-ui-bundle.js" with { type: "file" };
import cssPath from "swagger-ui-dist/swagger-ui.css" with { type: "file" };

export const SWAGGER_BUNDLE_URL = "/docs/assets/swagger-ui-bundle.js";
export const SWAGGER_CSS_URL = "/docs/assets/swagger-ui.css";

export function swaggerAssetRoutes() {
  return new Elysia()
    .get(SWAGGER_BUNDLE_URL, () => new Response(Bun.file(bundlePath), { headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=86400" } }), { detail: { hide: true } })
    .get(SWAGGER_CSS_URL, () => new Response(Bun.file(cssPath), { headers: { "content-type": "text/css; charset=utf-8", "cache-control": "public, max-age=86400" } }), { detail: { hide: true } });
}
