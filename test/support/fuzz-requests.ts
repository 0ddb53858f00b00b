// Request generators for the fuzz suite. Every operation comes from Herald's own
// OpenAPI document (so a new route is fuzzed without touching this file), plus
// unknown paths. A generated request is a small recipe (which operation, which
// id, which token, which mutation of which valid body) that is turned into a real
// request against the ids that exist at that moment, and prints as a short repro.
import fc from "fast-check";

// ---------- operations, from /openapi.json ----------

export interface Operation {
  method: string;
  /** The OpenAPI path, e.g. /v1/destinations/{id}. */
  template: string;
  pathParams: string[];
  queryParams: string[];
  bodySchema: any;
  /** Success statuses the document says answer JSON. */
  jsonStatuses: Set<number>;
  /** The document asks for a bearer token. */
  secured: boolean;
}

/** A schema with its references to the document's named components followed (they hold no cycles). */
function dereference(doc: any, schema: any): any {
  if (Array.isArray(schema)) return schema.map((item) => dereference(doc, item));
  if (typeof schema !== "object" || schema === null) return schema;
  if (typeof schema.$ref === "string") return dereference(doc, doc.components?.schemas?.[schema.$ref.replace("#/components/schemas/", "")]);
  return Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === "examples" ? value : dereference(doc, value)]));
}

