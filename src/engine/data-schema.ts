// Checks an event's `data` against its event type's JSON Schema. Validators
// are compiled once per schema object and kept while the catalogue keeps it.
import { Validator, type Schema } from "@cfworker/json-schema";

const validators = new WeakMap<object, Validator>();

export function validateData(schema: object, data: unknown): { path: string; message: string }[] {
  let validator = validators.get(schema);
  if (!validator) {
    validator = new Validator(schema as Schema, "2020-12", false);
    validators.set(schema, validator);
  }
  const result = validator.validate(data);
  if (result.valid) return [];
  // The library reports every keyword that failed up the tree; the leaves say the most.
  return result.errors
    .filter((e) => !["properties", "items", "allOf", "anyOf", "oneOf", "$ref"].includes(e.keyword))
    .map((e) => ({ path: pointerToPath(e.instanceLocation), message: e.error }));
}

/** "#/order/items/0" → "data.order.items[0]" */
function pointerToPath(pointer: string): string {
  const parts = pointer.replace(/^#\/?/, "").split("/").filter(Boolean);
  return parts.reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : `${path}.${part.replace(/~1/g, "/").replace(/~0/g, "~")}`), "data");
}
