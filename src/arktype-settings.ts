// arktype's settings, in one place. main.ts imports this module before anything
// else (so they hold when arktype first loads), the tests preload it (bunfig.toml),
// and the HTTP server imports it for the OpenAPI settings it relies on.
import { configure } from "arktype/config";

configure({
  // arktype otherwise compiles every validator, its own built-in keywords
  // included, into generated JavaScript as it loads, and the JIT then compiled
  // much of that: ~20 MiB of the binary's idle memory (95 → 75 MiB). The
  // interpreted checks it falls back to take ~0.4 µs per request body instead
  // of ~0.06 µs: little against the ~60 µs a publish costs.
  jitless: true,
  // Rules with custom checks (URLs, header names, secrets) and parsing steps
  // (limits, durations) have no JSON Schema form: the OpenAPI document shows
  // their base type, and their descriptions say the rule.
  toJsonSchema: { fallback: { predicate: (ctx) => ctx.base, morph: (ctx) => ctx.base } },
  // What an error says it found ("must be boolean (was …)"). arktype prints the
  // whole value by default: for 1 MiB of nested arrays that print took 2.4 s, and
  // Elysia asks for it several times per bad request. These kinds print a small
  // value and otherwise name its kind, as the "domain" kind always does.
  unit: { actual: briefly },
  predicate: { actual: briefly },
  pattern: { actual: briefly },
  divisor: { actual: briefly },
  union: { actual: briefly },
});

const MAX_PRINTED = 64;

/** A value as an error message shows it: `"yes"`, `[1]`, or, when longer, "a string", "an object". */
function briefly(data: unknown): string {
  if (typeof data === "string") return data.length <= MAX_PRINTED ? JSON.stringify(data) : "a string";
  if (typeof data !== "object" || data === null) return typeof data === "bigint" ? `${data}n` : String(data);
  // Only a few primitives are printed, so the cost never depends on the value's size.
  const items = Array.isArray(data) ? data : Object.values(data);
  if (items.length <= 4 && items.every((item) => typeof item !== "object" || item === null)) {
    const printed = JSON.stringify(data);
    if (printed !== undefined && printed.length <= MAX_PRINTED) return printed;
  }
  return "an object";
}

