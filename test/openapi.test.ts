// The OpenAPI document is valid OpenAPI 3 (checked by an independent
// validator), every route is documented, and errors keep their shape for
// unknown routes and wrong methods.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";

let herald: TestHerald;
let doc: any;
beforeAll(async () => {
  herald = await startHerald(testConfig());
  doc = await (await fetch(herald.url + "/openapi.json")).json();
});
afterAll(() => herald.stop());

/** A schema itself, or the component its `$ref` names. */
const resolve = (schema: any) => (schema.$ref ? doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")] : schema);

const operations = () =>
  Object.entries<any>(doc.paths).flatMap(([path, ops]) => Object.entries<any>(ops).map(([method, op]) => ({ path, method, op })));

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3 document", async () => {
    expect(doc.openapi).toMatch(/^3\./);
    await SwaggerParser.validate(structuredClone(doc));
  });

  it("documents every management route of DESIGN §4", () => {
    const routes = operations().map((o) => `${o.method.toUpperCase()} ${o.path}`);
    for (const expected of [
      "GET /healthz", "GET /readyz", "GET /metrics",
      "GET /v1/event-types", "POST /v1/event-types", "GET /v1/event-types/{name}", "PATCH /v1/event-types/{name}", "DELETE /v1/event-types/{name}",
      "GET /v1/destinations", "POST /v1/destinations", "GET /v1/destinations/{id}", "PATCH /v1/destinations/{id}", "DELETE /v1/destinations/{id}",
      "GET /v1/destinations/{id}/secret", "POST /v1/destinations/{id}/rotate-secret", "POST /v1/destinations/{id}/test",
      "POST /v1/destinations/{id}/enable", "POST /v1/destinations/{id}/disable", "POST /v1/destinations/{id}/recover", "GET /v1/destinations/{id}/stats",
      "GET /v1/subscriptions", "POST /v1/subscriptions", "GET /v1/subscriptions/{id}", "PATCH /v1/subscriptions/{id}", "DELETE /v1/subscriptions/{id}", "POST /v1/subscriptions/check-filter",
      "POST /v1/events", "POST /v1/events/batch", "GET /v1/events", "GET /v1/events/{id}",
      "GET /v1/deliveries", "GET /v1/deliveries/{id}", "POST /v1/deliveries/{id}/retry",
      "GET /v1/audit",
    ]) {
      expect(routes).toContain(expected);
    }
  });

  it("gives every route a summary, a tag and its responses", () => {
    for (const { path, method, op } of operations()) {
      const where = `${method} ${path}`;
      expect({ where, summary: typeof op.summary }).toEqual({ where, summary: "string" });
      expect({ where, tags: op.tags?.length > 0 }).toEqual({ where, tags: true });
      expect({ where, responses: Object.keys(op.responses ?? {}).length > 0 }).toEqual({ where, responses: true });
    }
  });

  it("secures every /v1 route with the bearer scheme and documents its errors", () => {
    expect(doc.components.securitySchemes.bearer).toEqual({ type: "http", scheme: "bearer" });
    for (const { path, method, op } of operations().filter((o) => o.path.startsWith("/v1/"))) {
      const where = `${method} ${path}`;
      expect({ where, security: op.security }).toEqual({ where, security: [{ bearer: [] }] });
      for (const status of ["400", "401", "403", "404"]) expect({ where, status, has: status in op.responses }).toEqual({ where, status, has: true });
    }
  });

  it("documents request bodies with their schemas", () => {
    const create = resolve(doc.paths["/v1/destinations"].post.requestBody.content["application/json"].schema);
    expect(create.required).toContain("url");
    expect(create.properties.url.type).toBe("string");
    const publish = resolve(doc.paths["/v1/events"].post.requestBody.content["application/json"].schema);
    expect(publish.required).toEqual(["type"]);
  });
});

describe("errors everywhere keep DESIGN §4's shape", () => {
  it("an unknown route is a 404", async () => {
    const res = await herald.api("GET", "/v1/nowhere");
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: "not_found", message: expect.any(String) });
  });

  it("a wrong method is a 405 that lists the allowed ones", async () => {
    // Authenticated: without a token, anything under /v1 is a 401 first (DESIGN §4).
    const authorization = `Bearer ${ADMIN_TOKEN}`;
    const res = await fetch(herald.url + "/v1/events", { method: "DELETE", headers: { authorization } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, POST");
    expect((await res.json()).error).toBe("method_not_allowed");
    const put = await fetch(herald.url + "/v1/destinations/abc", { method: "PUT", headers: { authorization } });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("DELETE, GET, PATCH");
  });

  it("/readyz answers 503 once Herald is draining", async () => {
    const other = await startHerald(testConfig());
    expect((await fetch(other.url + "/readyz")).status).toBe(200);
    await other.stop();
    // The listener is closed now; ask the app in-process, as a probe racing the shutdown would.
    const res = await other.app.http.handle(new Request("http://localhost/readyz"));
    expect(res.status).toBe(503);
    expect((await res.json()).error).toBe("not_ready");
  });
});
