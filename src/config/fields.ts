// Field rules shared by the config file and the management API (ids, names,
// patterns, URLs, secrets, headers, durations), so both accept the same values.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { type } from "arktype";
import { Cron } from "croner";
import { checkSchema } from "../rules/data-schema.ts";
import { FRAMING_HEADERS, HEADER_NAME } from "../rules/http-headers.ts";
import { isReservedEventType, RESERVED_EVENT_TYPE } from "../rules/patterns.ts";
import { isValidSecret } from "../rules/secrets.ts";
import { isValidPrivateKey, PRIVATE_KEY_PREFIX } from "../rules/signing-keys.ts";
import { formatDuration, formatSize, parseDuration, parseSize } from "./durations.ts";

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const ID = /^[a-zA-Z0-9_-]{1,64}$/;
export const EVENT_TYPE_NAME = /^(?=.{1,128}$)[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*$/;
export const EVENT_TYPE_PATTERN = /^(\*|(?=.{1,128}(\.\*)?$)[a-zA-Z0-9_-]+(\.[a-zA-Z0-9_-]+)*(\.\*)?)$/;
// Labels as RFC 1123 allows, plus "_", which Docker and Compose service names use.
export const LABEL = "[a-zA-Z0-9_]([a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?";
export const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(\\.${LABEL})*$`);
// HEADER_NAME and FRAMING_HEADERS live with the rules the webhook client shares (it runs on a thread of its own).
export { FRAMING_HEADERS, HEADER_NAME };
/** The Standard Webhooks headers Herald sets on every send. */
export const SIGNATURE_HEADERS = ["webhook-id", "webhook-timestamp", "webhook-signature"];
// Herald sets these itself or they frame the request; letting a destination override them would break signatures or framing.
export const RESERVED_HEADERS = [
  ...SIGNATURE_HEADERS,
  "content-type",
  ...FRAMING_HEADERS,
];

export const Id = type(ID).describe("an id of 1 to 64 letters, digits, _ or -");
export const Tenant = type(ID).describe("a tenant name of 1 to 64 letters, digits, _ or -");
/**
 * An event type's tenants, in the config and the API alike: at least one (null,
 * not [], is every tenant's; an empty list would be a type no tenant may
 * publish). Each tenant named once is checked beside it (config: checkRelations;
 * API: the engine), so a repeat is reported at its own index, tenants[1]: a
 * predicate here would be reported by the API at "tenants", the union's path.
 */
export const EventTypeTenants = Tenant.array()
  .atLeastLength(1)
  .describe("the tenants that may see, publish and receive it (each named once, at least one); null or absent: every tenant")
  .or("null");
export const EventTypeName = type(EVENT_TYPE_NAME).describe(
  "an event type name such as sync.completed (letters, digits, _ or -, dot-separated, at most 128 characters)",
);
/** An event type name a user may create (config or API). */
export const OwnEventTypeName = EventTypeName.narrow((name, ctx) => !isReservedEventType(name) || ctx.reject({ problem: RESERVED_EVENT_TYPE }));

// Upper bounds fit the INTEGER columns and what makes sense: a receiver slower than an
// hour is down, and 100,000 requests/s is beyond any single webhook endpoint.
export const MAX_RATE_LIMIT = 100_000;
export const RateLimit = type(`1 <= number.integer <= ${MAX_RATE_LIMIT}`).describe(`deliveries per second, 1 to ${MAX_RATE_LIMIT}`);
/** Most requests in flight to one destination at once, across instances (DESIGN §7: limits hold across instances). */
export const MAX_IN_FLIGHT_LIMIT = 1000;
export const MaxInFlight = type(`1 <= number.integer <= ${MAX_IN_FLIGHT_LIMIT}`).describe(`requests to the destination at once, 1 to ${MAX_IN_FLIGHT_LIMIT}`);
export const TimeoutMs = type(`1 <= number.integer <= ${HOUR}`).describe(`milliseconds, 1 to ${HOUR}`);
export const EventTypePattern = type(EVENT_TYPE_PATTERN).describe('"*", an event type name, or a name followed by ".*"');
export const Sha256Hex = type(/^[0-9a-fA-F]{64}$/)
  .describe("64 hexadecimal digits (a SHA-256 hash)")
  .pipe((hex) => hex.toLowerCase());
// arktype's index signature also matches arrays (["a"] has the string key "0").
export const StringMap = type({ "[string]": "string" }).narrow(
  (map, ctx) => !Array.isArray(map) || ctx.reject({ expected: "an object of string values", actual: "an array" }),
);

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

/** A size ("1MiB", "4096") as bytes, within [min, max]. */
export function size(min = 0, max = Number.MAX_SAFE_INTEGER) {
  return type("unknown").pipe((value, ctx) => {
    const bytes = typeof value === "string" || typeof value === "number" ? parseSize(value) : undefined;
    if (bytes === undefined) return ctx.error("a size such as 4096, 512KiB, 1MiB or 10MB");
    if (bytes < min) return ctx.error(`at least ${formatSize(min)}`);
    if (bytes > max) return ctx.error(`at most ${formatSize(max)}`);
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
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  // Checked first, and answered without the value: it would echo the password. Credentials
  // in a URL end up in attempt logs; static headers are the place for them.
  if (parsed && (parsed.username || parsed.password)) return ctx.reject({ problem: "must not contain credentials (user:pass@); use a static header" });
  return parsed?.protocol === "http:" || parsed?.protocol === "https:" || ctx.reject({ expected: "an http:// or https:// URL" });
});

/**
 * A web origin as browsers send it: scheme, host and port only ("https://portal.example.com"),
 * compared exactly with the Origin header (CORS) and written into frame-ancestors.
 */
export const WebOrigin = type("string").narrow((origin, ctx) => {
  const parsed = URL.canParse(origin) ? new URL(origin) : undefined;
  const ok = (parsed?.protocol === "http:" || parsed?.protocol === "https:") && parsed.origin === origin;
  return ok || ctx.reject({ expected: "an origin such as https://portal.example.com (scheme, host and port; no path, no trailing slash)" });
});

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The certificates in a PEM text, each checked to parse; undefined when there is none or one is broken. */
function certificates(pem: string): X509Certificate[] | undefined {
  const blocks = pem.match(PEM_CERTIFICATE);
  if (!blocks) return undefined;
  try {
    return blocks.map((block) => new X509Certificate(block));
  } catch {
    return undefined;
  }
}

/**
 * A client certificate for mutual TLS: `cert` (PEM, the certificate, optionally
 * followed by its intermediates) and `key` (PEM, unencrypted), checked to parse
 * and to belong together, so a wrong pair is refused when stored rather than at
 * every handshake. Problems never print either value.
 */
export const ClientCertificate = type({ "+": "reject", cert: "string", key: "string" }).narrow((tls, ctx) => {
  const chain = certificates(tls.cert);
  if (!chain) return ctx.reject({ path: [...ctx.path, "cert"], problem: "must be a PEM certificate (-----BEGIN CERTIFICATE-----)", actual: "" });
  let key;
  try {
    key = createPrivateKey(tls.key);
  } catch {
    return ctx.reject({ path: [...ctx.path, "key"], problem: "must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)", actual: "" });
  }
  return chain[0]!.checkPrivateKey(key) || ctx.reject({ path: [...ctx.path, "key"], problem: "is not the private key of cert", actual: "" });
});

/** Extra certificate authorities, PEM (one or more certificates). */
export const CaBundle = type("string").narrow(
  (pem, ctx) => certificates(pem) !== undefined || ctx.reject({ problem: "must hold one or more PEM certificates (-----BEGIN CERTIFICATE-----)", actual: "" }),
);

/**
 * An HTTP proxy for webhooks: http://[user:password@]host:port. Never echoed:
 * it may hold the proxy's password.
 */
export const ProxyUrl = type("string").narrow((url, ctx) => {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  const ok = parsed !== undefined && (parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.hostname !== "" && (parsed.pathname === "/" || parsed.pathname === "") && !parsed.search && !parsed.hash;
  return ok || ctx.reject({ problem: "must be a proxy URL such as http://proxy.internal:4750 (user:password@ allowed; no path)", actual: "" });
});

// Standard Webhooks secrets (HMAC) or ed25519 private keys; the value is never echoed in the message.
export const Secret = type("string").narrow((secret, ctx) => {
  if (secret.startsWith(PRIVATE_KEY_PREFIX)) {
    return isValidPrivateKey(secret) || ctx.reject({ expected: "whsk_ followed by the base64 of a 32-byte ed25519 seed (or 64-byte seed and public key)", actual: "" });
  }
  const expected = "whsec_ followed by the base64 of 24 to 64 random bytes";
  return isValidSecret(secret) || ctx.reject({ expected, actual: "" });
});

// How a destination signs: `v1` HMAC-SHA256 or `v1a` ed25519 (Standard Webhooks).
export const SignatureScheme = type("'hmac' | 'ed25519'");

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

// Checked as the engine will use it (regular expressions, references, size, depth), so
// an unusable schema is refused when stored rather than failing every publish later.
// Problems never print the value (actual: ""): arktype's "(was …)" of a 10,000-deep
// schema overflows the stack when Elysia reads it.
const SchemaObject = type({ "[string]": "unknown" });
function usableSchema(schema: object | null, ctx: Parameters<Parameters<typeof SchemaObject.narrow>[0]>[1]): boolean {
  if (schema === null) return true;
  if (Array.isArray(schema)) return ctx.reject({ problem: "must be a JSON Schema object, not an array", actual: "" });
  let ok = true;
  for (const problem of checkSchema(schema)) ok = ctx.reject({ path: [...ctx.path, ...problem.path], problem: problem.message, actual: "" });
  return ok;
}
export const JsonSchema = SchemaObject.narrow(usableSchema);
/**
 * For API bodies, where null removes the schema. One rule rather than a union: a union's
 * problem prints the value and hides the path inside the schema.
 */
export const JsonSchemaOrNull = type("unknown")
  .narrow((value, ctx): value is object | null => (typeof value === "object" ? usableSchema(value, ctx) : ctx.reject({ problem: "must be a JSON Schema object or null", actual: "" })))
  .describe("a JSON Schema object, or null to remove it");