export function operationsOf(doc: any): Operation[] {
  const ops: Operation[] = [];
  for (const [template, methods] of Object.entries<any>(doc.paths ?? {})) {
    for (const [method, op] of Object.entries<any>(methods)) {
      const params: { in: string; name: string }[] = op.parameters ?? [];
      const jsonStatuses = new Set<number>();
      for (const [status, answer] of Object.entries<any>(op.responses ?? {})) {
        if (answer?.content?.["application/json"]) jsonStatuses.add(Number(status));
      }
      ops.push({
        method: method.toUpperCase(),
        template,
        pathParams: [...template.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
        queryParams: params.filter((p) => p.in === "query").map((p) => p.name),
        bodySchema: dereference(doc, op.requestBody?.content?.["application/json"]?.schema ?? null),
        jsonStatuses,
        secured: (op.security ?? doc.security ?? []).length > 0,
      });
    }
  }
  return ops;
}

// ---------- what exists while the fuzzer runs ----------

export type Role = "admin" | "acme" | "globex";
export interface Owned {
  id: string;
  tenant: string;
}
export type PoolName = "destination" | "subscription" | "event" | "delivery" | "eventType";

export interface World {
  tokens: Record<Role, string>;
  receiverUrl: string;
  pools: Record<PoolName, Owned[]>;
  /** Seeded ids and names: a DELETE on one is sent with a token that may not delete it. */
  protectedIds: Set<string>;
}

/** Which pool a path parameter draws existing ids from: the collection the template names. */
export function poolFor(template: string): PoolName | null {
  const collection = template.split("/")[2] ?? "";
  const pools: Record<string, PoolName> = {
    destinations: "destination", subscriptions: "subscription", events: "event", deliveries: "delivery", "event-types": "eventType",
  };
  return pools[collection] ?? null;
}

// ---------- recipes ----------

export type ParamRecipe = { kind: "existing"; n: number } | { kind: "literal"; text: string; encode: boolean };
export type AuthRecipe = { kind: "role"; role: Role } | { kind: "none" } | { kind: "raw"; value: string };
export type Nasty =
  | { kind: "json"; value: unknown }
  | { kind: "literal"; text: string }
  | { kind: "deep"; depth: number; open: "[" | "{" }
  | { kind: "wide"; keys: number }
  | { kind: "longArray"; length: number }
  | { kind: "long"; length: number; char: string };
export interface Mutation {
  /** field: one the route documents; existing: one the valid body has; new: an unknown or odd key; root: the whole body. */
  target: "field" | "existing" | "new" | "nested" | "root";
  pick: number;
  value: Nasty;
}
export type BodyRecipe =
  | { kind: "none" }
  | { kind: "text"; text: string }
  | { kind: "bytes"; bytes: number[] }
  | { kind: "json"; base: { kind: "valid"; n: number[] } | { kind: "random"; value: unknown }; mutations: Mutation[] };

export interface Recipe {
  /** Index into the operations; -1 means an unknown path. */
  op: number;
  unknownPath: string;
  /** null: the operation's own method. */
  method: string | null;
  params: ParamRecipe[];
  query: { name: number; value: { kind: "fitting"; n: number } | { kind: "literal"; text: string } }[];
  junkQuery: [string, string][];
  auth: AuthRecipe;
  idempotencyKey: string | null;
  contentType: string | null;
  extraHeaders: [string, string][];
  body: BodyRecipe;
}

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"];
const UNKNOWN_PATHS = [
  "/v1/nope", "/v1", "/v1/", "/v2/events", "/v1/events/x/y", "/v1/destinations/x/secret/extra", "/%2e%2e/%2e%2e/etc/passwd",
  "/v1/%00", "/ui/%2e%2e%2fsrc%2fmain.ts", "/ui/nope.js", "/ui/", "/", "/docs", "/docs/x", "/openapi.json/x", "/metrics/x",
  "//v1//events", "/V1/EVENTS", "/healthz/", "/v1/events/", "/v1/destinations//secret", "/%ff", "/v1/event-types/a/b/c",
];
const JUNK_IDS = [
  "..", ".", "%2e%2e", "%00", "%2F", "%ff", "%", "%zz", "null", "undefined", "0", "-1", "1e20", "evt_", "dst_",
  "dst_00000000-0000-0000-0000-000000000000", "%20", "..%2F..%2Fetc%2Fpasswd", "*", "%E2%80%AE", "~", "__proto__", "constructor",
  "order.created", "herald.destination.created", "a.b.", "%3Cscript%3E",
];
const AUTH_RAW = [
  "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer wrong-token-0123456789", "bearer {admin}", "Bearer {admin} extra",
  "{admin}", "Bearer {acme}x", "Token {admin}", "Bearer  {globex}  ", "Bearer " + "x".repeat(4000), "Bearer é",
];
const CONTENT_TYPES = [
  "application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=zz", "junk/junk", "application/xml", "application/json; charset=utf-16", "",
];
const QUERY_NAMES = ["limit", "cursor", "since", "until", "tenant", "status", "type", "bucket", "destination_id", "event_id"];
const QUERY_JUNK = [
  "", "abc", "-1", "0", "1001", "1e20", "99999999999999999999", "NaN", "Infinity", "1.5", "0x10", " 5", "%", "%zz", "%00", "null",
  "[]", "{}", "2026-13-45", "yesterday", "-271821-04-20T00:00:00Z", "+275760-09-13T00:00:01Z", "2026-01-01T00:00:00+99:99",
  "zzz", "eyJ4IjoxfQ", "evt_", "'; DROP TABLE events; --", "é", "\u{1F600}", "x".repeat(3000),
];
const BAD_TEXT = [
  "{", '{"a":', "[1,2", "nul", "{'a':1}", "\ufeff{}", "{}garbage", '{"a":1}{"b":2}', "\u0000", "NaN", "Infinity", "   ",
  '"just a string"', "123", "null", "true", "[]", "[{}]", '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{}}}',
  '{"a":1,"a":2}', '{"a":"\\ud800"}', '{"a":1e999999}', "-0",
];
const NUMBER_LITERALS = ["1e20", "-0", "1e308", "-1e308", "1e400", "9007199254740993", "0.1", "-1", "0", "2147483648", "1.5", "-9223372036854775809"];
const NASTY_VALUES: unknown[] = [
  null, true, false, "", "NaN", "Infinity", "-Infinity", "null", "true", "0", "1e20", {}, [], ["a"], { a: null }, [[]], "../../etc/passwd",
  "<script>alert(1)</script>", "\u0000", "é", "\u{1F600}", "\ud800", " ", "http://", "https://169.254.169.254/latest",
  "http://user:pass@127.0.0.1/x", "ftp://x", { type: "string", pattern: "([" }, { type: "bogus" }, { $ref: "#/nope" },
  { "$ne": null }, { "a.b": { "$gt": "x" } }, [1, "a", null], -1, 0, 1.5, 3601000, "5", "1h", "-1s", "999999d",
];
const NEW_KEYS = ["zz_unknown", "__proto__", "constructor", "", "id", "tenant", "headers", "metadata", "schema", "data", "filter", "events", "type", "url", "rate_limit", "enabled", "secret", "event_types", "example"];

/** `light` keeps sizes small (depth ≤ 64, ≤ 500 keys): for hunting other failures on code where big inputs stall. */
function nastyArb(light: boolean): fc.Arbitrary<Nasty> {
  const size = (n: number) => (light ? Math.min(n, 500) : n);
  const depth = light ? fc.integer({ min: 1, max: 64 }) : fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 64 }) },
    { weight: 4, arbitrary: fc.integer({ min: 65, max: 3000 }) },
    { weight: 1, arbitrary: fc.constant(5000) },
    // Past any recursion limit (a 500 by stack overflow on the code of issue 10).
    { weight: 1, arbitrary: fc.constant(60_000) },
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...NASTY_VALUES).map((value): Nasty => ({ kind: "json", value })) },
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value): Nasty => ({ kind: "json", value })) },
    { weight: 5, arbitrary: fc.constantFrom(...NUMBER_LITERALS).map((text): Nasty => ({ kind: "literal", text })) },
    { weight: 3, arbitrary: fc.record({ depth, open: fc.constantFrom<"[" | "{">("[", "{") }).map((r): Nasty => ({ kind: "deep", ...r })) },
    {
      weight: 2,
      arbitrary: fc.oneof({ weight: 5, arbitrary: fc.integer({ min: 100, max: 5000 }) }, { weight: 1, arbitrary: fc.constant(12_000) }).map((keys): Nasty => ({ kind: "wide", keys: size(keys) })),
    },
    { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((length): Nasty => ({ kind: "longArray", length: size(length) })) },
    {
      weight: 2,
      arbitrary: fc
        .record({
          length: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 300, max: 200_000 }) }, { weight: 1, arbitrary: fc.constant(1_200_000) }),
          char: fc.constantFrom("x", "é", "\u{1F600}", "\\\\", "\\u0000"),
        })
        .map((r): Nasty => ({ kind: "long", ...r, length: light ? Math.min(r.length, 5000) : r.length })),
    },
  );
}

