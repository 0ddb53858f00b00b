// Security headers on every kind of answer (API, errors, docs, console, the
// not-found fallback) and CORS: closed by default, open only to a named origin.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";

const JSON_POLICY = "default-src 'none'; frame-ancestors 'none'";
const CONSOLE_POLICY =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function get(herald: TestHerald, path: string, init: RequestInit & { token?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  return fetch(herald.url + path, { ...init, headers });
}

/** The headers every answer carries, whatever its status. */
function expectBaseHeaders(response: Response) {
  expect(response.headers.get("x-content-type-options")).toBe("nosniff");
  expect(response.headers.get("referrer-policy")).toBe("no-referrer");
  expect(response.headers.get("content-security-policy")).not.toBeNull();
}

describe("with the default settings", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startHerald(testConfig());
  });
  afterAll(() => herald?.stop());

  // [name, how to ask, expected status, expected CSP]
  const cases: [string, (h: TestHerald) => Promise<Response>, number, string][] = [
    ["GET /v1/destinations with a token", (h) => get(h, "/v1/destinations", { token: ADMIN_TOKEN }), 200, JSON_POLICY],
    ["GET /v1/destinations without a token", (h) => get(h, "/v1/destinations"), 401, JSON_POLICY],
    ["a bad token", (h) => get(h, "/v1/destinations", { token: "not-a-token-of-anyone" }), 401, JSON_POLICY],
    // Unknown paths are behind authentication too: a 401 without a token, the not-found fallback with one.
    ["an unknown path without a token", (h) => get(h, "/no/such/path"), 401, JSON_POLICY],
    ["an unknown path", (h) => get(h, "/no/such/path", { token: ADMIN_TOKEN }), 404, JSON_POLICY],
    ["an unknown /v1 resource", (h) => get(h, "/v1/destinations/dst_missing", { token: ADMIN_TOKEN }), 404, JSON_POLICY],
    ["a wrong method", (h) => get(h, "/healthz", { method: "DELETE" }), 405, JSON_POLICY],
    ["invalid JSON", (h) => get(h, "/v1/destinations", { method: "POST", token: ADMIN_TOKEN, body: "{", headers: { "content-type": "application/json" } }), 400, JSON_POLICY],
    ["a body over max_body", (h) => get(h, "/v1/events", { method: "POST", token: ADMIN_TOKEN, body: "x".repeat(1_048_577) }), 413, JSON_POLICY],
    ["GET /openapi.json", (h) => get(h, "/openapi.json"), 200, JSON_POLICY],
    ["GET /healthz", (h) => get(h, "/healthz"), 200, JSON_POLICY],
    ["GET /metrics", (h) => get(h, "/metrics", { token: ADMIN_TOKEN }), 200, JSON_POLICY],
    ["GET /metrics without a token", (h) => get(h, "/metrics"), 401, JSON_POLICY],
    ["GET /ui/", (h) => get(h, "/ui/"), 200, CONSOLE_POLICY],
    ["an unknown console file", (h) => get(h, "/ui/missing.js"), 404, CONSOLE_POLICY],
  ];
  for (const [name, ask, status, policy] of cases) {
    it(`sends nosniff, no-referrer, a CSP and DENY framing on ${name} (${status})`, async () => {
      const response = await ask(herald);
      expect(response.status).toBe(status);
      expectBaseHeaders(response);
      expect(response.headers.get("content-security-policy")).toBe(policy);
      expect(response.headers.get("x-frame-options")).toBe("DENY");
      expect(response.headers.get("access-control-allow-origin")).toBeNull();
    });
  }

  it("gives /docs the console's policy (its own files only), and the page has no inline script", async () => {
    const response = await get(herald, "/docs");
    expect(response.status).toBe(200);
    expectBaseHeaders(response);
    const policy = response.headers.get("content-security-policy")!;
    expect(policy).toBe(CONSOLE_POLICY);
    expect(policy).not.toContain("unsafe");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    const html = await response.text();
    // Every <script> has a src and no body: an inline one would be refused by the policy.
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toContain("src=");
      expect(body!.trim()).toBe("");
    }
    for (const asset of [...html.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!)) {
      const served = await get(herald, asset);
      expect(served.status).toBe(200);
      expect(served.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  it("keeps CORS closed: no allow-origin on a request or a preflight from any origin", async () => {
    const actual = await get(herald, "/v1/destinations", { token: ADMIN_TOKEN, headers: { origin: "https://evil.example" } });
    expect(actual.status).toBe(200);
    expect(actual.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await get(herald, "/v1/destinations", {
      method: "OPTIONS",
      headers: { origin: "https://evil.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization" },
    });
    expect(preflight.status).not.toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    expect(preflight.headers.get("access-control-allow-headers")).toBeNull();
  });
});

describe("with cors_origins and portal_frame_ancestors named", () => {
  const ADMIN = "https://admin.example";
  const PORTAL = "https://portal.example";
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startHerald(testConfig({ server: { port: 0, cors_origins: [ADMIN], portal_frame_ancestors: [PORTAL, "https://other.example:8443"] } }));
  });
  afterAll(() => herald?.stop());

  it("answers a named origin's preflight before authentication, allowing the token, JSON and idempotency keys", async () => {
    const preflight = await get(herald, "/v1/events", {
      method: "OPTIONS",
      headers: { origin: ADMIN, "access-control-request-method": "POST", "access-control-request-headers": "authorization, content-type, idempotency-key" },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(ADMIN);
    const allowed = preflight.headers.get("access-control-allow-headers")!.split(/,\s*/);
    expect(allowed).toEqual(expect.arrayContaining(["authorization", "content-type", "idempotency-key"]));
    expect(preflight.headers.get("access-control-allow-methods")).toContain("POST");
    expect(preflight.headers.get("vary")?.toLowerCase()).toContain("origin");
    expectBaseHeaders(preflight);
  });

  it("lets the named origin read answers, the 401 included, and no other origin", async () => {
    const ok = await get(herald, "/v1/destinations", { token: ADMIN_TOKEN, headers: { origin: ADMIN } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ADMIN);
    expect(ok.headers.get("vary")?.toLowerCase()).toContain("origin");
    const refused = await get(herald, "/v1/destinations", { headers: { origin: ADMIN } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get("access-control-allow-origin")).toBe(ADMIN);

    for (const origin of ["https://evil.example", "https://admin.example.evil.example", "http://admin.example", "null"]) {
      const other = await get(herald, "/v1/destinations", { token: ADMIN_TOKEN, headers: { origin } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const preflight = await get(herald, "/v1/destinations", { method: "OPTIONS", headers: { origin, "access-control-request-method": "GET" } });
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
      expect(preflight.headers.get("access-control-allow-headers")).toBeNull();
    }
  });

  it("lets the named portals frame the console, and nothing else", async () => {
    const console = await get(herald, "/ui/");
    expect(console.headers.get("content-security-policy")).toContain(`frame-ancestors ${PORTAL} https://other.example:8443;`);
    // x-frame-options has no way to name an origin: it is left off where framing is allowed.
    expect(console.headers.get("x-frame-options")).toBeNull();
    const api = await get(herald, "/v1/destinations", { token: ADMIN_TOKEN });
    expect(api.headers.get("content-security-policy")).toBe(JSON_POLICY);
    expect(api.headers.get("x-frame-options")).toBe("DENY");
  });
});
