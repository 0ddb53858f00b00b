// The configuration schema: every key with its type, default and rules (arktype), and
// validateConfig(), which turns a plain object (the parsed YAML) into a frozen Config.
import { checkDestinationUrl, type AddressPolicy } from "../rules/address-policy.ts";
import { validateFilter } from "../rules/filter.ts";
import { sha256Hex } from "../rules/hashing.ts";
import { checkUnique } from "../rules/repeats.ts";
import { secretMatchesScheme } from "../rules/signing-keys.ts";
import { type } from "arktype";
import {
  CronSchedule, DAY, duration, EventTypePattern, Headers, Host, HOUR, HttpUrl, Id, JsonSchema, MaxInFlight, OwnEventTypeName, RateLimit,
  Secret, SignatureScheme, Sha256Hex, size, StringMap, Tenant, EventTypeTenants, WebOrigin, ClientCertificate, CaBundle, ProxyUrl,
} from "./fields.ts";

export type ConfigError = { path: string; message: string };

// ---- the sections ------------------------------------------------------------------------

/**
 * An API token. Exactly one of token / token_sha256; tenant required for role
 * "tenant", optional for "publisher" and "reader", refused for "admin";
 * event_types only for "publisher".
 */
export type TokenConfig = { name: string; role: "admin" | "tenant" | "publisher" | "reader"; tenant?: string; event_types?: string[] } & (
  | { token: string; token_sha256?: never }
  | { token_sha256: string; token?: never }
);

const Token = type({
  "+": "reject",
  name: Id,
  role: "'admin' | 'tenant' | 'publisher' | 'reader'",
  "tenant?": Tenant,
  // The event types a publisher token may publish (subscription patterns); all when left out.
  "event_types?": EventTypePattern.array().atLeastLength(1),
  "token?": "string >= 16",
  "token_sha256?": Sha256Hex,
  // The rules that tie these keys together are checked in checkRelations(), so that they are
  // reported even when another key is wrong; the cast is safe once both passes agree.
}).pipe((token) => token as TokenConfig);

const EventType = type({
  "+": "reject",
  name: OwnEventTypeName,
  description: "string = ''",
  "schema?": JsonSchema,
  "example?": "unknown",
  // Absent or null: every tenant's. Given: only these tenants see, publish and receive it.
  "tenants?": EventTypeTenants,
});

const Destination = type({
  "+": "reject",
  id: Id,
  url: HttpUrl,
  tenant: Tenant.default("default"),
  description: "string = ''",
  // hmac unless given (or a whsk_ secret says ed25519); without a secret, Herald generates one of the scheme.
  "signature?": SignatureScheme,
  "secret?": Secret,
  headers: Headers.default(() => ({})),
  // A client certificate for receivers that require mutual TLS (PEM); never shown by the API.
  "tls?": ClientCertificate,
  "timeout?": duration(1, HOUR),
  "rate_limit?": RateLimit,
  "max_in_flight?": MaxInFlight,
  ordered: "boolean = false",
  enabled: "boolean = true",
  metadata: StringMap.default(() => ({})),
});

const Subscription = type({
  "+": "reject",
  id: Id,
  destination: Id,
  event_types: EventTypePattern.array().atLeastLength(1),
  // Checked operator by operator in checkRelations(), so each problem gets its own path.
  "filter?": type({ "[string]": "unknown" }),
  enabled: "boolean = true",
  description: "string = ''",
});