function paramArb(): fc.Arbitrary<ParamRecipe> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.nat({ max: 10_000 }).map((n): ParamRecipe => ({ kind: "existing", n })) },
    { weight: 2, arbitrary: fc.constantFrom(...JUNK_IDS).map((text): ParamRecipe => ({ kind: "literal", text, encode: false })) },
    { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 24 }).map((text): ParamRecipe => ({ kind: "literal", text, encode: true })) },
    { weight: 1, arbitrary: fc.integer({ min: 65, max: 8000 }).map((n): ParamRecipe => ({ kind: "literal", text: "a".repeat(n), encode: false })) },
  );
}

function bodyArb(light: boolean): fc.Arbitrary<BodyRecipe> {
  const mutation = fc.record({
    target: fc.constantFrom<Mutation["target"]>("field", "field", "field", "existing", "existing", "new", "nested", "root"),
    pick: fc.nat({ max: 1000 }),
    value: nastyArb(light),
  });
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant<BodyRecipe>({ kind: "none" }) },
    { weight: 4, arbitrary: fc.array(fc.nat({ max: 1000 }), { minLength: 6, maxLength: 6 }).map((n): BodyRecipe => ({ kind: "json", base: { kind: "valid", n }, mutations: [] })) },
    {
      weight: 10,
      arbitrary: fc
        .record({ n: fc.array(fc.nat({ max: 1000 }), { minLength: 6, maxLength: 6 }), mutations: fc.oneof({ weight: 3, arbitrary: fc.array(mutation, { minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.array(mutation, { minLength: 2, maxLength: 3 }) }) })
        .map(({ n, mutations }): BodyRecipe => ({ kind: "json", base: { kind: "valid", n }, mutations })),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value): BodyRecipe => ({ kind: "json", base: { kind: "random", value }, mutations: [] })) },
    { weight: 2, arbitrary: fc.constantFrom(...BAD_TEXT).map((text): BodyRecipe => ({ kind: "text", text })) },
    { weight: 1, arbitrary: fc.array(fc.nat({ max: 255 }), { maxLength: 64 }).map((bytes): BodyRecipe => ({ kind: "bytes", bytes })) },
  );
}

