// `herald copy-store`, run as a user runs it (a child process): a SQLite
// database built by a real Herald, with deliveries in every state, is copied
// into an empty PostgreSQL schema and served from there, and the API answers
// the same; a target that is not empty and a source that is not Herald's are
// refused. The copies need PostgreSQL and are declared only when
// HERALD_TEST_STORES names it; the refusals that never reach a server run everywhere.
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createApp, type Herald } from "../src/app.ts";
import { validateConfig, type Config } from "../src/config/schema.ts";
import { silentLogger } from "../src/engine/deps.ts";
import { ADMIN_TOKEN, removeDir, tempDir, testConfig, TestClock, verifyWithStandardWebhooks } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { postgresSchema, STORE_NAMES } from "./store/stores.ts";
import { TEST_KEY_ENV } from "./support/test-stores.ts";
import { parseKey } from "../src/store/sealing.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");

/** The real command, as a child process; never a fixed wait: it ends when it ends. */
async function copyStore(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, MAIN, "copy-store", ...args], { stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
function dir(): string {
  const d = tempDir("herald-copy-");
  cleanups.push(() => removeDir(d));
  return d;
}

describe("herald copy-store refuses, before it touches any server", () => {
  it("exits 2 with the usage when --from or --to is missing, or --to is not a PostgreSQL URL", async () => {
    for (const args of [[], ["--from", "x.db"], ["--to", "postgres://h/db"], ["--from", "x.db", "--to", "mysql://root:pw@h/db"], ["--from", "x.db", "--to", "postgres://h/db", "extra"]]) {
      const result = await copyStore(args);
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("herald copy-store --from FILE --to postgres://");
      expect(result.stderr).not.toContain("pw@");
    }
  });

  it("exits 1 when --from is missing, not SQLite, or not a Herald database", async () => {
    const d = dir();
    // The target is never reached: the source is checked first.
    const to = "postgres://herald:never-printed@127.0.0.1:1/none";
    const missing = await copyStore(["--from", join(d, "nope.db"), "--to", to]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${join(d, "nope.db")}: no such file`);

    writeFileSync(join(d, "notes.txt"), "hello, this is not a database at all, just some text long enough to have a header");
    const text = await copyStore(["--from", join(d, "notes.txt"), "--to", to]);
    expect(text.code).toBe(1);
    expect(text.stderr).toContain("not a SQLite database");

    const other = new Database(join(d, "other.db"));
    other.run("CREATE TABLE songs (id INTEGER PRIMARY KEY, title TEXT)");
    other.close();
    const foreign = await copyStore(["--from", join(d, "other.db"), "--to", to]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain("not a Herald database");
    for (const r of [missing, text, foreign]) expect(r.stdout + r.stderr).not.toContain("never-printed");
  });
});

// Not named: not declared (stores.ts prints the one line that says so).
if (STORE_NAMES.includes("postgres")) describe("herald copy-store into PostgreSQL", () => {
  /** A fresh schema on the test server; its URL carries a password the server does not ask for (trust), to prove it is never printed. */
  async function target() {
    const schema = await postgresSchema();
    cleanups.push(schema.drop);
    const url = new URL(schema.url);
    url.password = "pw-never-printed";
    return { ...schema, url: url.toString() };
  }

  function postgresConfig(url: string, overrides: Record<string, any> = {}): Config {
    const result = validateConfig({
      server: { port: 0 },
      storage: { driver: "postgres", url, pool_size: 4 },
      auth: { tokens: [] },
      delivery: { https_only: false, allow_private_networks: true },
      ...overrides,
    });
    if (!result.ok) throw new Error("test config invalid: " + JSON.stringify(result.errors));
    return result.config;
  }

  async function start(config: Config, clock: TestClock, onGeneratedToken: (token: string) => void = () => {}): Promise<Herald> {
    // One key for the source and the target: sealed values are copied as they are (the documented way).
    const app = await createApp(config, { now: clock.now, random: () => 0.5, log: silentLogger, onGeneratedToken, env: TEST_KEY_ENV });
    await app.start({ sweeps: false });
    cleanups.push(() => app.stop());
    return app;
  }

  function receiver(...args: Parameters<typeof startReceiver>): Receiver {
    const r = startReceiver(...args);
    cleanups.push(() => r.stop());
    return r;
  }

  /** One request through the app's own handler (no socket: thousands of reads stay quick). */
  async function call(app: Herald, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
    const response = await app.http.handle(
      new Request(`http://herald.test${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : null };
  }

  /** Every page of a list, following next_cursor. */
  async function all(app: Herald, token: string, path: string): Promise<any[]> {
    const rows: any[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes("?") ? "&" : "?";
      const page = await call(app, token, "GET", `${path}${sep}limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      rows.push(...page.body.data);
      cursor = page.body.next_cursor;
    } while (cursor);
    return rows;
  }

  /** Everything the API shows of one Herald: every list, and every resource, event and delivery read one by one. */
  async function snapshot(app: Herald, token: string): Promise<Map<string, unknown>> {
    const answers = new Map<string, unknown>();
    const read = async (paths: string[]) => {
      // A few dozen at once: quick, and within the PostgreSQL pool.
      for (let i = 0; i < paths.length; i += 32) {
        await Promise.all(
          paths.slice(i, i + 32).map(async (path) => {
            const answer = await call(app, token, "GET", path);
            answers.set(path, { status: answer.status, body: answer.body });
          }),
        );
      }
    };
    const types = await all(app, token, "/v1/event-types");
    const destinations = await all(app, token, "/v1/destinations");
    const subscriptions = await all(app, token, "/v1/subscriptions");
    const events = await all(app, token, "/v1/events");
    const deliveries = await all(app, token, "/v1/deliveries");
    answers.set("list event types", types);
    answers.set("list destinations", destinations);
    answers.set("list subscriptions", subscriptions);
    answers.set("list events", events);
    answers.set("list deliveries", deliveries);
    answers.set("list failed deliveries", await all(app, token, "/v1/deliveries?status=failed"));
    await read([
      ...types.map((t) => `/v1/event-types/${t.name}`),
      ...destinations.flatMap((d) => [`/v1/destinations/${d.id}`, `/v1/destinations/${d.id}/secret`, `/v1/destinations/${d.id}/headers`]),
      ...subscriptions.map((s) => `/v1/subscriptions/${s.id}`),
      ...events.map((e) => `/v1/events/${e.id}`),
      ...deliveries.map((d) => `/v1/deliveries/${d.id}`),
    ]);
    return answers;
  }

  /**
   * What the copy changes on purpose: a delivery that was `delivering` (leased
   * to the source's process) is `pending` in the target, due at the copy's
   * start, which is also its updated_at. Everything else must be equal.
   */
  function afterCopy(value: unknown, releasedAt: string): unknown {
    if (Array.isArray(value)) return value.map((v) => afterCopy(v, releasedAt));
    if (value === null || typeof value !== "object") return value;
    const copy = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, afterCopy(v, releasedAt)]));
    if (copy.status === "delivering" && typeof copy.id === "string" && copy.id.startsWith("dlv_")) {
      return { ...copy, status: "pending", next_attempt_at: releasedAt, updated_at: releasedAt };
    }
    // A destination's in_flight counts its delivering rows, which the copy hands back.
    if (typeof copy.in_flight === "number" && typeof copy.id === "string" && "max_in_flight" in copy) return { ...copy, in_flight: 0 };
    return copy;
  }

  it("copies a Herald with deliveries in every state; served from PostgreSQL, the API answers the same", async () => {
    const ok = receiver([], { status: 200 });
    const flaky = receiver([], { status: 500 });
    const gone = receiver([], { status: 410 });
    const stuck = startReceiver([], { hang: true });

    // The source: Herald on SQLite, no token configured (so it generates one). Its
    // own herald.* event types are the config-owned resources: file resources would
    // be written again (updated_at) by the start on PostgreSQL, which is not the copy.
    const sourceDir = dir();
    const clock = new TestClock();
    // The breaker off: the flaky destination's 200 deliveries must run out their schedule and fail.
    const delivery = { https_only: false, allow_private_networks: true, retry_schedule: ["5s", "5m"], breaker: { failures: 0 } };
    let token = "";
    const source = await start(testConfig({ auth: { tokens: [] }, delivery }, sourceDir), clock, (t) => (token = t));
    expect(token).not.toBe("");
    // After the source's stop in the cleanups (they run in reverse), which waits for the sends this receiver holds.
    cleanups.push(() => stuck.stop());
    const api = async (method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
      const answer = await call(source, token, method, path, body, headers);
      if (answer.status >= 300) throw new Error(`${method} ${path}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body;
    };
    const settle = async (ms = 0) => {
      clock.advance(ms);
      await source.engine.sweeper.runOnce(clock.now());
      await source.engine.idle();
    };
    const publish = async (type: string, count: number, extra: (i: number) => Record<string, unknown> = () => ({})) => {
      for (let start = 0; start < count; start += 500) {
        const events = Array.from({ length: Math.min(500, count - start) }, (_, i) => ({ type, data: { n: start + i, note: "tab\there, newline\nthere, backslash \\ and ünïcødé" }, ...extra(start + i) }));
        await api("POST", "/v1/events/batch", { events });
      }
      await settle();
    };

    await api("POST", "/v1/event-types", {
      name: "order.created", description: "An order", example: { n: 1 },
      schema: { type: "object", properties: { n: { type: "integer" } }, required: ["n"] },
    });
    for (const name of ["order.flaky", "user.gone", "job.slow", "thing.paused", "thing.doomed"]) await api("POST", "/v1/event-types", { name });
    const destination = (id: string, url: string, more: Record<string, unknown> = {}) => api("POST", "/v1/destinations", { id, url, ...more });
    await destination("ok", ok.url, { headers: { "x-auth-token": "static-s3cret" }, rate_limit: 1000, metadata: { team: "shop" }, description: "the good one" });
    await destination("flaky", flaky.url, { timeout: 3000 });
    await destination("gone", gone.url);
    await destination("stuck", stuck.url, { timeout: 600000 });
    await destination("paused", ok.url);
    await destination("doomed", ok.url);
    await destination("acme-hook", ok.url, { tenant: "acme" });
    const subscribe = (id: string, destination_id: string, event_types: string[], more: Record<string, unknown> = {}) =>
      api("POST", "/v1/subscriptions", { id, destination_id, event_types, ...more });
    await subscribe("ok-orders", "ok", ["order.created"]);
    await subscribe("flaky-orders", "flaky", ["order.flaky"], { filter: { "data.n": { $gte: 0 } }, description: "filtered" });
    await subscribe("gone-users", "gone", ["user.*"]);
    await subscribe("stuck-jobs", "stuck", ["job.slow"]);
    await subscribe("paused-things", "paused", ["thing.paused"]);
    await subscribe("doomed-things", "doomed", ["thing.doomed"]);
    await subscribe("acme-orders", "acme-hook", ["order.created"], { enabled: true });
    await api("POST", "/v1/subscriptions", { destination_id: "ok", event_types: ["*"], enabled: false });
    await api("POST", "/v1/destinations/ok/rotate-secret", { grace_period: "1h" });

    // succeeded: 1,600 orders; acme's, published with producer ids and idempotency keys.
    await publish("order.created", 1_600);
    await publish("order.created", 150, (i) => ({ tenant: "acme", id: `acme-order-${i}` }));
    for (let i = 0; i < 20; i++) await api("POST", "/v1/events", { type: "order.created", tenant: "acme", data: { n: i } }, { "idempotency-key": `key-${i}` });
    await settle();
    // failed after the whole schedule (three attempts), then some retried by hand (pending again, schedule restarted).
    await publish("order.flaky", 200);
    await settle(5_000);
    await settle(5 * 60_000);
    const failed = await all(source, token, "/v1/deliveries?status=failed&destination_id=flaky");
    expect(failed.length).toBe(200);
    for (const d of failed.slice(0, 15)) await api("POST", `/v1/deliveries/${d.id}/retry`);
    await settle();
    // pending after one attempt.
    await publish("order.flaky", 150);
    // failed by 410 Gone, which disables the destination: the rest wait, pending.
    await publish("user.gone", 100);
    // pending, never attempted: a disabled destination.
    await api("POST", "/v1/destinations/paused/disable", { reason: "maintenance window" });
    await publish("thing.paused", 250);
    // cancelled: the destination was deleted while its deliveries waited.
    await api("POST", "/v1/destinations/doomed/disable", {});
    await publish("thing.doomed", 120);
    await api("DELETE", "/v1/destinations/doomed");
    await api("POST", "/v1/destinations/ok/test", {});
    // delivering: sends held by a receiver that does not answer, so their leases are live when the copy reads them.
    await api("POST", "/v1/events/batch", { events: Array.from({ length: 6 }, (_, n) => ({ type: "job.slow", data: { n } })) });
    await stuck.waitFor(6);

    const before = await snapshot(source, token);
    const statuses = new Map<string, number>();
    for (const d of before.get("list deliveries") as any[]) statuses.set(d.status, (statuses.get(d.status) ?? 0) + 1);
    expect(Object.fromEntries(statuses)).toEqual({
      succeeded: expect.any(Number), failed: expect.any(Number), pending: expect.any(Number),
      delivering: 6, cancelled: 120,
    });
    expect((before.get("list events") as any[]).length).toBeGreaterThan(2_500);

    // The copy, from the running source (the copy reads one snapshot; WAL lets it read beside the writer).
    const to = await target();
    const copyStarted = Date.now();
    const result = await copyStore(["--from", join(sourceDir, "herald.db"), "--to", to.url]);
    const copyEnded = Date.now();
    expect(result.stderr).not.toContain("herald copy-store:");
    expect(result.code).toBe(0);
    expect(result.stdout + result.stderr).not.toContain("pw-never-printed");
    // Not a terminal: one line per table, with its counts.
    expect(result.stderr).toContain(`events ${(before.get("list events") as any[]).length.toLocaleString("en-US")}/`);
    expect(result.stdout).toMatch(/copied .* to postgres:\/\/herald@127\.0\.0\.1:\d+\/\S+ in [\d.]+ s/);
    expect(result.stdout).toContain("6 deliveries in flight in the source are pending in the target, due now");
    // Secrets travel sealed: the summary names the key the target must start with (by id, never the key).
    const keyId = parseKey(TEST_KEY_ENV.HERALD_ENCRYPTION_KEY, "key").id;
    expect(result.stdout).toContain(`destinations' secrets and headers were copied sealed under key id ${keyId}`);
    expect(result.stdout).not.toContain(TEST_KEY_ENV.HERALD_ENCRYPTION_KEY);

    // Served from PostgreSQL with the same file resources and no token configured: the generated one still works.
    // Its clock stands just before the copy: nothing copied is due yet, so it sends
    // nothing of its own accord and the reads below see the copy as it was written.
    const pgClock = new TestClock();
    pgClock.t = copyStarted - 1;
    const onPostgres = await start(postgresConfig(to.url, { delivery }), pgClock, () => {
      throw new Error("a token was stored: none should be generated");
    });
    expect(await onPostgres.store.catalog.version()).toBeGreaterThan(1);
    const after = await snapshot(onPostgres, token);

    const released = (after.get("list deliveries") as any[]).filter((d) => (before.get(`/v1/deliveries/${d.id}`) as any).body.status === "delivering");
    expect(released.length).toBe(6);
    const releasedAt = released[0].next_attempt_at;
    expect(Date.parse(releasedAt)).toBeGreaterThanOrEqual(copyStarted);
    expect(Date.parse(releasedAt)).toBeLessThanOrEqual(copyEnded);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [path, answer] of before) expect({ path, answer: after.get(path) }).toEqual({ path, answer: afterCopy(answer, releasedAt) });

    // And it keeps working: a new order reaches the destination, signed with the rotated secret.
    const published = await call(onPostgres, token, "POST", "/v1/events", { type: "order.created", data: { n: -1 } });
    expect(published.status).toBe(202);
    const seen = ok.requests.length;
    await ok.waitFor(seen + 1);
    const secret = (before.get("/v1/destinations/ok/secret") as any).body;
    const request = ok.requests.find((r) => r.headers["webhook-id"] === published.body.id)!;
    expect(request.headers["x-auth-token"]).toBe("static-s3cret");
    expect(secret.previous.length).toBe(1);
    expect(verifyWithStandardWebhooks(secret.secret, request)).toMatchObject({ data: { n: -1 } });
  }, 120_000);

  it("a Herald already running on the empty target takes up the copied catalogue when the copy ends", async () => {
    const ok = receiver();
    const sourceDir = dir();
    const clock = new TestClock();
    const source = await start(testConfig({}, sourceDir), clock);
    for (const [path, body] of [
      ["/v1/event-types", { name: "order.created" }],
      ["/v1/destinations", { id: "shop", url: ok.url }],
      ["/v1/subscriptions", { id: "shop-orders", destination_id: "shop", event_types: ["order.*"] }],
    ] as const) expect((await call(source, ADMIN_TOKEN, "POST", path, body)).status).toBe(201);
    await source.stop();

    // Started first, on the empty database: it writes its own event types and its instance row, which do not make the target non-empty.
    const to = await target();
    const running = await start(postgresConfig(to.url, { auth: { tokens: [{ name: "admin", token: ADMIN_TOKEN, role: "admin" }] } }), clock);
    const result = await copyStore(["--from", join(sourceDir, "herald.db"), "--to", to.url]);
    expect(result.stderr).not.toContain("herald copy-store:");
    expect(result.code).toBe(0);

    // Told by the catalogue's notification, not by a sweep (its timers are off): within a deadline, never a fixed wait.
    const deadline = Date.now() + 5_000;
    let published: { status: number; body: any };
    do {
      published = await call(running, ADMIN_TOKEN, "POST", "/v1/events", { type: "order.created", data: {} });
      if (published.status === 202 && published.body.deliveries > 0) break;
      await Bun.sleep(20);
    } while (Date.now() < deadline);
    expect(published.status).toBe(202);
    expect(published.body.deliveries).toBe(1);
    await ok.waitFor(1);
  }, 60_000);

  it("refuses a target that holds anything: exit 1, a message, nothing written", async () => {
    const sourceDir = dir();
    const clock = new TestClock();
    const source = await start(testConfig({}, sourceDir), clock);
    expect((await call(source, ADMIN_TOKEN, "POST", "/v1/event-types", { name: "order.created" })).status).toBe(201);
    await source.stop();

    // A Herald started there with no token configured generated one: that is enough.
    const to = await target();
    const first = await start(postgresConfig(to.url), clock);
    await first.stop();
    const tokenRefused = await copyStore(["--from", join(sourceDir, "herald.db"), "--to", to.url]);
    expect(tokenRefused.code).toBe(1);
    expect(tokenRefused.stderr).toContain("herald copy-store: the target database is not empty (it holds generated tokens)");
    expect(tokenRefused.stdout + tokenRefused.stderr).not.toContain("pw-never-printed");
    const [{ n }] = await to.admin.unsafe(`SELECT count(*)::int AS n FROM ${to.name}.event_types WHERE name = 'order.created'`);
    expect(n).toBe(0);

    // A copy done once: running it again is refused, and nothing is doubled.
    const fresh = await target();
    expect((await copyStore(["--from", join(sourceDir, "herald.db"), "--to", fresh.url])).code).toBe(0);
    const again = await copyStore(["--from", join(sourceDir, "herald.db"), "--to", fresh.url]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("the target database is not empty (it holds event types)");
  }, 60_000);
});