export const ConfigSchema = type({
  "+": "reject",
  server: type({
    "+": "reject",
    host: "string > 0 = '127.0.0.1'",
    port: "0 <= number.integer <= 65535 = 8080",
    max_body: size(1).default("1MiB"),
    // Bounds on a JSON body's shape (src/http/json-limits.ts), far above what a producer
    // sends, low enough that validating the worst body allowed takes milliseconds.
    max_depth: "1 <= number.integer <= 1000 = 64",
    max_keys: "number.integer >= 1 = 1000",
    max_array: "number.integer >= 1 = 10000",
    max_string: size(1).default("256KiB"),
    // Origins allowed to embed the console in a frame (a customer portal); none by default.
    portal_frame_ancestors: WebOrigin.array().default(() => []),
    // Origins whose browser scripts may call the API (CORS); none by default: CORS closed.
    cors_origins: WebOrigin.array().default(() => []),
    // Failed authentications (401) one client address may make in a minute; past it,
    // every request from that address is a 429 until the oldest failure is a minute old.
    auth_failures_per_minute: "1 <= number.integer <= 1000000 = 20",
    // The client address is the socket's. Only behind a proxy you run, which appends the
    // address it saw to X-Forwarded-For, set this true: the last entry is then used.
    trust_forwarded_for: "boolean = false",
  }).default(() => ({})),
  storage: type({
    "+": "reject",
    // SQLite (one file, one machine) by default; PostgreSQL for several instances sharing one database.
    driver: "'sqlite' | 'postgres' = 'sqlite'",
    // sqlite: the database file, and how hard each commit waits for the disk.
    path: "string > 0 = './data/herald.db'",
    // "full" so that an accepted event survives a power cut, not just a crash.
    synchronous: "'off' | 'normal' | 'full' | 'extra' = 'full'",
    // postgres: the server's URL (usually "${HERALD_DATABASE_URL}", so the password stays
    // out of the file) and the connections each instance keeps open.
    "url?": "string > 0",
    "pool_size?": "1 <= number.integer <= 1000",
    // The key that seals destinations' secrets and header values in the database: a file
    // holding base64 of 32 bytes (or HERALD_ENCRYPTION_KEY). Without either, SQLite keeps
    // one beside the database (<path>.key); PostgreSQL refuses to start.
    "encryption_key_file?": "string > 0",
    // During a key change (herald rekey): the old key, still read (HERALD_ENCRYPTION_KEY_PREVIOUS).
    "previous_encryption_key_file?": "string > 0",
  }).default(() => ({})),
  auth: type({
    "+": "reject",
    tokens: Token.array().default(() => []),
  }).default(() => ({})),
  delivery: type({
    "+": "reject",
    // Capped at an hour: a receiver slower than that is down, and leases must stay bounded.
    timeout: duration(1, HOUR).default("15s"),
    // Each delivery in flight holds a socket; past ~10,000 the process runs out of them first.
    concurrency: "1 <= number.integer <= 10000 = 256",
    // A wait past 30 days outlives the default retention (30d); a far larger one made
    // retry times that no longer fit a Date, and every read of the delivery failed.
    retry_schedule: duration(0, 30 * DAY).array().default(() => ["5s", "5m", "30m", "2h", "5h", "10h", "10h"]),
    https_only: "boolean = true",
    allow_private_networks: "boolean = false",
    allow_hosts: Host.array().default(() => []),
    disable_after: duration(1, 365 * DAY).default("5d"),
    keep_response_bytes: size().default(4096),
    jitter: "0 <= number <= 1 = 0.2",
    // The circuit breaker: after `failures` failed attempts in a row a destination's
    // deliveries wait, pending, and one probe goes out every `probe_every`. 0 turns it off.
    breaker: type({
      "+": "reject",
      failures: "0 <= number.integer <= 1000 = 10",
      // At least 1 s: a probe per second is already a steady load on a dead receiver.
      probe_every: duration(1000, DAY).default("30s"),
    }).default(() => ({})),
    // Every webhook goes through this HTTP proxy (CONNECT for https), e.g. smokescreen:
    // receivers see the proxy's fixed address, and the proxy enforces egress rules.
    "proxy?": ProxyUrl,
    // Certificate authorities trusted for receivers' certificates, in addition to the
    // system's (PEM): an internal CA, or a test receiver's own.
    "tls_ca?": CaBundle,
    // How far ahead a publish may schedule its deliveries (deliver_at). Capped like
    // retention.keep: a time far beyond it would no longer fit a Date.
    max_schedule_ahead: duration(1, 10 * 365 * DAY).default("90d"),
  }).default(() => ({})),
  metrics: type({
    "+": "reject",
    // GET /metrics needs a reader or admin token unless this is true (a scraper on a private network).
    public: "boolean = false",
    // Per-destination series: the `busiest` destinations by attempts since start, plus
    // every destination named here, so a scrape has at most busiest + len(per_destination) of each.
    busiest: "0 <= number.integer <= 1000 = 20",
    per_destination: Id.array().default(() => []),
  }).default(() => ({})),
  log: type({
    "+": "reject",
    // debug adds one line per API request; info has one per failed attempt.
    level: "'debug' | 'info' | 'warn' | 'error' = 'info'",
  }).default(() => ({})),
  sweep: type({
    "+": "reject",
    schedule: CronSchedule.default("*/5 * * * * *"),
  }).default(() => ({})),
  retention: type({
    "+": "reject",
    keep: duration(1, 10 * 365 * DAY).default("30d"),
    schedule: CronSchedule.default("0 3 * * *"),
  }).default(() => ({})),
  event_types: EventType.array().default(() => []),
  destinations: Destination.array().default(() => []),
  subscriptions: Subscription.array().default(() => []),
});