/** Printable ASCII, since fetch refuses other header bytes (those go over raw TCP). */
const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 40 });

export function recipeArb(operationCount: number, options: { light?: boolean } = {}): fc.Arbitrary<Recipe> {
  return fc.record({
    op: fc.oneof({ weight: 24, arbitrary: fc.nat({ max: operationCount - 1 }) }, { weight: 1, arbitrary: fc.constant(-1) }),
    unknownPath: fc.oneof(
      fc.constantFrom(...UNKNOWN_PATHS),
      fc.array(fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }).map((parts) => "/" + parts.map(encodeURIComponent).join("/")),
    ),
    method: fc.oneof({ weight: 8, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
    params: fc.array(paramArb(), { minLength: 2, maxLength: 2 }),
    query: fc.array(
      fc.record({
        name: fc.nat({ max: 100 }),
        value: fc.oneof(
          { weight: 2, arbitrary: fc.nat({ max: 1000 }).map((n) => ({ kind: "fitting" as const, n })) },
          { weight: 2, arbitrary: fc.constantFrom(...QUERY_JUNK).map((text) => ({ kind: "literal" as const, text })) },
        ),
      }),
      { maxLength: 3 },
    ),
    junkQuery: fc.array(fc.tuple(fc.constantFrom(...QUERY_NAMES, "zz", "", "limit[]", "a.b", "%00"), fc.constantFrom(...QUERY_JUNK)), { maxLength: 2 }),
    auth: fc.oneof(
      { weight: 10, arbitrary: fc.constant<AuthRecipe>({ kind: "role", role: "admin" }) },
      { weight: 4, arbitrary: fc.constant<AuthRecipe>({ kind: "role", role: "acme" }) },
      { weight: 2, arbitrary: fc.constant<AuthRecipe>({ kind: "role", role: "globex" }) },
      { weight: 2, arbitrary: fc.constant<AuthRecipe>({ kind: "none" }) },
      { weight: 2, arbitrary: fc.constantFrom(...AUTH_RAW).map((value): AuthRecipe => ({ kind: "raw", value })) },
    ),
    idempotencyKey: fc.oneof(
      { weight: 8, arbitrary: fc.constant(null) },
      { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,40}$/) },
      { weight: 1, arbitrary: fc.constantFrom("", " ", "k".repeat(257), "k".repeat(5000), "a,b", "%00") },
      { weight: 1, arbitrary: headerValue },
    ),
    contentType: fc.oneof({ weight: 6, arbitrary: fc.constant("application/json") }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) }),
    extraHeaders: fc.array(fc.tuple(fc.constantFrom("x-fz", "x-forwarded-for", "accept", "accept-encoding", "x-request-id", "origin", "expect"), headerValue), { maxLength: 2 }),
    body: bodyArb(options.light ?? false),
  });
}

// ---------- from a recipe to a request ----------

export interface BuiltRequest {
  method: string;
  /** Path and query, as sent. */
  target: string;
  /** The operation's template, or "(unknown path)". */
  route: string;
  op: Operation | null;
  headers: Record<string, string>;
  body: string | Uint8Array<ArrayBuffer> | undefined;
  /** The path still names the operation (no empty, "." or ".." id, no encoded slash that reroutes it). */
  routeIntact: boolean;
  /** The role whose token was sent, if any: decides whether reveal routes may show secrets. */
  role: Role | null;
  /** A one-line repro: method, target, token, headers and a short body. */
  summary: string;
}

const pick = <T>(list: readonly T[], n: number): T | undefined => (list.length ? list[n % list.length] : undefined);

