// The OpenAPI document is valid OpenAPI 3 (checked by an independent
// validator), every route is documented, and errors keep their shape for
// unknown routes and wrong methods.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import SwaggerParser from "@apidevtools/swagger-parser";
import { Validator } from "@cfworker/json-schema";
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

/**
 * A validator for `schema` as the document states it: its $refs to
 * #/components/schemas/… resolved (as $defs, which the validator follows), formats checked.
 */
function validatorFor(schema: object): Validator {
  const asDefs = (value: unknown) => JSON.parse(JSON.stringify(value).replaceAll("#/components/schemas/", "#/$defs/"));
  return new Validator({ ...asDefs(schema), $defs: asDefs(doc.components.schemas) }, "2020-12", false);
}

/** Every operation's id, by "METHOD path": the names generated clients call. Renaming one breaks them. */
const OPERATION_IDS: Record<string, string> = {
  "GET /healthz": "checkLiveness", "GET /readyz": "checkReadiness", "GET /metrics": "getMetrics",
  "POST /v1/events": "publishEvent", "POST /v1/events/batch": "publishEventBatch", "GET /v1/events": "listEvents",
  "GET /v1/events/{id}": "getEvent", "POST /v1/events/{id}/cancel": "cancelEvent",
  "GET /v1/deliveries": "listDeliveries", "GET /v1/deliveries/{id}": "getDelivery", "POST /v1/deliveries/retry": "retryDeliveries",
  "POST /v1/deliveries/{id}/retry": "retryDelivery", "GET /v1/stats": "getDeliveryStats", "GET /v1/stats/destinations": "listDestinationStats",
  "GET /v1/destinations": "listDestinations", "POST /v1/destinations": "createDestination", "GET /v1/destinations/{id}": "getDestination",
  "PATCH /v1/destinations/{id}": "updateDestination", "DELETE /v1/destinations/{id}": "deleteDestination",
  "GET /v1/destinations/{id}/secret": "getDestinationSecret", "GET /v1/destinations/{id}/headers": "getDestinationHeaders",
  "POST /v1/destinations/{id}/rotate-secret": "rotateDestinationSecret", "POST /v1/destinations/{id}/test": "testDestination",
  "POST /v1/destinations/{id}/enable": "enableDestination", "POST /v1/destinations/{id}/disable": "disableDestination",
  "POST /v1/destinations/{id}/recover": "recoverDestination", "GET /v1/destinations/{id}/stats": "getDestinationStats",
  "GET /v1/destinations/{id}/health": "getDestinationHealth",
  "GET /v1/subscriptions": "listSubscriptions", "POST /v1/subscriptions": "createSubscription", "POST /v1/subscriptions/check-filter": "checkSubscriptionFilter",
  "GET /v1/subscriptions/{id}": "getSubscription", "PATCH /v1/subscriptions/{id}": "updateSubscription", "DELETE /v1/subscriptions/{id}": "deleteSubscription",
  "POST /v1/subscriptions/{id}/backfill": "startBackfill", "GET /v1/backfills": "listBackfills", "GET /v1/backfills/{id}": "getBackfill",
  "POST /v1/backfills/{id}/cancel": "cancelBackfill",
  "GET /v1/event-types": "listEventTypes", "POST /v1/event-types": "createEventType", "GET /v1/event-types/{name}": "getEventType",
  "PATCH /v1/event-types/{name}": "updateEventType", "DELETE /v1/event-types/{name}": "deleteEventType",
  "GET /v1/audit": "listAuditEntries",
  "GET /v1/api-keys": "listApiKeys", "POST /v1/api-keys": "createApiKey", "GET /v1/api-keys/{id}": "getApiKey",
  "POST /v1/api-keys/{id}/revoke": "revokeApiKey", "DELETE /v1/api-keys/{id}": "deleteApiKey",
  "POST /v1/portal-links": "createPortalLink", "GET /v1/portal-links": "listPortalLinks", "DELETE /v1/portal-links/{id}": "revokePortalLink", "GET /v1/me": "getMe",
};