type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The parsed configuration: durations in milliseconds, sizes in bytes, defaults filled in, frozen. */
export type Config = DeepReadonly<typeof ConfigSchema.infer>;
export type EventTypeConfig = Config["event_types"][number];
export type DestinationConfig = Config["destinations"][number];
export type SubscriptionConfig = Config["subscriptions"][number];

// ---- validation --------------------------------------------------------------------------

export type ValidationResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

/** Checks a plain object against the schema and the rules between keys, reporting every problem. */
export function validateConfig(input: unknown): ValidationResult {
  if (!isRecord(input)) {
    return { ok: false, errors: [{ path: "", message: "the configuration must be a mapping of settings" }] };
  }
  const errors = checkRelations(input);
  const out = ConfigSchema(input);
  if (out instanceof type.errors) {
    errors.unshift(
      ...out.map((error) => ({
        path: formatPath(error.path),
        // arktype names undeclared keys "must be removed" (arktype issue #1403: no own error code).
        message:
          error.code === "predicate" && error.expected === "removed"
            ? "is not a known key"
            : withoutPath(error.problem, error.propString),
      })),
    );
  }
  if (errors.length > 0) return { ok: false, errors: inFileOrder(errors, input) };
  return { ok: true, config: deepFreeze(out as Config) };
}

/**
 * Sorts errors in the order their values appear in the input (YAML keeps the file's order),
 * so `herald check` reads top to bottom. A missing key ranks with its parent.
 */
export function inFileOrder(errors: ConfigError[], input: unknown): ConfigError[] {
  const rank = new Map<string, number>();
  const walk = (value: unknown, path: (string | number)[]) => {
    rank.set(formatPath(path), rank.size);
    // Deeper values rank with their ancestor at this depth; a 10,000-deep schema would overflow the stack.
    if (path.length >= 64) return;
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, [...path, i]));
    else if (isRecord(value)) for (const [key, item] of Object.entries(value)) walk(item, [...path, key]);
  };
  walk(input, []);
  const rankOf = (path: string): number => {
    for (;;) {
      const found = rank.get(path);
      if (found !== undefined) return found;
      const parent = path.replace(/(\[[^\]]*\]|\.?[^.[]+)$/, "");
      if (parent === path) return 0;
      path = parent;
    }
  };
  // toSorted is stable, so errors on one value keep their order.
  return errors.toSorted((a, b) => rankOf(a.path) - rankOf(b.path));
}

/**
 * Rules that span several keys or list items, read from the raw input so they are reported
 * together with the schema's errors. Anything of the wrong shape is skipped: the schema reports it.
 */