/** A body the route accepts (or nearly), drawn from what exists now. */
function validBody(method: string, template: string, world: World, n: number[], schema: any): unknown {
  const [a = 0, b = 0, c = 0, d = 0, e = 0] = n;
  const tenant = pick(["acme", "globex", "default", undefined], c);
  const type = pick(world.pools.eventType.map((t) => t.id).filter((t) => !t.startsWith("herald.")).concat("order.unknown"), a) ?? "order.created";
  const event = () => ({ type, data: { amount: b % 100, note: "fz" }, ...(tenant ? { tenant } : {}), ...(d % 2 ? { id: `fz-${e % 40}` } : {}) });
  const ISO = pick(["2020-01-01T00:00:00Z", new Date().toISOString(), "2030-01-01T00:00:00Z"], d)!;
  switch (`${method} ${template}`) {
    case "POST /v1/events":
      return event();
    case "POST /v1/events/batch":
      return { events: Array.from({ length: 1 + (b % 3) }, event) };
    case "POST /v1/destinations":
      return {
        url: world.receiverUrl, headers: { "x-fz": `v${a % 10}` }, ...(tenant ? { tenant } : {}), ...(b % 3 === 0 ? { rate_limit: 1 + (b % 50) } : {}),
        ...(c % 4 === 0 ? { id: `fz-dst-${a % 20}` } : {}), metadata: { team: "fz" },
      };
    case "PATCH /v1/destinations/{id}":
      return pick([{ description: `fz ${a}` }, { enabled: true }, { metadata: { k: "v" } }, { timeout: 1000 + b }, { rate_limit: null }], c);
    case "POST /v1/destinations/{id}/rotate-secret":
      return pick([{}, { grace_period: "1h" }, { grace_period: "0s" }], c);
    case "POST /v1/destinations/{id}/test":
      return { event_type: type, data: { fz: true } };
    case "POST /v1/destinations/{id}/disable":
      return { reason: "fz" };
    case "POST /v1/destinations/{id}/recover":
      return { since: ISO, ...(e % 2 ? { until: "2031-01-01T00:00:00Z" } : {}) };
    case "POST /v1/subscriptions":
      return {
        destination_id: pick(world.pools.destination.map((x) => x.id), a) ?? "none", event_types: [pick(["order.*", "order.created", "fz.*"], b)],
        ...(c % 2 ? { filter: { "data.amount": { $gt: d % 50 } } } : {}), ...(e % 4 === 0 ? { id: `fz-sub-${a % 20}` } : {}),
      };
    case "PATCH /v1/subscriptions/{id}":
      return pick([{ event_types: ["order.*"] }, { enabled: false }, { filter: null }, { description: "fz" }], c);
    case "POST /v1/event-types":
      return { name: `fz.t${a % 30}`, description: "fz", ...(b % 2 ? { schema: pick([null, { type: "object" }, { type: "object", properties: { amount: { type: "number" } } }], c) } : {}), example: { amount: 1 } };
    case "PATCH /v1/event-types/{name}":
      return pick([{ description: "fz" }, { example: { amount: 2 } }, { schema: { type: "object" } }], c);
  }
  return sampleOf(schema, n);
}

/** A value shaped like a JSON Schema (for routes added after this file): enough to get past the parser. */
function sampleOf(schema: any, n: number[]): unknown {
  if (!schema || typeof schema !== "object") return {};
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === "object" || schema.properties) {
    return Object.fromEntries(Object.entries<any>(schema.properties ?? {}).map(([key, sub]) => [key, sampleOf(sub, n)]));
  }
  if (type === "array") return [sampleOf(schema.items, n)];
  if (type === "string") return "fz";
  if (type === "integer" || type === "number") return 1;
  if (type === "boolean") return true;
  return null;
}

