// Starts a real Herald for a test: its own SQLite file in a temp folder (or its
// own PostgreSQL schema, under describeOnEachStore), a real HTTP listener on a
// free port, an injected clock and random source, and a small client for the API.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setSystemTime } from "bun:test";
import { Webhook } from "standardwebhooks";
import type { Database } from "bun:sqlite";
import { createApp, type Herald } from "../../src/app.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { validateConfig, type Config } from "../../src/config/schema.ts";
import { silentLogger } from "../../src/engine/deps.ts";
import type { ReceivedRequest } from "./receiver.ts";
import { currentHeraldStore, dropAfterThisStore, postgresSchema, TEST_KEY_ENV, type StoreName } from "./test-stores.ts";

/** The SQLite database under a test's Herald, for tests of SQLite itself (a full disk, leftover rows). */
export function sqliteOf(app: Herald): Database {
  if (!(app.store instanceof SqliteStore)) throw new Error("this test needs Herald on SQLite");
  return app.store.db;
}

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const ACME_TOKEN = "acme-tenant-token-0123456789";
export const GLOBEX_TOKEN = "globex-tenant-token-0123456789";

/** `auth` for tests of tenant scope: an admin token and tenant tokens for acme and globex. */
export const adminAndTenantTokens = () => ({
  tokens: [
    { name: "admin", token: ADMIN_TOKEN, role: "admin" },
    { name: "acme", token: ACME_TOKEN, role: "tenant", tenant: "acme" },
    { name: "globex", token: GLOBEX_TOKEN, role: "tenant", tenant: "globex" },
  ],
});

/**
 * A clock the test moves by hand. Starts at the real time so signatures are
 * recent. Its `timer` is the engine's timer on this clock (pass `clockTimers`
 * to startHerald): what it schedules runs when `advance` passes its time.
 */
export class TestClock {
  t = Date.now();
  private timers: { at: number; fn: () => void }[] = [];
  now = () => this.t;
  timer = (fn: () => void, ms: number): (() => void) => {
    const entry = { at: this.t + ms, fn };
    this.timers.push(entry);
    return () => {
      this.timers = this.timers.filter((t) => t !== entry);
    };
  };
  /** Moves the clock on, running each timer due on the way at its own time, earliest first. */
  advance(ms: number): number {
    const end = this.t + ms;
    for (;;) {
      const due = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
    return this.t;
  }
}

export function tempDir(prefix = "herald-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A valid config for tests: loopback receivers allowed, one admin token, a temp database. */
export function testConfig(overrides: Record<string, any> = {}, dir = tempDir()): Config {
  const base: Record<string, any> = {
    server: { port: 0 },
    storage: { path: join(dir, "herald.db") },
    auth: { tokens: [{ name: "admin", token: ADMIN_TOKEN, role: "admin" }] },
    delivery: { https_only: false, allow_private_networks: true },
  };
  const merged = { ...base, ...overrides };
  merged.delivery = { ...base.delivery, ...overrides.delivery };
  merged.storage = { ...base.storage, ...overrides.storage };
  const result = validateConfig(merged);
  if (!result.ok) throw new Error("test config invalid: " + JSON.stringify(result.errors));
  return result.config;
}

export interface TestHerald {
  app: Herald;
  url: string;
  clock: TestClock;
  api<T = any>(method: string, path: string, body?: unknown, options?: { token?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/**
 * Starts Herald with the sweeps' timers off: tests run them with runOnce(clock.now()).
 * On `store: "postgres"` (by default the store describeOnEachStore names) the
 * config's storage becomes a fresh schema of its own, dropped at stop.
 */
export async function startHerald(
  config: Config,
  options: { clock?: TestClock; random?: () => number; clockTimers?: boolean; store?: StoreName; env?: Record<string, string> } = {},
): Promise<TestHerald> {
  let dropSchema: (() => Promise<void>) | null = null;
  // A config already on PostgreSQL (a restart: startHerald(herald.app.config)) keeps its schema.
  if ((options.store ?? currentHeraldStore()) === "postgres" && config.storage.driver !== "postgres") {
    const schema = await postgresSchema();
    config = { ...config, storage: { ...config.storage, driver: "postgres", url: schema.url, pool_size: 4 } };
    if (!dropAfterThisStore(schema.drop)) dropSchema = schema.drop;
  }
  const clock = options.clock ?? new TestClock();
  const timer = options.clockTimers ? { timer: clock.timer } : {};
  // On PostgreSQL the tests' shared key (there is no key file beside the database); on SQLite, its own key file.
  const env = options.env ?? (config.storage.driver === "postgres" ? TEST_KEY_ENV : {});
  const app = await createApp(config, { now: clock.now, ...timer, random: options.random ?? (() => 0.5), log: silentLogger, env });
  const { url } = await app.start({ sweeps: false });
  return {
    app,
    url,
    clock,
    async api(method, path, body, opts = {}) {
      const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
      const headers: Record<string, string> = { ...opts.headers };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await fetch(url + path, { method, headers, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body) });
      const text = await response.text();
      let parsed: any = text;
      try {
        parsed = JSON.parse(text);
      } catch {}
      return { status: response.status, body: parsed };
    },
    async stop() {
      await app.stop();
      const drop = dropSchema;
      dropSchema = null;
      await drop?.();
    },
  };
}

/** The secret Herald holds for a destination, read from its store. */
export async function secretOf(herald: TestHerald, destinationId: string): Promise<string> {
  return (await herald.app.store.catalog.getDestination(destinationId))!.secrets[0]!.secret;
}

/**
 * Verifies a received request with the independent `standardwebhooks` library.
 * The library checks the timestamp against Date.now(), so the system time is set
 * to the request's own timestamp for the check: the injected clock may be hours ahead.
 */
export function verifyWithStandardWebhooks(secret: string, request: ReceivedRequest): unknown {
  const timestamp = Number(request.headers["webhook-timestamp"]);
  setSystemTime(new Date(timestamp * 1000));
  try {
    return new Webhook(secret).verify(request.body, {
      "webhook-id": request.headers["webhook-id"]!,
      "webhook-timestamp": request.headers["webhook-timestamp"]!,
      "webhook-signature": request.headers["webhook-signature"]!,
    });
  } finally {
    setSystemTime();
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
