// Field rules shared by the config file and the management API (ids, names,
// patterns, URLs, secrets, headers, durations), so both accept the same values.
import { isIP } from "node:net";
import { type } from "arktype";
import { Cron } from "croner";
import { formatDuration, formatSize, parseDuration, parseSize } from "./durations.ts";

export const HOUR = 3_600_000;
export const ID = /^[a-zA-Z0-9_-]{1,64}$/;
export const EVENT_TYPE_NAME = /^(?=.{1,128}$)[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/;
export const EVENT_TYPE_PATTERN = /^(\*|(?=.{1,128}(\.\*)?$)[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*(\.\*)?)$/;
// Labels as RFC 1123 allows, plus "_", which Docker and Compose service names use.
export const LABEL = "[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?";
export const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(\\.${LABEL})*$`);
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/; // RFC 9110 "token"
// Herald sets these itself; letting a destination override them would break signatures or framing.
export const RESERVED_HEADERS = [
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "content-type",
  "content-length",
  "host",
];

export const Id = type(ID).describe("an id of 1 to 64 letters, digits, _ or -");
export const Tenant = type(ID).describe("a tenant name of 1 to 64 letters, digits, _ or -");
export const EventTypeName = type(EVENT_TYPE_NAME).describe(
  "an event type name such as sync.completed (letters, digits, _ or -, dot-separated, at most 128 characters)",
);
export const EventTypePattern = type(EVENT_TYPE_PATTERN).describe('"*", an event type name, or a name followed by ".*"');
export const Sha256Hex = type(/^[0-9a-fA-F]{64}$/)
  .describe("64 hexadecimal digits (a SHA-256 hash)")
  .pipe((hex) => hex.toLowerCase());
export const StringMap = type({ "[string]": "string" });

/** A duration string ("5s") as milliseconds, within [min, max]. */
export function duration(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return type("unknown").pipe((value, ctx) => {
    const ms = typeof value === "string" ? parseDuration(value) : undefined;
    if (ms === undefined) return ctx.error("a duration such as 500ms, 5s, 10m, 2h or 5d");
    if (ms < min) return ctx.error(`at least ${formatDuration(min)}`);
    if (ms > max) return ctx.error(`at most ${formatDuration(max)}`);
    return ms;
  });
}

/** A size ("1MiB", "4096") as bytes, at least min. */
export function size(min = 0) {
  return type("unknown").pipe((value, ctx) => {
    const bytes = typeof value === "string" || typeof value === "number" ? parseSize(value) : undefined;
    if (bytes === undefined) return ctx.error("a size such as 4096, 512KiB, 1MiB or 10MB");
    if (bytes < min) return ctx.error(`at least ${formatSize(min)}`);
    return bytes;
  });
}

/** A croner pattern, checked by building the job the way the engine will (paused, so no timer). */
export const CronSchedule = type("string").narrow((pattern, ctx) => {
  try {
    // Two upcoming runs: a pattern that never matches ("0 0 31 2 *") or a one-off date is no schedule.
    if (new Cron(pattern, { paused: true }).nextRuns(2).length === 2) return true;
    return ctx.reject({ problem: "is not a repeating schedule" });
  } catch (error) {
    const reason = String((error as Error).message ?? error).replace(/^CronPattern: /, "");
    return ctx.reject({ problem: `is not a valid cron pattern: ${reason}` });
  }
});

export const Host = type("string")
  .narrow((host, ctx) => {
    const problem = hostProblem(host);
    return problem === undefined || ctx.reject({ problem });
  })
  .pipe((host) => host.toLowerCase());

function hostProblem(host: string): string | undefined {
  const slash = host.indexOf("/");
  if (slash < 0) {
    return isIP(host) || HOSTNAME.test(host) ? undefined : "must be a hostname, an IP address or a CIDR such as 10.0.0.0/8";
  }
  const version = isIP(host.slice(0, slash));
  const bits = host.slice(slash + 1);
  if (version && /^\d{1,3}$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128)) return undefined;
  return "must be a CIDR such as 10.0.0.0/8 or fd00::/8";
}

export const HttpUrl = type("string").narrow((url, ctx) => {
  const protocol = URL.canParse(url) ? new URL(url).protocol : "";
  return protocol === "http:" || protocol === "https:" || ctx.reject({ expected: "an http:// or https:// URL" });
});

// Standard Webhooks secrets; the value is never echoed in the message.
export const Secret = type("string").narrow((secret, ctx) => {
  const base64 = secret.startsWith("whsec_") ? secret.slice(6) : "";
  const valid = /^[A-Za-z0-9+/]+={0,2}$/.test(base64) && base64.length % 4 === 0;
  const bytes = valid ? Buffer.from(base64, "base64").length : 0;
  const expected = "whsec_ followed by the base64 of 24 to 64 random bytes";
  return (bytes >= 24 && bytes <= 64) || ctx.reject({ expected, actual: "" });
});

// Header values may hold credentials, so they are never echoed either.
export const Headers = StringMap.narrow((headers, ctx) => {
  const seen = new Map<string, string>();
  let ok = true;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    // One problem per header: arktype merges several at one path into an unreadable one.
    const problem = !HEADER_NAME.test(name)
      ? "is not a valid HTTP header name"
      : RESERVED_HEADERS.includes(lower)
        ? "is set by Herald and cannot be overridden"
        : seen.has(lower)
          ? `repeats the header ${seen.get(lower)} (names are case-insensitive)`
          : /[\r\n\0]/.test(value)
            ? "must not contain line breaks or NUL characters"
            : undefined;
    if (problem) ok = ctx.reject({ path: [...ctx.path, name], problem });
    seen.set(lower, name);
  }
  return ok;
});

export const JsonSchema = type({ "[string]": "unknown" }).narrow(
  (schema, ctx) => !Array.isArray(schema) || ctx.reject({ expected: "a JSON Schema object" }),
);