/** The raw JSON text of a nasty value, and a short description for repros. */
function nastyText(v: Nasty): { text: string; short: string } {
  switch (v.kind) {
    case "json": {
      const text = JSON.stringify(v.value) ?? "null";
      return { text, short: text.length > 60 ? text.slice(0, 57) + "..." : text };
    }
    case "literal":
      return { text: v.text, short: v.text };
    case "deep":
      return v.open === "["
        ? { text: "[".repeat(v.depth) + "]".repeat(v.depth), short: `<array nested ${v.depth} deep>` }
        : { text: '{"a":'.repeat(v.depth) + "1" + "}".repeat(v.depth), short: `<object nested ${v.depth} deep>` };
    case "wide":
      return { text: "{" + Array.from({ length: v.keys }, (_, i) => `"k${i}":${i}`).join(",") + "}", short: `<object with ${v.keys} keys>` };
    case "longArray":
      return { text: "[" + Array.from({ length: v.length }, () => "0").join(",") + "]", short: `<array of ${v.length} zeros>` };
    case "long":
      return { text: '"' + v.char.repeat(v.length) + '"', short: `<string of ${v.length} × ${JSON.stringify(v.char)}>` };
  }
}

function buildBody(recipe: BodyRecipe, method: string, template: string, world: World, schema: any): { body: string | Uint8Array<ArrayBuffer> | undefined; short: string } {
  switch (recipe.kind) {
    case "none":
      return { body: undefined, short: "(none)" };
    case "text":
      return { body: recipe.text, short: JSON.stringify(recipe.text).slice(0, 80) };
    case "bytes":
      return { body: new Uint8Array(recipe.bytes), short: `<${recipe.bytes.length} random bytes>` };
    case "json": {
      let root: unknown = recipe.base.kind === "valid" ? validBody(method, template, world, recipe.base.n, schema) : recipe.base.value;
      const slots: { text: string; short: string }[] = [];
      // Each nasty value sits in the tree as a marker string, replaced by its raw text after stringify:
      // some (deep nesting, -0, 1e400) cannot go through JSON.stringify.
      const marker = (value: Nasty) => `@@FZ${slots.push(nastyText(value)) - 1}@@`;
      for (const m of recipe.mutations) {
        const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
        if (m.target === "root" || !isObject(root)) {
          root = marker(m.value);
          continue;
        }
        const keys = Object.keys(root);
        const documented = Object.keys(schema?.properties ?? {});
        if (m.target === "field" && documented.length) {
          root[pick(documented, m.pick)!] = marker(m.value);
        } else if (m.target === "new" || keys.length === 0) {
          root[pick(NEW_KEYS, m.pick)!] = marker(m.value);
        } else if (m.target === "nested") {
          const holder = keys.map((k) => root && (root as Record<string, unknown>)[k]).find((x) => typeof x === "object" && x !== null);
          if (Array.isArray(holder)) holder[m.pick % (holder.length + 1)] = marker(m.value);
          else if (isObject(holder)) holder[pick(Object.keys(holder).concat("zz_nested"), m.pick)!] = marker(m.value);
          else root[pick(keys, m.pick)!] = marker(m.value);
        } else {
          root[pick(keys, m.pick)!] = marker(m.value);
        }
      }
      const json = JSON.stringify(root) ?? "null";
      const fill = (field: "text" | "short") => json.replace(/"@@FZ(\d+)@@"/g, (_, i: string) => slots[Number(i)]![field]);
      const short = fill("short");
      return { body: fill("text"), short: short.length > 300 ? short.slice(0, 297) + "..." : short };
    }
  }
}

function buildParam(p: ParamRecipe, pool: Owned[] | null): string {
  if (p.kind === "existing") {
    const found = pick(pool ?? [], p.n);
    return found ? encodeURIComponent(found.id) : "missing";
  }
  return p.encode ? encodeURIComponent(p.text) : p.text;
}

function fittingQueryValue(name: string, n: number, world: World): string {
  switch (name) {
    case "limit":
      return String(1 + (n % 1000));
    case "since":
    case "until":
      return pick(["2020-01-01T00:00:00Z", new Date().toISOString(), "2030-01-01", "1700000000000"], n)!;
    case "tenant":
      return pick(["acme", "globex", "default", "nobody"], n)!;
    case "status":
      return pick(["pending", "delivering", "succeeded", "failed", "cancelled"], n)!;
    case "bucket":
      return pick(["1m", "5m", "15m", "1h", "1d"], n)!;
    case "type":
    case "event_type":
      return pick(world.pools.eventType.map((t) => t.id), n) ?? "order.created";
    case "destination":
    case "destination_id":
      return pick(world.pools.destination.map((t) => t.id), n) ?? "x";
    case "event_id":
      return pick(world.pools.event.map((t) => t.id), n) ?? "x";
    case "cursor":
      return pick(world.pools.event.map((t) => t.id).concat(world.pools.destination.map((t) => t.id)), n) ?? "x";
  }
  return "fz";
}

