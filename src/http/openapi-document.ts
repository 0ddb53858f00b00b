// The OpenAPI document at /openapi.json. @elysiajs/openapi builds it from the
// routes' arktype schemas and `detail`s (operationId, summary, tags); this module
// finishes the few things the plugin does not do with arktype schemas, from the
// same definitions, never from a second copy of them: named component schemas,
// parameter descriptions, request examples, no-content answers, header names.
import { toOpenAPISchema } from "@elysiajs/openapi";
import type { AnyElysia } from "elysia";
import { VERSION } from "../version.ts";

/** One tag per route group, in the order Swagger UI shows them. */
export const TAGS = [
  { name: "Events", description: "Publish events (one or a batch, now or scheduled), list and read them with their deliveries, cancel the deliveries not yet made." },
  { name: "Deliveries", description: "Each event's job towards each destination: list, read with every attempt, retry one or many; delivery counts over time." },
  { name: "Destinations", description: "The HTTP endpoints that receive webhooks: their URL, signing secret, static headers and limits; test sends, enable/disable, recovery, health." },
  { name: "Subscriptions", description: "Which event types (patterns and an optional payload filter) go to which destination." },
  { name: "Backfills", description: "Deliver the stored events a subscription missed, in the background." },
  { name: "Event types", description: "The catalogue of event types: names, descriptions, JSON Schemas for `data` and example payloads." },
  { name: "Audit", description: "Every management change: who, when, what, to which resource." },
  { name: "API keys", description: "Keys with roles (admin, tenant, publisher, reader), issued and revoked through the API; admin only." },
  { name: "Portal links", description: "Console links signed in as one tenant, for that tenant's people; admin only." },
  { name: "Access", description: "What the presented token is and may do." },
  { name: "Health", description: "Liveness and readiness probes and Prometheus metrics." },
];

// Morphs (a parse step, or a function) have no JSON Schema of their own. A parse
// into a checked type (`limit`: text → an integer from 1 to 1000) is shown as the
// value it parses to; a function (durations such as "30m", lower-casing) as the
// input it takes. Custom checks (narrow) show their base type; descriptions say the rule.
type Fallback = { base: object; out?: object | null };
const FALLBACK = { predicate: (ctx: Fallback) => ctx.base, morph: (ctx: Fallback) => ctx.out ?? ctx.base };
const MAP_JSON_SCHEMA = { arktype: (schema: { toJsonSchema(options: object): object }) => schema.toJsonSchema({ fallback: FALLBACK }) };

type Node = Record<string, unknown>;
const isNode = (value: unknown): value is Node => typeof value === "object" && value !== null && !Array.isArray(value);

/** Keys whose values are data (examples, constants), not schemas: never searched for named schemas. */
const DATA_KEYS = new Set(["example", "examples", "const", "enum", "default"]);

/**
 * arktype writes a described union of literals ('24h' | '7d', described) as
 * anyOf [{const, description}, …], the description repeated in each branch;
 * this makes it the `enum` it is, described once.
 */
function asEnum(schema: Node): Node {
  const branches = schema.anyOf;
  if (!Array.isArray(branches) || !branches.every((b) => isNode(b) && "const" in b && Object.keys(b).every((k) => k === "const" || k === "description"))) return schema;
  const descriptions = new Set(branches.map((b) => (b as Node).description));
  if (descriptions.size !== 1) return schema;
  const { anyOf: _, ...rest } = schema;
  const values = branches.map((b) => (b as Node).const);
  const [description] = descriptions;
  return {
    ...(values.every((v) => typeof v === "string") ? { type: "string" } : {}),
    enum: values,
    ...rest,
    ...(description === undefined ? {} : { description }),
  };
}

/**
 * Copies a JSON Schema, replacing each schema that carries a `title` (given by
 * `.configure({ title })` on its arktype definition, e.g. Event) with a `$ref` to
 * the component of that name, added to `components`. Innermost first, so an
 * EventList refers to Event rather than holding a copy. A title met again must
 * name the very same schema: arktype keeps a title through `.and()`, so an
 * extended type that forgot its own title would otherwise pass for the original.
 */
