// Bounds on the shape of a parsed JSON request body (depth, keys per object,
// items per array, string length), checked before any validation runs, so that
// no body can make arktype, JSON Schema checks or SQLite slow, deep or large.

export interface JsonLimits {
  /** Deepest nesting of objects and arrays; the body itself is depth 1. */
  maxDepth: number;
  /** Most keys in any one object. */
  maxKeys: number;
  /** Most items in any one array. */
  maxArray: number;
  /** Longest string, key or value, in UTF-16 code units (JavaScript's length). */
  maxString: number;
}

export interface JsonLimitBreach {
  /** The setting that was exceeded, as named in the config. */
  setting: "server.max_depth" | "server.max_keys" | "server.max_array" | "server.max_string";
  limit: number;
  /** Where it was exceeded, as in validation details ("events[3].data.tags"); "" is the body. */
  path: string;
}

// Each value on the stack knows its parent, so a path is spelled out only for a breach.
type Step = { value: unknown; depth: number; key: string | number | null; parent: Step | null };

/**
 * The first bound the value breaks, or null. Iterative (an explicit stack), so a
 * value nested 200,000 deep costs a loop, not a stack overflow; every value is
 * visited once, so the cost is linear in the size of the body.
 */
export function checkJsonLimits(root: unknown, limits: JsonLimits): JsonLimitBreach | null {
  const stack: Step[] = [{ value: root, depth: 1, key: null, parent: null }];
  while (stack.length > 0) {
    const step = stack.pop()!;
    const { value, depth } = step;
    if (typeof value === "string") {
      if (value.length > limits.maxString) return { setting: "server.max_string", limit: limits.maxString, path: pathOf(step) };
      continue;
    }
    if (typeof value !== "object" || value === null) continue;
    if (depth > limits.maxDepth) return { setting: "server.max_depth", limit: limits.maxDepth, path: pathOf(step) };
    if (Array.isArray(value)) {
      if (value.length > limits.maxArray) return { setting: "server.max_array", limit: limits.maxArray, path: pathOf(step) };
      for (let i = value.length - 1; i >= 0; i--) stack.push({ value: value[i], depth: depth + 1, key: i, parent: step });
      continue;
    }
    const keys = Object.keys(value);
    if (keys.length > limits.maxKeys) return { setting: "server.max_keys", limit: limits.maxKeys, path: pathOf(step) };
    for (let i = keys.length - 1; i >= 0; i--) {
      const child: Step = { value: (value as Record<string, unknown>)[keys[i]!], depth: depth + 1, key: keys[i]!, parent: step };
      if (keys[i]!.length > limits.maxString) return { setting: "server.max_string", limit: limits.maxString, path: pathOf(child) };
      stack.push(child);
    }
  }
  return null;
}

// Paths name keys the client sent: a key of 100 KB must not come back in full,
// nor a path 64 levels deep.
const MAX_KEY_IN_PATH = 64;
const MAX_PATH = 256;

/** "events[3].data.tags", as validation details spell paths; "" is the body itself. */
function pathOf(step: Step): string {
  const parts: string[] = [];
  for (let at: Step | null = step; at && at.key !== null; at = at.parent) {
    if (typeof at.key === "number") parts.push(`[${at.key}]`);
    else parts.push(`.${at.key.length > MAX_KEY_IN_PATH ? `${at.key.slice(0, MAX_KEY_IN_PATH)}…` : at.key}`);
  }
  const path = parts.reverse().join("").replace(/^\./, "");
  return path.length > MAX_PATH ? `…${path.slice(-MAX_PATH)}` : path;
}

/** What the client is told: the bound and where, never the offending input itself. */
export function describeBreach(breach: JsonLimitBreach): string {
  // The setting comes before the path: a long path may be clipped, the setting must not be.
  const where = breach.path ? `at ${breach.path}` : "at the top of the body";
  switch (breach.setting) {
    case "server.max_depth":
      return `the request body is nested more than ${breach.limit} levels deep (server.max_depth) ${where}`;
    case "server.max_keys":
      return `an object in the request body has more than ${breach.limit} keys (server.max_keys) ${where}`;
    case "server.max_array":
      return `an array in the request body has more than ${breach.limit} items (server.max_array) ${where}`;
    case "server.max_string":
      return `a string in the request body is longer than ${breach.limit} characters (server.max_string) ${where}`;
  }
}