function checkRelations(input: Record<string, unknown>): ConfigError[] {
  const errors: ConfigError[] = [];
  const items = (section: unknown, key: string) => {
    const list = isRecord(section) ? section[key] : undefined;
    return Array.isArray(list) ? list.map((item) => (isRecord(item) ? item : {})) : [];
  };
  const tokens = items(input.auth, "tokens");
  const eventTypes = items(input, "event_types");
  const destinations = items(input, "destinations");
  const subscriptions = items(input, "subscriptions");

  const storage = isRecord(input.storage) ? input.storage : {};
  if (storage.driver === "postgres") {
    if (storage.url === undefined) errors.push({ path: "storage.url", message: "is required when driver is postgres (postgres://user:password@host:5432/database)" });
    else if (typeof storage.url === "string" && !/^postgres(ql)?:\/\//.test(storage.url)) {
      // The URL holds a password: it is never repeated in the message.
      errors.push({ path: "storage.url", message: "must be a postgres:// or postgresql:// URL" });
    }
    if ("path" in storage) errors.push({ path: "storage.path", message: "is only for driver sqlite" });
    if ("synchronous" in storage) errors.push({ path: "storage.synchronous", message: "is only for driver sqlite" });
  } else {
    if ("url" in storage) errors.push({ path: "storage.url", message: "is only for driver postgres" });
    if ("pool_size" in storage) errors.push({ path: "storage.pool_size", message: "is only for driver postgres" });
  }

  tokens.forEach((token, i) => {
    if (("token" in token) === ("token_sha256" in token)) {
      errors.push({ path: `auth.tokens[${i}]`, message: "must have exactly one of token or token_sha256" });
    }
    if (token.role === "tenant" && !("tenant" in token)) {
      errors.push({ path: `auth.tokens[${i}]`, message: "must name a tenant, since its role is tenant" });
    }
    if (token.role === "admin" && "tenant" in token) {
      const message = "is only allowed when role is tenant, publisher or reader (an admin token sees every tenant)";
      errors.push({ path: `auth.tokens[${i}].tenant`, message });
    }
    if ("event_types" in token && token.role !== "publisher") {
      errors.push({ path: `auth.tokens[${i}].event_types`, message: "is only allowed when role is publisher (the event types it may publish)" });
    }
  });
  // Compare hashes, so a plain token and another's token_sha256 that match are caught too.
  const hashes = tokens.map((token) =>
    typeof token.token === "string"
      ? sha256Hex(token.token)
      : typeof token.token_sha256 === "string"
        ? token.token_sha256.toLowerCase()
        : undefined,
  );
  const sameToken = (i: number, j: number) => ({ path: `auth.tokens[${i}]`, message: `has the same token as auth.tokens[${j}]` });
  checkUnique(hashes, sameToken, errors);
  checkUnique(tokens.map((t) => t.name), (i, j) => duplicate("auth.tokens", "name", i, j), errors);
  checkUnique(eventTypes.map((t) => t.name), (i, j) => duplicate("event_types", "name", i, j), errors);
  eventTypes.forEach((t, i) => {
    if (Array.isArray(t.tenants)) checkUnique(t.tenants, (k, j) => ({ path: `event_types[${i}].tenants[${k}]`, message: `names the same tenant as event_types[${i}].tenants[${j}]` }), errors);
  });
  checkUnique(destinations.map((d) => d.id), (i, j) => duplicate("destinations", "id", i, j), errors);
  checkUnique(subscriptions.map((s) => s.id), (i, j) => duplicate("subscriptions", "id", i, j), errors);

  // The address guard's checks that need no DNS, under the file's own delivery policy, so a
  // URL refused at send time is refused here. Host names that resolve privately are still
  // only found at send time. Skipped when the policy itself is malformed (reported above).
  const delivery = isRecord(input.delivery) ? input.delivery : {};
  const policy = {
    https_only: delivery.https_only ?? true,
    allow_private_networks: delivery.allow_private_networks ?? false,
    allow_hosts: delivery.allow_hosts ?? [],
  };
  const policyValid = typeof policy.https_only === "boolean" && typeof policy.allow_private_networks === "boolean" && Host.array().allows(policy.allow_hosts);
  destinations.forEach((destination, i) => {
    if (!policyValid || !HttpUrl.allows(destination.url)) return;
    const verdict = checkDestinationUrl(destination.url as string, policy as AddressPolicy);
    if (!verdict.ok) errors.push({ path: `destinations[${i}].url`, message: verdict.message });
  });

  destinations.forEach((destination, i) => {
    const { signature, secret } = destination;
    if ((signature === "hmac" || signature === "ed25519") && typeof secret === "string" && !secretMatchesScheme(secret, signature)) {
      const message = signature === "ed25519" ? "must be a whsk_ private key, since signature is ed25519" : "must be a whsec_ secret, since signature is hmac";
      errors.push({ path: `destinations[${i}].secret`, message });
    }
  });

  const destinationIds = new Set(destinations.map((d) => d.id));
  subscriptions.forEach((subscription, i) => {
    const target = subscription.destination;
    if (typeof target === "string" && !destinationIds.has(target)) {
      const message = `names no destination in this file (no destination has id "${target}")`;
      errors.push({ path: `subscriptions[${i}].destination`, message });
    }
    if (isRecord(subscription.filter)) {
      for (const problem of validateFilter(subscription.filter)) errors.push({ ...problem, path: `subscriptions[${i}].${problem.path}` });
    }
  });
  return errors;
}

// arktype's problem for a union repeats the path in front ("s.f must be boolean").
function withoutPath(problem: string, propString: string): string {
  return propString && problem.startsWith(`${propString} `) ? problem.slice(propString.length + 1) : problem;
}

function duplicate(list: string, key: string, i: number, j: number): ConfigError {
  return { path: `${list}[${i}].${key}`, message: `is already used by ${list}[${j}]` };
}

// ---- helpers shared with load.ts ---------------------------------------------------------

/** ["delivery", "retry_schedule", 2] → "delivery.retry_schedule[2]"; odd keys are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) {
    if (typeof key === "number") text += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_][\w-]*$/.test(key)) text += text ? `.${key}` : key;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Freezes a value and everything reachable from it. */
export function deepFreeze<T>(value: T): T {
  // Typed arrays (a YAML !!binary example) cannot be frozen; nothing reads them as config.
  if (typeof value === "object" && value !== null && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