function named(value: unknown, components: Record<string, Node>): unknown {
  if (Array.isArray(value)) return value.map((item) => named(item, components));
  if (!isNode(value)) return value;
  const copied: Node = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === "$schema") continue; // the document's dialect holds for every schema in it
    copied[key] = DATA_KEYS.has(key) ? child : named(child, components);
  }
  const copy = asEnum(copied);
  const title = copy.title;
  if (typeof title !== "string") return copy;
  const known = components[title];
  if (known && !Bun.deepEquals(known, copy, true)) {
    throw new Error(`two different schemas are titled ${title}: give the derived one its own title`);
  }
  components[title] = copy;
  return { $ref: `#/components/schemas/${title}` };
}

/** What each status means in this API (DESIGN §4), for answers the route's schema does not describe. */
const STATUS_TEXT: Record<string, string> = {
  200: "OK",
  201: "Created",
  202: "Accepted",
  204: "Done; no content",
  400: "Invalid input: `details` names each problem's field",
  401: "No valid bearer token",
  403: "Outside the token's role, tenant or event types",
  404: "Not found (another tenant's resources read as not found)",
  409: "Conflict: a duplicate id or idempotency key, a resource the config owns, or a state that does not allow it",
  413: "The body is larger than server.max_body",
  429: "Too many failed authentications from this address",
  503: "Not ready, or the store cannot answer; the request may be repeated",
};

/** HTTP's usual spelling of a header name (Elysia validates headers lower-cased): idempotency-key → Idempotency-Key. */
const headerName = (name: string) => name.replace(/(^|-)([a-z])/g, (_, dash: string, letter: string) => dash + letter.toUpperCase());

/** The finishing steps for one operation; its schemas are already named. */
function finishOperation(operation: Node, components: Record<string, Node>): void {
  // A parameter's description belongs beside it, where Swagger UI and generators show it.
  for (const parameter of (operation.parameters ?? []) as Node[]) {
    const schema = parameter.schema as Node;
    if (typeof schema.description === "string") {
      parameter.description = schema.description;
      delete schema.description;
    }
    if (parameter.in === "header") parameter.name = headerName(parameter.name as string);
  }
  // A request body's example (its schema's first `examples` entry) is what "Try it out" starts from.
  const body = operation.requestBody as Node | undefined;
  for (const media of Object.values((body?.content ?? {}) as Record<string, Node>)) {
    const ref = (media.schema as Node).$ref;
    const schema = typeof ref === "string" ? components[ref.slice(ref.lastIndexOf("/") + 1)]! : (media.schema as Node);
    const examples = schema.examples;
    if (Array.isArray(examples) && examples.length) media.example = examples[0];
  }
  for (const [status, response] of Object.entries((operation.responses ?? {}) as Record<string, Node>)) {
    // The plugin describes an answer by its schema's description, or "Response for status N".
    if (Number(status) >= 400 || /^Response for status/.test(response.description as string)) response.description = STATUS_TEXT[status] ?? response.description;
    // NoContent (null) answers: the plugin writes `content: {type: "null"}`, which is no media type.
    if ((response.content as Node | undefined)?.type === "null") delete response.content;
    if (status === "429") response.headers = { "Retry-After": { description: "seconds to wait before trying again", schema: { type: "integer", minimum: 1 } } };
  }
}

export type DocumentInfo = { title: string; description: string };

/**
 * The whole document, built once on first use (every route is registered by
 * then) and kept: routes never change while Herald runs.
 */
export function openApiDocument(app: AnyElysia, info: DocumentInfo): () => object {
  let document: object | undefined;
  return () => (document ??= build(app, info));
}

/** Every route but those marked `detail: { hide: true }` (the console, Swagger UI, the document itself). */
function build(app: AnyElysia, info: DocumentInfo): object {
  const generated = toOpenAPISchema(app, undefined, undefined, MAP_JSON_SCHEMA, "3.1.2");
  const components: Record<string, Node> = {};
  const paths = named(generated.paths, components) as Record<string, Record<string, Node>>;
  for (const operations of Object.values(paths)) for (const operation of Object.values(operations)) finishOperation(operation, components);
  return {
    openapi: "3.1.2",
    info: { ...info, version: VERSION },
    tags: TAGS,
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => (a < b ? -1 : 1))),
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
    },
  };
}
