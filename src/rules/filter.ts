// Payload filters of subscriptions: a small MongoDB-like query matched against
// `{type, tenant, data}` of each event, and the validation run when one is saved.
//
// A filter maps dotted field paths (`data.order.total`, `data.items.0.sku`) to a
// literal (deep JSON equality) or an operator object (`{$gte: 10, $lt: 20}`, all
// must hold), plus the logical keys `$and`, `$or` (arrays of filters) and `$not`.
// `{}` matches everything. There is no implicit array matching: `data.tags: "x"`
// equals only the value "x", use `data.tags.0` or `$in` instead.

export type FilterProblem = { path: string; message: string };
type FilterEvent = { type: string; tenant: string; data: unknown };
type Json = Record<string, unknown>;

const FIELD_OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$startsWith"];
const LOGICAL_OPERATORS = ["$and", "$or", "$not"];
const ROOTS = ["type", "tenant", "data"];

// Filters are evaluated for every event of every matching subscription, so their
// cost is capped when saved. The depth cap also bounds the recursion of matching,
// since equality only descends as deep as the filter's own literal.
const MAX_DEPTH = 16;
const MAX_VALUES = 1000;

const MISSING = Symbol("missing");

// ---- matching ----

/** Whether the event passes the filter. Expects a filter that passed validateFilter;
 * an unknown operator simply does not match. */
export function matchesFilter(filter: object, event: FilterEvent): boolean {
  return matchAll(filter, { type: event.type, tenant: event.tenant, data: event.data });
}

function matchAll(filter: unknown, doc: Json): boolean {
  if (!isObject(filter)) return false;
  return Object.entries(filter).every(([key, value]) => matchKey(key, value, doc));
}

function matchKey(key: string, value: unknown, doc: Json): boolean {
  if (key === "$and") return Array.isArray(value) && value.every((f) => matchAll(f, doc));
  if (key === "$or") return Array.isArray(value) && value.some((f) => matchAll(f, doc));
  if (key === "$not") return isObject(value) && !matchAll(value, doc);
  if (key.startsWith("$")) return false;
  const field = lookup(doc, key);
  if (isOperatorObject(value)) return Object.entries(value).every(([op, operand]) => matchOperator(op, operand, field));
  return field !== MISSING && jsonEqual(field, value);
}

function matchOperator(op: string, operand: unknown, field: unknown): boolean {
  const found = field !== MISSING;
  switch (op) {
    case "$eq": return found && jsonEqual(field, operand);
    case "$ne": return !found || !jsonEqual(field, operand); // "not equal" holds for an absent field
    case "$in": return found && Array.isArray(operand) && operand.some((x) => jsonEqual(field, x));
    case "$nin": return !found || (Array.isArray(operand) && !operand.some((x) => jsonEqual(field, x)));
    case "$exists": return found === operand;
    case "$startsWith": return typeof field === "string" && typeof operand === "string" && field.startsWith(operand);
    case "$gt": case "$gte": case "$lt": case "$lte": return compare(op, field, operand);
    default: return false;
  }
}