const BODYLESS = new Set(["GET", "HEAD"]);

export function buildRequest(recipe: Recipe, ops: Operation[], world: World): BuiltRequest {
  const op = recipe.op >= 0 ? ops[recipe.op % ops.length]! : null;
  const method = recipe.method ?? op?.method ?? "GET";
  const pool = op ? poolFor(op.template) : null;
  let path = recipe.unknownPath;
  let routeIntact = op !== null;
  if (op) {
    let i = 0;
    path = op.template.replace(/\{\w+\}/g, () => {
      const segment = buildParam(recipe.params[i++ % recipe.params.length]!, pool ? world.pools[pool] : null);
      // URL parsing resolves these (%2e is a dot to it), so the request lands on another path.
      if (/^(\.|%2e){0,2}$/i.test(segment) || /\/|%2f/i.test(segment) || segment.length > 4000) routeIntact = false;
      return segment;
    });
  }
  const names = op?.queryParams.length ? op.queryParams : QUERY_NAMES;
  const pairs: string[] = recipe.query.map(({ name: k, value }) => {
    const name = pick(names, k)!;
    const text = value.kind === "fitting" ? fittingQueryValue(name, value.n, world) : value.text;
    return `${name}=${encodeURIComponent(text)}`;
  });
  for (const [k, v] of recipe.junkQuery) pairs.push(`${k}=${v.includes("%") ? v : encodeURIComponent(v)}`);
  const target = path + (pairs.length ? "?" + pairs.join("&") : "");

  let role: Role | null = null;
  const headers: Record<string, string> = {};
  const auth = recipe.auth;
  if (auth.kind === "role") {
    role = auth.role;
    // Keep the seeded resources: a DELETE that could succeed on one goes with a token that may not do it.
    if (method === "DELETE" && op && [...world.protectedIds].some((id) => path.includes("/" + encodeURIComponent(id)))) role = auth.role === "globex" ? "acme" : "globex";
    headers.authorization = `Bearer ${world.tokens[role]}`;
  } else if (auth.kind === "raw") {
    headers.authorization = auth.value.replace(/\{(admin|acme|globex)\}/g, (_, r: Role) => world.tokens[r]).replace(/é/g, "\xe9");
    // As above: no raw form of a real token may delete (a seeded) resource.
    if (method === "DELETE") for (const token of Object.values(world.tokens)) headers.authorization = headers.authorization.replaceAll(token, "not-a-real-token-0000");
  }
  if (recipe.idempotencyKey !== null) headers["idempotency-key"] = recipe.idempotencyKey;
  if (recipe.contentType !== null) headers["content-type"] = recipe.contentType;
  for (const [k, v] of recipe.extraHeaders) headers[k] = v;

  const built = BODYLESS.has(method) ? { body: undefined, short: "(none)" } : buildBody(recipe.body, method, op?.template ?? "", world, op?.bodySchema);
  const shown = Object.entries(headers)
    .map(([k, v]) => (k === "authorization" ? `auth=${describeAuth(recipe.auth, role)}` : `${k}=${JSON.stringify(v.length > 40 ? v.slice(0, 37) + "..." : v)}`))
    .join(" ");
  return {
    method,
    target,
    route: op?.template ?? "(unknown path)",
    op,
    routeIntact,
    headers,
    body: built.body,
    role,
    summary: `${method} ${target.length > 200 ? target.slice(0, 197) + "..." : target} ${shown || "auth=none"} body=${built.short}`,
  };
}

function describeAuth(auth: AuthRecipe, role: Role | null): string {
  if (auth.kind === "role") return `${role} token`;
  if (auth.kind === "none") return "none";
  return JSON.stringify(auth.value.length > 40 ? auth.value.slice(0, 37) + "..." : auth.value);
}
