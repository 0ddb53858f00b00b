// Loading the config file: defaults, parsing, ${ENV} substitution, and the errors
// `herald check` prints. Every case writes a real file into a fresh temp folder.
import { afterAll, describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDuration, formatSize, parseDuration, parseSize } from "../src/config/durations.ts";
import { type ConfigResult, formatConfigErrors, loadConfig } from "../src/config/load.ts";
import { validateConfig } from "../src/config/schema.ts";

const root = mkdtempSync(join(tmpdir(), "herald-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dirs = 0;
/** Writes `yaml` as config.yaml in a new folder and loads it from there. */
function load(yaml: string, env: Record<string, string> = {}): ConfigResult {
  const cwd = join(root, `case-${++dirs}`);
  mkdirSync(cwd);
  writeFileSync(join(cwd, "config.yaml"), yaml);
  return loadConfig({ cwd, env });
}

function errorsOf(result: ConfigResult): string[] {
  if (result.ok) throw new Error("expected the config to be rejected");
  return formatConfigErrors(result.errors).split("\n");
}

function configOf(result: ConfigResult) {
  if (!result.ok) throw new Error(`expected a valid config, got:\n${formatConfigErrors(result.errors)}`);
  return result.config;
}

const secret = () => `whsec_${randomBytes(32).toString("base64")}`;

describe("durations and sizes", () => {
  it("parses each duration unit into milliseconds", () => {
    expect(["500ms", "5s", "10m", "2h", "5d", "1.5h"].map(parseDuration)).toEqual([500, 5_000, 600_000, 7_200_000, 432_000_000, 5_400_000]);
  });

  it("refuses bare numbers, combinations and unknown units", () => {
    for (const text of ["5", "", "5 s", "1h30m", "5w", "-5s", "s"]) expect(parseDuration(text)).toBeUndefined();
  });

  it("parses binary and decimal sizes, and bare integers as bytes", () => {
    expect([4096, "4096", "512KiB", "1MiB", "1GiB", "10MB", "1KB", "2B"].map(parseSize)).toEqual([
      4096, 4096, 524_288, 1_048_576, 1_073_741_824, 10_000_000, 1_000, 2,
    ]);
    for (const value of [-1, 1.5, "1.5", "1 MiB", "1mib", "MiB", "1TB"]) expect(parseSize(value)).toBeUndefined();
  });

  it("formats durations and sizes for messages", () => {
    expect([0, 500, 15_000, 5_400_000, 1_500, 432_000_000].map(formatDuration)).toEqual(["0ms", "500ms", "15s", "1h30m", "1s500ms", "5d"]);
    expect([1_048_576, 4096, 1500].map(formatSize)).toEqual(["1MiB", "4KiB", "1500B"]);
  });
});

describe("loadConfig", () => {
  it("uses the built-in defaults when there is no file", () => {
    const cwd = mkdtempSync(join(root, "empty-"));
    const result = loadConfig({ cwd, env: {} });
    expect(result.ok && result.source).toBe("built-in defaults");
    expect(configOf(result)).toEqual({
      server: {
        host: "127.0.0.1", port: 8080, max_body: 1_048_576, max_depth: 64, max_keys: 1000, max_array: 10_000, max_string: 262_144,
        portal_frame_ancestors: [], cors_origins: [],
        auth_failures_per_minute: 20, trust_forwarded_for: false,
      },
      storage: { driver: "sqlite", path: "./data/herald.db", synchronous: "full" },
      auth: { tokens: [] },
      delivery: {
        timeout: 15_000,
        concurrency: 256,
        retry_schedule: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000],
        https_only: true,
        allow_private_networks: false,
        allow_hosts: [],
        disable_after: 432_000_000,
        keep_response_bytes: 4096,
        jitter: 0.2,
        breaker: { failures: 10, probe_every: 30_000 },
        max_schedule_ahead: 7_776_000_000,
      },
      metrics: { public: false, busiest: 20, per_destination: [] },
      log: { level: "info" },
      sweep: { schedule: "*/5 * * * * *" },
      retention: { keep: 2_592_000_000, schedule: "0 3 * * *" },
      event_types: [],
      destinations: [],
      subscriptions: [],
    });
  });

  it("treats an empty file as all defaults and names the file as the source", () => {
    const result = load("# nothing yet\n");
    expect(result.ok && result.source).toEndWith("config.yaml");
    expect(configOf(result).server.port).toBe(8080);
  });

  it("loads an explicit path relative to cwd, and reports one that does not exist", () => {
    const cwd = mkdtempSync(join(root, "explicit-"));
    writeFileSync(join(cwd, "herald.yaml"), "server: { port: 9000 }\n");
    const result = loadConfig({ path: "herald.yaml", cwd, env: {} });
    expect(result.ok && result.source).toBe(join(cwd, "herald.yaml"));
    expect(configOf(result).server.port).toBe(9000);
    expect(errorsOf(loadConfig({ path: "missing.yaml", cwd, env: {} }))).toEqual(["missing.yaml: the config file does not exist"]);
  });

  it("reads a full valid file, converting durations and sizes", () => {
    const whsec = secret();
    const config = configOf(
      load(
        `
server: { host: 0.0.0.0, port: 9090, max_body: 512KiB, portal_frame_ancestors: ["https://portal.example"], cors_origins: ["http://localhost:5173", "https://admin.example"] }
storage: { path: /var/lib/herald/herald.db, synchronous: normal }
auth:
  tokens:
    - { name: ops, token: "\${ADMIN_TOKEN}", role: admin }
    - { name: acme, token_sha256: "${"AB".repeat(32)}", role: tenant, tenant: acme }
delivery:
  timeout: 10s
  concurrency: 16
  retry_schedule: [1s, 500ms, 1m]
  https_only: false
  allow_private_networks: true
  allow_hosts: [Receiver.Internal, 10.0.0.0/8, "::1", fd00::/8]
  disable_after: 2d
  keep_response_bytes: 8KiB
  jitter: 0
sweep: { schedule: "*/10 * * * * *" }
retention: { keep: 7d, schedule: "@daily" }
event_types:
  - name: attendee.updated
    description: An attendee changed.
    schema: { type: object, required: [id] }
    example: { id: att_1 }
  - { name: sync.completed }
destinations:
  - id: crm
    url: https://crm.example.com/hook
    tenant: acme
    secret: "\${CRM_SECRET}"
    headers: { x-auth-token: "token-\${CRM_TOKEN}" }
    timeout: 3s
    rate_limit: 10
    enabled: false
    metadata: { team: sales }
  - { id: erp, url: "http://localhost:3000/in" }
subscriptions:
  - { id: crm-attendees, destination: crm, event_types: ["attendee.*", sync.completed] }
  - { id: erp-all, destination: erp, event_types: ["*"], enabled: false, description: everything }
`,
        { ADMIN_TOKEN: "a-long-admin-token-0123456789", CRM_SECRET: whsec, CRM_TOKEN: "t0k" },
      ),
    );
    expect(config.server).toEqual({
      host: "0.0.0.0", port: 9090, max_body: 524_288, max_depth: 64, max_keys: 1000, max_array: 10_000, max_string: 262_144,
      portal_frame_ancestors: ["https://portal.example"], cors_origins: ["http://localhost:5173", "https://admin.example"],
      auth_failures_per_minute: 20, trust_forwarded_for: false,
    });
    expect(config.storage.synchronous).toBe("normal");
    expect(config.auth.tokens).toEqual([
      { name: "ops", token: "a-long-admin-token-0123456789", role: "admin" },
      { name: "acme", token_sha256: "ab".repeat(32), role: "tenant", tenant: "acme" },
    ]);
    expect(config.delivery).toEqual({
      timeout: 10_000,
      concurrency: 16,
      retry_schedule: [1_000, 500, 60_000],
      https_only: false,
      allow_private_networks: true,
      allow_hosts: ["receiver.internal", "10.0.0.0/8", "::1", "fd00::/8"],
      disable_after: 172_800_000,
      keep_response_bytes: 8192,
      jitter: 0,
      breaker: { failures: 10, probe_every: 30_000 },
      max_schedule_ahead: 7_776_000_000,
    });
    expect(config.retention).toEqual({ keep: 604_800_000, schedule: "@daily" });
    expect(config.event_types).toEqual([
      { name: "attendee.updated", description: "An attendee changed.", schema: { type: "object", required: ["id"] }, example: { id: "att_1" } },
      { name: "sync.completed", description: "" },
    ]);
    expect(config.destinations).toEqual([
      {
        id: "crm",
        url: "https://crm.example.com/hook",
        tenant: "acme",
        description: "",
        secret: whsec,
        headers: { "x-auth-token": "token-t0k" },
        timeout: 3_000,
        rate_limit: 10,
        ordered: false,
        enabled: false,
        metadata: { team: "sales" },
      },
      { id: "erp", url: "http://localhost:3000/in", tenant: "default", description: "", headers: {}, ordered: false, enabled: true, metadata: {} },
    ]);
    expect(config.subscriptions).toEqual([
      { id: "crm-attendees", destination: "crm", event_types: ["attendee.*", "sync.completed"], enabled: true, description: "" },
      { id: "erp-all", destination: "erp", event_types: ["*"], enabled: false, description: "everything" },
    ]);
  });

  it("reports unknown keys at every depth with their path", () => {
    expect(
      errorsOf(
        load(`
colour: blue
server: { prot: 8080 }
delivery: { retry: [1s] }
destinations:
  - { id: a, url: "https://a.example", secrets: x }
subscriptions:
  - { id: s, destination: a, event_types: ["*"], tenant: acme }
`),
      ),
    ).toEqual([
      "colour: is not a known key",
      "server.prot: is not a known key",
      "delivery.retry: is not a known key",
      "destinations[0].secrets: is not a known key",
      "subscriptions[0].tenant: is not a known key",
    ]);
  });

  it("accepts any keys inside schema, example, headers and metadata", () => {
    const config = configOf(
      load(`
event_types: [{ name: a, schema: { anything: { goes: 1 } }, example: { free: [form] } }]
destinations: [{ id: d, url: "https://d.example", headers: { x-one: "1" }, metadata: { any-key: v } }]
`),
    );
    expect(config.event_types[0]?.example).toEqual({ free: ["form"] });
  });

  it("reports values of the wrong type", () => {
    expect(
      errorsOf(
        load(`
server: { port: "8080", host: 5 }
storage: { synchronous: fast }
delivery: { https_only: "yes", concurrency: 0, jitter: 1.5, allow_hosts: "10.0.0.0/8" }
event_types: { name: a }
`),
      ),
    ).toEqual([
      "server.port: must be a number (was a string)",
      "server.host: must be a string (was a number)",
      'storage.synchronous: must be "extra", "full", "normal" or "off" (was "fast")',
      'delivery.https_only: must be boolean (was "yes")',
      "delivery.concurrency: must be at least 1 (was 0)",
      "delivery.jitter: must be at most 1 (was 1.5)",
      "delivery.allow_hosts: must be an array (was string)",
      "event_types: must be an array (was object)",
    ]);
  });

  it("takes a PostgreSQL store, and refuses settings of the other driver or a missing or malformed URL", () => {
    const config = configOf(load(`
storage: { driver: postgres, url: "postgres://herald:s3cret@db.internal:5432/herald", pool_size: 8 }
`));
    expect(config.storage).toMatchObject({ driver: "postgres", url: "postgres://herald:s3cret@db.internal:5432/herald", pool_size: 8 });
    expect(errorsOf(load(`storage: { driver: postgres }`))).toEqual(["storage.url: is required when driver is postgres (postgres://user:password@host:5432/database)"]);
    const wrong = errorsOf(load(`storage: { driver: postgres, url: "mysql://root:hunter2@db/herald", path: ./x.db, pool_size: 0 }`));
    expect(wrong).toEqual([
      "storage.url: must be a postgres:// or postgresql:// URL",
      "storage.path: is only for driver sqlite",
      "storage.pool_size: must be at least 1 (was 0)",
    ]);
    // The URL carries a password: no message repeats it.
    expect(wrong.join("\n")).not.toContain("hunter2");
    expect(errorsOf(load(`storage: { url: "postgres://h/db", pool_size: 4 }`))).toEqual([
      "storage.url: is only for driver postgres",
      "storage.pool_size: is only for driver postgres",
    ]);
  });

  it("takes the sealing key files on either driver, and refuses an empty one", () => {
    const sqlite = configOf(load(`storage: { path: ./h.db, encryption_key_file: /etc/herald/key, previous_encryption_key_file: /etc/herald/key.old }`));
    expect(sqlite.storage).toMatchObject({ encryption_key_file: "/etc/herald/key", previous_encryption_key_file: "/etc/herald/key.old" });
    const postgres = configOf(load(`storage: { driver: postgres, url: "postgres://h/db", encryption_key_file: ./key }`));
    expect(postgres.storage.encryption_key_file).toBe("./key");
    expect(errorsOf(load(`storage: { encryption_key_file: "" }`))).toEqual(["storage.encryption_key_file: must be non-empty"]);
    expect(errorsOf(load(`storage: { encryption_key: abc }`))).toEqual(["storage.encryption_key: is not a known key"]);
  });

  it("reports bad durations, with the path of each", () => {
    expect(
      errorsOf(load("delivery: { timeout: 2h, retry_schedule: [5s, 300, 1y, 2h] }\nretention: { keep: 0s }\n")),
    ).toEqual([
      'delivery.timeout: must be at most 1h (was "2h")',
      "delivery.retry_schedule[1]: must be a duration such as 500ms, 5s, 10m, 2h or 5d (was 300)",
      'delivery.retry_schedule[2]: must be a duration such as 500ms, 5s, 10m, 2h or 5d (was "1y")',
      'retention.keep: must be at least 1ms (was "0s")',
    ]);
  });

  it("reports bad sizes", () => {
    expect(errorsOf(load("server: { max_body: 1 MB }\ndelivery: { keep_response_bytes: -1 }\n"))).toEqual([
      'server.max_body: must be a size such as 4096, 512KiB, 1MiB or 10MB (was "1 MB")',
      "delivery.keep_response_bytes: must be a size such as 4096, 512KiB, 1MiB or 10MB (was -1)",
    ]);
  });

  it("checks cron patterns, hosts, URLs, secrets, headers and names", () => {
    expect(
      errorsOf(
        load(`
sweep: { schedule: "61 * * * *" }
retention: { schedule: "0 0 31 2 *" }
delivery: { allow_hosts: [10.0.0.0/33, "bad host", ok.example] }
event_types: [{ name: "a..b" }, { name: a, schema: [1] }]
destinations:
  - id: "no spaces"
    url: ftp://files.example
    secret: whsec_c2hvcnQ=
    headers: { Webhook-Signature: x, "a b": y, X-Key: "1", x-key: "2", x-ok: "line\\nbreak" }
subscriptions: [{ id: s, destination: nope, event_types: [] }, { id: t, destination: nope, event_types: ["a.*.b"] }]
`),
      ),
    ).toEqual([
      "sweep.schedule: is not a valid cron pattern: Invalid value for minute: 61",
      "retention.schedule: is not a repeating schedule",
      "delivery.allow_hosts[0]: must be a CIDR such as 10.0.0.0/8 or fd00::/8",
      "delivery.allow_hosts[1]: must be a hostname, an IP address or a CIDR such as 10.0.0.0/8",
      'event_types[0].name: must be an event type name such as sync.completed (letters, digits, _ or -, dot-separated, at most 128 characters) (was "a..b")',
      "event_types[1].schema: must be a JSON Schema object, not an array",
      'destinations[0].id: must be an id of 1 to 64 letters, digits, _ or - (was "no spaces")',
      'destinations[0].url: must be an http:// or https:// URL (was "ftp://files.example")',
      "destinations[0].secret: must be whsec_ followed by the base64 of 24 to 64 random bytes",
      "destinations[0].headers.Webhook-Signature: is set by Herald and cannot be overridden",
      'destinations[0].headers["a b"]: is not a valid HTTP header name',
      "destinations[0].headers.x-key: repeats the header X-Key (names are case-insensitive)",
      "destinations[0].headers.x-ok: must not contain line breaks or NUL characters",
      'subscriptions[0].destination: names no destination in this file (no destination has id "nope")',
      "subscriptions[0].event_types: must be non-empty",
      'subscriptions[1].destination: names no destination in this file (no destination has id "nope")',
      'subscriptions[1].event_types[0]: must be "*", an event type name, or a name followed by ".*" (was "a.*.b")',
    ]);
  });

  it("takes frame ancestors and CORS origins only as bare origins", () => {
    expect(
      errorsOf(
        load(`
server:
  portal_frame_ancestors: ["https://portal.example/", "*", "'self'"]
  cors_origins: ["https://ok.example:8443", "ftp://files.example", "https://admin.example/app", "admin.example"]
`),
      ),
    ).toEqual([
      'server.portal_frame_ancestors[0]: must be an origin such as https://portal.example.com (scheme, host and port; no path, no trailing slash) (was "https://portal.example/")',
      'server.portal_frame_ancestors[1]: must be an origin such as https://portal.example.com (scheme, host and port; no path, no trailing slash) (was "*")',
      "server.portal_frame_ancestors[2]: must be an origin such as https://portal.example.com (scheme, host and port; no path, no trailing slash) (was \"'self'\")",
      'server.cors_origins[1]: must be an origin such as https://portal.example.com (scheme, host and port; no path, no trailing slash) (was "ftp://files.example")',
      'server.cors_origins[2]: must be an origin such as https://portal.example.com (scheme, host and port; no path, no trailing slash) (was "https://admin.example/app")',
      'server.cors_origins[3]: must be an origin such as https://portal.example.com (scheme, host and port; no path, no trailing slash) (was "admin.example")',
    ]);
  });

  it("checks delivery.proxy, delivery.tls_ca and a destination's tls, echoing none of them", () => {
    const errors = errorsOf(
      load(`
delivery: { proxy: "socks5://user:PROXYPASS@proxy.internal:1080", tls_ca: "NOT-A-CA" }
destinations:
  - { id: a, url: "https://a.example", tls: { cert: "CERT-TEXT", key: "KEY-TEXT" } }
  - { id: b, url: "https://b.example", tls: { cert: "x" } }
`),
    );
    expect(errors).toEqual([
      "delivery.proxy: must be a proxy URL such as http://proxy.internal:4750 (user:password@ allowed; no path)",
      "delivery.tls_ca: must hold one or more PEM certificates (-----BEGIN CERTIFICATE-----)",
      "destinations[0].tls.cert: must be a PEM certificate (-----BEGIN CERTIFICATE-----)",
      "destinations[1].tls.key: must be a string (was missing)",
    ]);
    for (const value of ["PROXYPASS", "NOT-A-CA", "CERT-TEXT", "KEY-TEXT"]) expect(errors.join("\n")).not.toContain(value);
    expect(errorsOf(load(`delivery: { proxy: "http://proxy.internal:4750/path" }`))).toEqual([
      "delivery.proxy: must be a proxy URL such as http://proxy.internal:4750 (user:password@ allowed; no path)",
    ]);
    expect(configOf(load(`delivery: { proxy: "http://u:p@proxy.internal:4750" }`)).delivery.proxy).toBe("http://u:p@proxy.internal:4750");
  });

  it("never echoes a secret, token or header value in an error", () => {
    const errors = errorsOf(
      load(`
auth: { tokens: [{ name: t, role: admin, token: "tok-SHORT" }] }
destinations: [{ id: d, url: "https://d.example", secret: "whsec_SECRETVALUE", headers: { x-key: "KEY\\nVALUE" } }]
`),
    );
    expect(errors).toHaveLength(3);
    for (const value of ["SHORT", "SECRETVALUE", "KEY"]) expect(errors.join("\n")).not.toContain(value);
  });

  it("lets list items share settings through YAML merge keys", () => {
    const config = configOf(load(`
destinations:
  - &acme { id: a, url: "https://a.example", tenant: acme, timeout: 2s }
  - { <<: *acme, id: b }
`));
    expect(config.destinations[1]).toMatchObject({ id: "b", url: "https://a.example", tenant: "acme", timeout: 2_000 });
  });

  it("reports a missing environment variable at the path of the value, and only once", () => {
    const result = load(`destinations:\n  - { id: crm, url: "https://crm.example", secret: "\${CRM_SECRET}", headers: { x-token: "\${A}-\${B}" } }\n`, { A: "a" });
    expect(errorsOf(result)).toEqual([
      "destinations[0].secret: environment variable CRM_SECRET is not set",
      "destinations[0].headers.x-token: environment variable B is not set",
    ]);
  });

  it("keeps $${ as a literal ${ and reports a malformed reference", () => {
    const config = configOf(load(`event_types: [{ name: a, description: "costs $\${PRICE} and $5" }]\n`));
    expect(config.event_types[0]?.description).toBe("costs ${PRICE} and $5");
    expect(errorsOf(load(`server: { host: "\${not-a-name}" }\n`))).toEqual([
      'server.host: has "${not-a-name}", which is not a ${NAME} reference (write $${ for a literal ${)',
    ]);
  });

  it("checks the rules between token keys", () => {
    expect(
      errorsOf(
        load(`
auth:
  tokens:
    - { name: both, role: admin, token: "0123456789abcdef", token_sha256: "${"0".repeat(64)}" }
    - { name: none, role: admin }
    - { name: lost, role: tenant, token: "fedcba9876543210" }
    - { name: admin2, role: admin, tenant: acme, token: "0123456789abcdef0" }
    - { name: short, role: admin, token: "short" }
`),
      ),
    ).toEqual([
      "auth.tokens[0]: must have exactly one of token or token_sha256",
      "auth.tokens[1]: must have exactly one of token or token_sha256",
      "auth.tokens[2]: must name a tenant, since its role is tenant",
      "auth.tokens[3].tenant: is only allowed when role is tenant, publisher or reader (an admin token sees every tenant)",
      "auth.tokens[4].token: must be at least length 16 (was 5)",
    ]);
  });

  it("takes publisher and reader tokens, event_types only for a publisher", () => {
    const config = configOf(
      load(`
auth:
  tokens:
    - { name: shop, role: publisher, tenant: acme, event_types: ["order.*"], token: "0123456789abcdef1" }
    - { name: scraper, role: reader, token: "0123456789abcdef2" }
`),
    );
    expect(config.auth.tokens[0]).toMatchObject({ role: "publisher", tenant: "acme", event_types: ["order.*"] });
    expect(config.auth.tokens[1]).toMatchObject({ role: "reader" });
    expect(
      errorsOf(
        load(`
auth:
  tokens:
    - { name: r, role: reader, event_types: ["*"], token: "0123456789abcdef3" }
    - { name: p, role: publisher, event_types: ["not a pattern"], token: "0123456789abcdef4" }
    - { name: q, role: owner, token: "0123456789abcdef5" }
`),
      ),
    ).toEqual([
      "auth.tokens[0].event_types: is only allowed when role is publisher (the event types it may publish)",
      'auth.tokens[1].event_types[0]: must be "*", an event type name, or a name followed by ".*" (was "not a pattern")',
      'auth.tokens[2].role: must be "admin", "publisher", "reader" or "tenant" (was "owner")',
    ]);
  });

  it("checks server.auth_failures_per_minute, server.trust_forwarded_for and metrics.public", () => {
    const config = configOf(load(`server: { auth_failures_per_minute: 5, trust_forwarded_for: true }\nmetrics: { public: true }\n`));
    expect(config.server.auth_failures_per_minute).toBe(5);
    expect(config.server.trust_forwarded_for).toBe(true);
    expect(config.metrics.public).toBe(true);
    expect(errorsOf(load(`server: { auth_failures_per_minute: 0, trust_forwarded_for: yes-please }\nmetrics: { public: 1, open: true }\n`))).toEqual([
      "server.auth_failures_per_minute: must be at least 1 (was 0)",
      'server.trust_forwarded_for: must be boolean (was "yes-please")',
      "metrics.public: must be boolean (was 1)",
      "metrics.open: is not a known key",
    ]);
  });

  it("checks log.level, metrics.busiest and metrics.per_destination", () => {
    const config = configOf(load(`log: { level: debug }\nmetrics: { busiest: 5, per_destination: [crm, billing] }\n`));
    expect(config.log.level).toBe("debug");
    expect(config.metrics.busiest).toBe(5);
    expect(config.metrics.per_destination).toEqual(["crm", "billing"]);
    expect(errorsOf(load(`log: { level: verbose, format: text }\nmetrics: { busiest: -1, per_destination: ["not an id"] }\n`))).toEqual([
      'log.level: must be "debug", "error", "info" or "warn" (was "verbose")',
      "log.format: is not a known key",
      "metrics.busiest: must be non-negative (was -1)",
      'metrics.per_destination[0]: must be an id of 1 to 64 letters, digits, _ or - (was "not an id")',
    ]);
  });

  it("reports duplicate ids, names and tokens", () => {
    const hashOfToken = new Bun.CryptoHasher("sha256").update("0123456789abcdef").digest("hex");
    expect(
      errorsOf(
        load(`
auth:
  tokens:
    - { name: ops, role: admin, token: "0123456789abcdef" }
    - { name: ops, role: admin, token_sha256: "${hashOfToken.toUpperCase()}" }
event_types: [{ name: a.b }, { name: a.b }]
destinations: [{ id: d, url: "https://a.example" }, { id: d, url: "https://b.example" }]
subscriptions: [{ id: s, destination: d, event_types: ["*"] }, { id: s, destination: d, event_types: ["*"] }]
`),
      ),
    ).toEqual([
      "auth.tokens[1]: has the same token as auth.tokens[0]",
      "auth.tokens[1].name: is already used by auth.tokens[0]",
      "event_types[1].name: is already used by event_types[0]",
      "destinations[1].id: is already used by destinations[0]",
      "subscriptions[1].id: is already used by subscriptions[0]",
    ]);
  });

  it("reports every kind of error at once, not just the first", () => {
    const errors = errorsOf(
      load(`
server: { port: 99999, bogus: 1 }
delivery: { timeout: forever }
auth: { tokens: [{ name: t, role: admin }] }
destinations: [{ id: d, url: "https://d.example", secret: "\${MISSING}" }]
subscriptions: [{ id: s, destination: elsewhere, event_types: ["*"] }]
`),
    );
    // In the file's order, whichever pass found them.
    expect(errors).toEqual([
      "server.port: must be at most 65535 (was 99999)",
      "server.bogus: is not a known key",
      'delivery.timeout: must be a duration such as 500ms, 5s, 10m, 2h or 5d (was "forever")',
      "auth.tokens[0]: must have exactly one of token or token_sha256",
      "destinations[0].secret: environment variable MISSING is not set",
      'subscriptions[0].destination: names no destination in this file (no destination has id "elsewhere")',
    ]);
  });

  it("reports YAML syntax errors with their line and column", () => {
    expect(errorsOf(load("server:\n  port: 8080\n host: x\n"))).toEqual([
      "config.yaml: All mapping items must start at the same column at line 3, column 1",
    ]);
    expect(errorsOf(load("server: { port: 1 }\nserver: { port: 2 }\n"))).toEqual(["config.yaml: Map keys must be unique at line 2, column 1"]);
    expect(errorsOf(load("- a\n- b\n"))).toEqual(["the configuration must be a mapping of settings"]);
    // A cascade of errors from one slip is cut short.
    const cascade = errorsOf(load("server:\n  port: [1, 2\n" + "x: y\n".repeat(20)));
    expect(cascade).toHaveLength(6);
    expect(cascade[5]).toMatch(/^config\.yaml: \d+ more YAML errors follow from these$/);
  });

  it("returns a deeply frozen result", () => {
    const result = load(`destinations: [{ id: d, url: "https://d.example", headers: { x-a: "1" } }]\n`);
    const config = configOf(result);
    expect(Object.isFrozen(result)).toBe(true);
    expect(Object.isFrozen(config.delivery.retry_schedule)).toBe(true);
    expect(Object.isFrozen(config.destinations[0]?.headers)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow();
    const failed = loadConfig({ path: "nope.yaml", cwd: root, env: {} });
    expect(Object.isFrozen(!failed.ok && failed.errors[0])).toBe(true);
  });

  it("formats errors one `path: message` per line", () => {
    expect(formatConfigErrors([{ path: "a.b[0]", message: "is wrong" }, { path: "", message: "whole file" }])).toBe("a.b[0]: is wrong\nwhole file");
  });
});

describe("config.example.yaml", () => {
  const example = readFileSync(join(import.meta.dir, "..", "config.example.yaml"), "utf8");
  const env = {
    HERALD_ADMIN_TOKEN: "an-admin-token-of-enough-length",
    CRM_SECRET: secret(),
    CRM_TOKEN: "crm-token",
    HERALD_DATABASE_URL: "postgres://herald:secret@db.internal:5432/herald",
  };

  it("loads cleanly and equals the built-in defaults", () => {
    const fromFile = configOf(load(example, env));
    const defaults = configOf(loadConfig({ cwd: mkdtempSync(join(root, "defaults-")), env: {} }));
    expect(fromFile).toEqual(defaults);
  });

  it("has commented-out examples that load cleanly once uncommented", () => {
    // An example is the block of "#  ..." lines right after a `key: []` line.
    const uncommented = example.replace(/: \[\]\n((?:# {2,}.*\n)+)/g, (_, block: string) => `:\n${block.replace(/^#/gm, "")}`);
    const config = configOf(load(uncommented, env));
    expect(config.auth.tokens.map((t) => t.name)).toEqual(["ops", "acme", "shop"]);
    expect(config.event_types.map((t) => t.name)).toEqual(["attendee.updated"]);
    expect(config.destinations[0]?.headers).toEqual({ "x-auth-token": "crm-token" });
    expect(config.subscriptions.map((s) => s.destination)).toEqual(["crm"]);
    expect(config.server.portal_frame_ancestors).toEqual(["https://portal.example.com"]);
    expect(config.server.cors_origins).toEqual(["https://admin.example.com"]);
  });

  it("references only the environment variables these tests supply", () => {
    const names = [...example.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]);
    expect(new Set(names)).toEqual(new Set([...Object.keys(env), "NAME"]));
  });
});

describe("subscription filters in the config", () => {
  it("accepts a valid filter and reports a bad operator with its path", () => {
    const base = {
      destinations: [{ id: "d", url: "https://example.com/h" }],
      subscriptions: [{ id: "s", destination: "d", event_types: ["*"], filter: { "data.status": "failed" } }],
    };
    const good = validateConfig(base);
    expect(good.ok && good.config.subscriptions[0]!.filter).toEqual({ "data.status": "failed" });
    const bad = validateConfig({ ...base, subscriptions: [{ ...base.subscriptions[0], filter: { "data.n": { $near: 1 } } }] });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors.map((e) => e.path)).toEqual(["subscriptions[0].filter.data.n.$near"]);
  });
});
