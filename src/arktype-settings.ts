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
});
