// Event-type JSON Schemas: checked once when an event type is stored (size, depth,
// regular expressions, references), then used to check each event's `data`.
// Validators are compiled once per schema object and kept while the catalogue keeps it.
import {
  dereference, schemaArrayKeyword, schemaKeyword, schemaMapKeyword, Validator, type Schema,
} from "@cfworker/json-schema";

// Bounds on a stored schema. Real event schemas are a few KiB and under ten objects
// deep; each object level is two JSON levels ("properties" → "name"), so 64 levels is
// 32 object levels. A schema past these is a mistake or an attack: checking it (and the
// library's recursion over it, ~5 frames per level) could exhaust the stack.
export const MAX_SCHEMA_BYTES = 64 * 1024;
export const MAX_SCHEMA_DEPTH = 64;

const TYPES = new Set(["null", "boolean", "object", "array", "number", "integer", "string"]);

export type SchemaProblem = { path: (string | number)[]; message: string };
type Node = Record<string, unknown>;

const validators = new WeakMap<object, Validator>();

/**
 * The reasons a schema cannot be stored, with paths inside the schema; empty when
 * it is usable. Never throws, whatever the input.
 */
export function checkSchema(schema: object): SchemaProblem[] {
  const depth = depthOf(schema, MAX_SCHEMA_DEPTH);
  if (depth > MAX_SCHEMA_DEPTH) return [{ path: [], message: `is nested more than ${MAX_SCHEMA_DEPTH} levels deep` }];
  const json = JSON.stringify(schema);
  if (Buffer.byteLength(json) > MAX_SCHEMA_BYTES) return [{ path: [], message: `is larger than ${MAX_SCHEMA_BYTES / 1024} KiB` }];
  // A copy: the library marks the objects it reads (and the config's are frozen).
  const copy = JSON.parse(json) as Node;
  let lookup: Record<string, unknown>;
  try {
    lookup = dereference(copy as Schema); // what the Validator does first, and where it throws
  } catch (error) {
    return [{ path: [], message: `is not a usable JSON Schema: ${(error as Error).message.split("\n")[0]}` }];
  }
  const problems: SchemaProblem[] = [];
  walk(copy, [], (node, path) => checkNode(node, path, lookup, problems));
  return problems;
}

/** Checks `data` against a schema that checkSchema() accepted. Never throws. */
export function validateData(schema: object, data: unknown): { path: string; message: string }[] {
  let result;
  try {
    let validator = validators.get(schema);
    if (!validator) {
      validator = new Validator(schema as Schema, "2020-12", false);
      validators.set(schema, validator);
    }
    result = validator.validate(data);
  } catch (error) {
    // Data nested deeper than the stack allows (a recursive schema meets [[[…]]]), or a
    // schema stored before these checks existed: the publish is refused, not a 500.
    const reason = error instanceof RangeError ? "is nested too deeply to be checked against the schema" : "could not be checked against the schema";
    return [{ path: "data", message: reason }];
  }
  if (result.valid) return [];
  // The library reports every keyword that failed up the tree; the leaves say the most.
  return result.errors
    .filter((e) => !["properties", "items", "allOf", "anyOf", "oneOf", "$ref"].includes(e.keyword))
    .map((e) => ({ path: pointerToPath(e.instanceLocation), message: e.error }));
}

/** "schema" + ["properties", "a b", 0] → "schema.properties["a b"][0]" */
export function formatSchemaPath(prefix: string, path: readonly (string | number)[]): string {
  return path.reduce<string>((text, key) => text + (typeof key === "number" ? `[${key}]` : /^[A-Za-z_$][\w$-]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`), prefix);
}

/** The nesting depth of a JSON value, counted without recursion and given up past `limit`. */
function depthOf(value: unknown, limit: number): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    if (depth > deepest) deepest = depth;
    if (deepest > limit) return deepest;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return deepest;
}

/** Visits every subschema, following the keywords that hold schemas, as the library does. */
function walk(node: unknown, path: (string | number)[], visit: (node: Node, path: (string | number)[]) => void): void {
  if (typeof node !== "object" || node === null || Array.isArray(node)) return;
  const schema = node as Node;
  visit(schema, path);
  for (const [key, value] of Object.entries(schema)) {
    if (key in schemaArrayKeyword && Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, key, i], visit));
    // `dependencies` (draft 2019-09) maps names to schemas or to lists of names.
    else if ((key in schemaMapKeyword || key === "dependencies") && typeof value === "object" && value !== null) {
      for (const [name, item] of Object.entries(value)) walk(item, [...path, key, name], visit);
    } else if (key in schemaKeyword) walk(value, [...path, key], visit);
  }
}

/** What the library would only find out while checking data, and then throw. */
function checkNode(node: Node, path: (string | number)[], lookup: Record<string, unknown>, problems: SchemaProblem[]): void {
  const regexProblem = (source: unknown): string | undefined => {
    if (typeof source !== "string") return "must be a string";
    try {
      new RegExp(source, "u"); // the flag the library uses
      return undefined;
    } catch (error) {
      return `is not a valid regular expression: ${(error as Error).message.replace(/^Invalid regular expression: /, "")}`;
    }
  };
  if ("pattern" in node) {
    const problem = regexProblem(node.pattern);
    if (problem) problems.push({ path: [...path, "pattern"], message: problem });
  }
  if (typeof node.patternProperties === "object" && node.patternProperties !== null) {
    for (const source of Object.keys(node.patternProperties)) {
      const problem = regexProblem(source);
      if (problem) problems.push({ path: [...path, "patternProperties"], message: `has a key that ${problem}` });
    }
  }
  if ("$ref" in node) {
    // The library resolved each $ref against the document; anything outside it is unknown.
    const target = (node as { __absolute_ref__?: string }).__absolute_ref__ ?? node.$ref;
    if (typeof node.$ref !== "string" || lookup[String(target)] === undefined) {
      problems.push({ path: [...path, "$ref"], message: "must point inside this schema (such as #/$defs/name); other documents cannot be fetched" });
    }
  }
  if ("type" in node) {
    const types = Array.isArray(node.type) ? node.type : [node.type];
    if (types.length === 0 || !types.every((t) => typeof t === "string" && TYPES.has(t))) {
      problems.push({ path: [...path, "type"], message: `must be one of ${[...TYPES].join(", ")}, or a list of them` });
    }
  }
}

/** "#/order/items/0" → "data.order.items[0]" */
function pointerToPath(pointer: string): string {
  const parts = pointer.replace(/^#\/?/, "").split("/").filter(Boolean);
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : `${path}.${part.replace(/~1/g, "/").replace(/~0/g, "~")}`), "data");
}
