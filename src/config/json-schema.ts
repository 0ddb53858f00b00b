// The JSON Schema of the config file (`herald config-schema`, config.schema.json), made
// from the same arktype definitions the loader validates with, for editors to check
// and complete config.yaml as it is typed.
import { ConfigSchema } from "./schema.ts";

type Node = Record<string, unknown>;

/**
 * Durations and sizes are parsed from text by a morph, which arktype cannot express in
 * JSON Schema (it gives `{}`: anything). They are named here by path; a test fails when
 * a new untyped value appears, so this list cannot silently fall behind the schema.
 */
const DURATIONS = [
  "delivery.timeout", "delivery.retry_schedule[]", "delivery.disable_after", "delivery.breaker.probe_every",
  "delivery.max_schedule_ahead", "retention.keep", "destinations[].timeout",
];
const SIZES = ["server.max_body", "server.max_string", "delivery.keep_response_bytes"];

const DURATION: Node = {
  type: "string",
  pattern: "^\\d+(\\.\\d+)?(ms|s|m|h|d)$",
  description: "a duration: a number and a unit, such as 500ms, 5s, 10m, 2h or 5d",
};
const SIZE: Node = {
  anyOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: "^(\\d+|\\d+(\\.\\d+)?(B|KB|MB|GB|KiB|MiB|GiB))$" },
  ],
  description: "a size in bytes, or a number and a unit, such as 4096, 512KiB, 1MiB or 10MB",
};

/** Values that take any JSON on purpose (an example event, a JSON Schema, a filter's operands). */
export const FREE_FORM = ["event_types[].example", "event_types[].schema{}", "subscriptions[].filter{}"];

export function configJsonSchema(): Node {
  const generated = ConfigSchema.toJsonSchema() as Node;
  const schema = walk(generated, "") as Node;
  // The title first, then what arktype made (its $schema included).
  return { title: "Herald configuration (config.yaml)", ...schema };
}

function walk(node: unknown, path: string): unknown {
  if (Array.isArray(node)) return node.map((item) => walk(item, path));
  if (typeof node !== "object" || node === null) return node;
  const n = node as Node;
  if (DURATIONS.includes(path)) return { ...DURATION, ...withoutMorphBase(n) };
  if (SIZES.includes(path)) return { ...SIZE, ...withoutMorphBase(n) };
  const out: Node = {};
  for (const [key, value] of Object.entries(n)) {
    if (key === "properties") {
      out.properties = Object.fromEntries(Object.entries(value as Node).map(([name, child]) => [name, walk(child, path ? `${path}.${name}` : name)]));
    } else if (key === "items") out.items = walk(value, `${path}[]`);
    else if (key === "additionalProperties" && typeof value === "object") out.additionalProperties = walk(value, `${path}{}`);
    else out[key] = value;
  }
  return out;
}

/** What arktype put beside the morph's `{}`: its default, kept. */
function withoutMorphBase(node: Node): Node {
  return node.default === undefined ? {} : { default: node.default };
}

/** Paths of values the schema leaves untyped (no type, enum or anyOf), for the test that guards DURATIONS and SIZES. */
export function untypedPaths(node: unknown, path = ""): string[] {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return [];
  const n = node as Node;
  const found: string[] = [];
  if (path !== "" && n.type === undefined && n.enum === undefined && n.anyOf === undefined && n.const === undefined) found.push(path);
  for (const [name, child] of Object.entries((n.properties ?? {}) as Node)) found.push(...untypedPaths(child, path ? `${path}.${name}` : name));
  if (n.items !== undefined) found.push(...untypedPaths(n.items, `${path}[]`));
  if (typeof n.additionalProperties === "object") found.push(...untypedPaths(n.additionalProperties, `${path}{}`));
  return found;
}