// Numbers compare with numbers and strings with strings (so ISO timestamps order
// correctly); anything else, including a missing field, is not comparable.
function compare(op: string, a: unknown, b: unknown): boolean {
  const comparable = (typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string");
  if (!comparable) return false;
  const [x, y] = [a as number | string, b as number | string];
  return op === "$gt" ? x > y : op === "$gte" ? x >= y : op === "$lt" ? x < y : x <= y;
}

function lookup(doc: unknown, path: string): unknown {
  let current = doc;
  for (const segment of path.split(".")) {
    if (Array.isArray(current) && /^\d+$/.test(segment) && Number(segment) < current.length) current = current[Number(segment)];
    else if (isObject(current) && Object.hasOwn(current, segment)) current = current[segment];
    else return MISSING;
  }
  return current === undefined ? MISSING : current; // undefined is not JSON: absent
}

function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (!isObject(a) || !isObject(b)) return false;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

// ---- validation ----

/** Everything wrong with a filter, each with where it is; empty when the filter is valid. */
export function validateFilter(filter: unknown): FilterProblem[] {
  // Size and JSON-ness first: the structural pass below trusts both.
  const shape = checkShape(filter, "filter", 1, { values: 0 });
  if (shape) return [shape];
  const problems: FilterProblem[] = [];
  checkFilter(filter, "filter", problems);
  return problems;
}

function checkShape(value: unknown, path: string, depth: number, count: { values: number }): FilterProblem | undefined {
  if (++count.values > MAX_VALUES) return { path: "filter", message: `filter has more than ${MAX_VALUES} values` };
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") return Number.isFinite(value) ? undefined : { path, message: "numbers must be finite" };
  const container = Array.isArray(value) || isPlainObject(value);
  if (!container) return { path, message: "must be a JSON value" };
  if (depth > MAX_DEPTH) return { path, message: `nested deeper than ${MAX_DEPTH} levels` };
  const children = Array.isArray(value)
    ? value.map((v, i) => [`${path}[${i}]`, v] as const)
    : Object.entries(value as Json).map(([k, v]) => [`${path}.${k}`, v] as const);
  for (const [at, child] of children) {
    const problem = checkShape(child, at, depth + 1, count);
    if (problem) return problem;
  }
}

function checkFilter(filter: unknown, path: string, out: FilterProblem[]): void {
  if (!isObject(filter)) {
    out.push({ path, message: "a filter must be an object of field paths and $and, $or, $not" });
    return;
  }
  for (const [key, value] of Object.entries(filter)) {
    const at = `${path}.${key}`;
    if (key === "$and" || key === "$or") {
      if (!Array.isArray(value) || value.length === 0) out.push({ path: at, message: `${key} takes a non-empty array of filters` });
      else value.forEach((f, i) => checkFilter(f, `${at}[${i}]`, out));
    } else if (key === "$not") {
      checkFilter(value, at, out);
    } else if (key.startsWith("$")) {
      out.push({ path: at, message: `unknown operator ${key}; use a field path or one of ${LOGICAL_OPERATORS.join(", ")}` });
    } else {
      checkFieldPath(key, at, out);
      if (isOperatorObject(value)) checkOperators(value, at, out);
    }
  }
}

function checkFieldPath(key: string, at: string, out: FilterProblem[]): void {
  const segments = key.split(".");
  if (segments.includes("")) out.push({ path: at, message: "a field path has no empty segments" });
  // Only these three exist on the matched object; `status` alone is a forgotten `data.`.
  else if (!ROOTS.includes(segments[0]!)) out.push({ path: at, message: `a field path starts with ${ROOTS.join(", ")}` });
}

function checkOperators(ops: Json, path: string, out: FilterProblem[]): void {
  const plain = Object.keys(ops).filter((k) => !k.startsWith("$"));
  if (plain.length > 0) {
    out.push({ path, message: `mixes operators with plain keys (${plain.join(", ")}); use either an operator object or a literal` });
    return;
  }
  for (const [op, operand] of Object.entries(ops)) {
    const at = `${path}.${op}`;
    const fail = (message: string) => out.push({ path: at, message });
    switch (op) {
      case "$eq": case "$ne": break; // any JSON value
      case "$gt": case "$gte": case "$lt": case "$lte":
        if (typeof operand !== "number" && typeof operand !== "string") fail(`${op} takes a number or a string`);
        break;
      case "$in": case "$nin":
        if (!Array.isArray(operand)) fail(`${op} takes an array`);
        break;
      case "$exists":
        if (typeof operand !== "boolean") fail("$exists takes true or false");
        break;
      case "$startsWith":
        if (typeof operand !== "string") fail("$startsWith takes a string");
        break;
      default:
        fail(`unknown operator ${op}; use one of ${FIELD_OPERATORS.join(", ")}`);
    }
  }
}

// ---- helpers ----

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPlainObject(value: unknown): boolean {
  if (!isObject(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

// Any `$` key makes the value operators; validation rejects mixing them with plain keys.
function isOperatorObject(value: unknown): value is Json {
  return isObject(value) && Object.keys(value).some((k) => k.startsWith("$"));
}