describe("the document a client is generated from", () => {
  it("names every operation once, in verbNoun camelCase, as the table says", () => {
    const ids = operations().map((o) => o.op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-z]+(?:[A-Z][a-z0-9]*)+$/);
    expect(Object.fromEntries(operations().map((o) => [`${o.method.toUpperCase()} ${o.path}`, o.op.operationId]))).toEqual(OPERATION_IDS);
  });

  it("names the API's schemas as components and refers to them instead of copying them", () => {
    for (const name of ["Event", "Destination", "Subscription", "EventType", "Delivery", "Attempt", "Error", "ApiKey", "AuditEntry", "Backfill", "PortalLink", "EventList", "DeliveryList"]) {
      expect({ name, type: doc.components.schemas[name]?.type }).toEqual({ name, type: "object" });
    }
    const json = (status: string, op: any) => op.responses[status].content["application/json"].schema;
    expect(json("200", doc.paths["/v1/events"].get)).toEqual({ $ref: "#/components/schemas/EventList" });
    expect(json("404", doc.paths["/v1/events/{id}"].get)).toEqual({ $ref: "#/components/schemas/Error" });
    // Nested ones too: a list holds references, not copies.
    expect(doc.components.schemas.EventList.properties.data.items).toEqual({ $ref: "#/components/schemas/Event" });
    expect(doc.components.schemas.DeliveryWithAttempts.properties.attempts.items).toEqual({ $ref: "#/components/schemas/Attempt" });
    // Every JSON body of the API, asked or answered, is a named schema.
    for (const { path, method, op } of operations().filter((o) => o.path.startsWith("/v1/"))) {
      const bodies = [op.requestBody, ...Object.values<any>(op.responses)].flatMap((b) => Object.values<any>(b?.content ?? {}));
      for (const media of bodies) expect({ where: `${method} ${path}`, ref: typeof media.schema.$ref }).toEqual({ where: `${method} ${path}`, ref: "string" });
    }
    // Time fields say their format.
    expect(doc.components.schemas.Event.properties.created_at.format).toBe("date-time");
  });

  it("gives every request body a realistic example that its own schema accepts", () => {
    const bodies = operations().filter((o) => o.op.requestBody);
    expect(bodies.length).toBeGreaterThanOrEqual(15);
    for (const { path, method, op } of bodies) {
      const media = op.requestBody.content["application/json"];
      const where = `${method} ${path}`;
      expect({ where, example: media.example !== undefined }).toEqual({ where, example: true });
      const result = validatorFor(media.schema).validate(media.example);
      expect({ where, errors: result.errors.map((e) => `${e.instanceLocation}: ${e.error}`) }).toEqual({ where, errors: [] });
    }
    // The validator does check: a publish without its type, or a time that is none, is refused.
    const publish = doc.paths["/v1/events"].post.requestBody.content["application/json"].schema;
    expect(validatorFor(publish).validate({ data: {} }).valid).toBe(false);
    expect(validatorFor({ $ref: "#/components/schemas/Event" }).validate({ ...doc.components.schemas.Event.examples[0], created_at: "yesterday" }).valid).toBe(false);
  });

  it("keeps every example of a named schema valid against it", () => {
    const named = Object.entries<any>(doc.components.schemas).filter(([, schema]) => schema.examples);
    expect(named.map(([name]) => name)).toEqual(expect.arrayContaining(["Event", "Delivery", "Error", "EventWithDeliveries", "AuditEntry"]));
    for (const [name, schema] of named) {
      for (const example of schema.examples) {
        const errors = validatorFor({ $ref: `#/components/schemas/${name}` }).validate(example).errors.map((e) => `${e.instanceLocation}: ${e.error}`);
        expect({ name, errors }).toEqual({ name, errors: [] });
      }
    }
  });

  it("describes every parameter, with its real type", () => {
    for (const { path, method, op } of operations()) {
      for (const parameter of op.parameters ?? []) {
        const where = `${method} ${path} ${parameter.in} ${parameter.name}`;
        expect({ where, description: typeof parameter.description }).toEqual({ where, description: "string" });
      }
    }
    const query = (path: string, name: string) => doc.paths[path].get.parameters.find((p: any) => p.in === "query" && p.name === name);
    for (const path of ["/v1/events", "/v1/deliveries", "/v1/destinations", "/v1/subscriptions", "/v1/audit", "/v1/backfills", "/v1/api-keys"]) {
      expect({ path, limit: query(path, "limit").schema }).toEqual({ path, limit: { type: "integer", minimum: 1, maximum: 1000 } });
    }
    expect(query("/v1/events", "since").schema.format).toBe("date-time");
    expect(query("/v1/deliveries", "until").schema.format).toBe("date-time");
    expect(query("/v1/deliveries", "status").schema.enum.sort()).toEqual(["cancelled", "delivering", "failed", "pending", "succeeded"]);
    const id = doc.paths["/v1/destinations/{id}"].get.parameters.find((p: any) => p.in === "path");
    expect(id.description).toContain("dst_");
    const key = doc.paths["/v1/events"].post.parameters.find((p: any) => p.in === "header");
    expect(key).toMatchObject({ name: "Idempotency-Key", required: false, schema: { type: "string" } });
  });

  it("documents every answer a route gives: 204s, 201s, 202s, publish's 200 and the errors", () => {
    for (const { path, method, op } of operations().filter((o) => o.method === "delete")) {
      expect({ path, status: Object.keys(op.responses).filter((s) => s < "300"), content: op.responses["204"].content }).toEqual({ path, status: ["204"], content: undefined });
    }
    const statuses = (path: string, method: string) => Object.keys(doc.paths[path][method].responses);
    expect(statuses("/v1/events", "post")).toEqual(expect.arrayContaining(["200", "202", "400", "401", "403", "409", "413", "429"]));
    expect(statuses("/v1/events/batch", "post")).toEqual(expect.arrayContaining(["202", "413"]));
    for (const path of ["/v1/destinations", "/v1/subscriptions", "/v1/event-types", "/v1/api-keys", "/v1/portal-links"]) {
      expect({ path, created: statuses(path, "post").includes("201") }).toEqual({ path, created: true });
    }
    expect(statuses("/v1/subscriptions/{id}/backfill", "post")).toContain("202");
    expect(statuses("/v1/deliveries/{id}/retry", "post")).toContain("202");
    for (const { path, method, op } of operations().filter((o) => o.path.startsWith("/v1/"))) {
      const where = `${method} ${path}`;
      const errors = ["401", "403", "429", ...(op.requestBody ? ["400", "413"] : [])];
      for (const status of errors) {
        expect({ where, status, schema: op.responses[status]?.content["application/json"].schema }).toEqual({ where, status, schema: { $ref: "#/components/schemas/Error" } });
      }
    }
    expect(doc.paths["/v1/events"].get.responses["429"].headers["Retry-After"].schema.type).toBe("integer");
  });

  it("describes the API and each tag its operations use", () => {
    expect(doc.info.description.length).toBeGreaterThan(20);
    const declared = new Map<string, string>(doc.tags.map((t: any) => [t.name, t.description]));
    for (const { op } of operations()) for (const tag of op.tags) expect({ tag, description: typeof declared.get(tag) }).toEqual({ tag, description: "string" });
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
