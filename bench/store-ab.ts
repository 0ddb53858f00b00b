// `bun bench/store-ab.ts N SYNC TREE...`: store-bench's workload against the
// SQLite store of several source trees (checkouts of other commits, each with
// node_modules linked) in ONE process, their rounds interleaved and the order
// turned every round. On the shared two-core machine separate runs of one build
// spread by ±20 % of CPU time; rounds a few milliseconds apart see the same
// machine, so differences of 2-5 % show. Prints CPU and wall µs per delivery
// per phase for each tree; run it several times, the trees in turn first.
// SYNC `postgres` runs the same rounds against each tree's PostgreSQL store
// instead, a database each on one server (bench/database.ts: a durable cluster
// started for the run, or HERALD_BENCH_DATABASE_URL), and prints the server's
// CPU per delivery per phase too (a started cluster only).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import { openBenchServer } from "./database.ts";

const total = Number(process.argv[2] ?? 50_000);
const sync = process.argv[3] ?? "full";
const trees = process.argv.slice(4).map((t) => resolve(t));
if (trees.length === 0) throw new Error("usage: bun bench/store-ab.ts N full|normal|off|postgres TREE...");
const server = sync === "postgres" ? await openBenchServer((line) => console.log(line)) : null;
// One key for every tree's store: the destinations' secrets are sealed under it.
const keyEnv = { HERALD_ENCRYPTION_KEY: randomBytes(32).toString("base64") };
const BATCH = 500;
const INSTANCE = "ins_bench";
// As the engine claims and records (the default delivery.breaker); older trees ignore it.
const BREAKER = { failures: 10, probe_every_ms: 30_000 };
const PHASES = ["publish", "publishPending", "claim", "record"] as const;
type Phase = (typeof PHASES)[number];
const zero = (): Record<Phase, number> => ({ publish: 0, publishPending: 0, claim: 0, record: 0 });

// Each tree's own modules: nothing of one tree's store is shared with another's.
const setups = await Promise.all(
  trees.map(async (tree) => {
    const { newId } = await import(join(tree, "src/store/ids.ts"));
    const dir = mkdtempSync(join(tmpdir(), "herald-store-ab-"));
    const database = server ? await server.createDatabase() : null;
    const store = database ? await openPostgres(tree, database.url) : await openSqlite(tree, join(dir, "herald.db"));
    const now = Date.now();
    await store.catalog.saveDestination({
      id: "dst_bench", tenant: "default", url: "http://127.0.0.1:9/hook", description: "", secrets: [], headers: {},
      timeout_ms: null, rate_limit: null, max_in_flight: null, ordered: false, client_tls: null, enabled: true,
      disabled_reason: null, metadata: {}, failing_since: null, managed_by: "api", created_at: now, updated_at: now,
    });
    return {
      tree, store, database, newId: newId as (prefix: string, at: number) => string, dir, cpu: zero(), wall: zero(), server: zero(), done: 0,
    };
  }),
);
type Setup = (typeof setups)[number];

async function openSqlite(tree: string, path: string) {
  const { SqliteStore } = await import(join(tree, "src/store/sqlite/sqlite-store.ts"));
  return new SqliteStore(path, sync);
}

async function openPostgres(tree: string, url: string) {
  const { openPostgresStore } = await import(join(tree, "src/store/postgres/postgres-store.ts"));
  const { configuredKeys } = await import(join(tree, "src/store/sealing-keys.ts"));
  return openPostgresStore({ url, keys: configuredKeys({ driver: "postgres", path: "" }, keyEnv) });
}

function item(s: Setup, status: "delivering" | "pending") {
  const t = Date.now();
  const event = { id: s.newId("evt", t), type: "bench.event", tenant: "default", data: { n: 1 }, created_at: t };
  const delivery = {
    id: s.newId("dlv", t), event_id: event.id, destination_id: "dst_bench", subscription_id: "sub_bench", tenant: "default",
    event_type: "bench.event", status, attempts: 0, schedule_start: 0, next_attempt_at: status === "pending" ? t : null,
    lease_until: status === "delivering" ? t + 60_000 : null, lease_owner: status === "delivering" ? INSTANCE : null,
    last_status: null, last_error: null, created_at: t, updated_at: t, finalized_at: null,
  };
  return { event, data_json: '{"n":1,"payload":"' + "x".repeat(200) + '"}', idempotency_key: null, request_hash: "h", deliveries: [delivery] };
}

function record(s: Setup, job: { id: string; lease_until: number }) {
  const t = Date.now();
  return s.store.queue.recordAttempt({
    delivery_id: job.id,
    lease: { owner: INSTANCE, until: job.lease_until },
    attempt: {
      started_at: t, duration_ms: 1, request_url: "http://127.0.0.1:9/hook",
      request_headers: { "content-type": "application/json", "user-agent": "Herald/0.1.0", "webhook-id": "evt_x", "webhook-timestamp": "1", "webhook-signature": "[redacted]" },
      response_status: 200, response_headers: { "content-length": "2", "content-type": "text/plain", date: new Date().toUTCString() },
      response_body: "ok", error: null,
    },
    outcome: { status: "succeeded" },
    breaker: BREAKER,
    // As the dispatcher records (older trees ignore it): the count and destination as leased.
    as_leased: { attempts: 0, destination_id: "dst_bench" },
  }, t);
}

async function phase<T>(s: Setup, name: Phase, run: () => Promise<T>): Promise<T> {
  // The server's CPU is read outside the process's window: reading /proc costs this process some.
  const server0 = server ? await server.cpuMs() : null;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const result = await run();
  const c = process.cpuUsage(c0);
  s.wall[name] += performance.now() - t0;
  s.cpu[name] += (c.user + c.system) / 1000;
  const server1 = server0 === null ? null : await server!.cpuMs();
  if (server0 !== null && server1 !== null) s.server[name] += server1 - server0;
  return result;
}

/** One round of store-bench: a batch published (leased, or pending and then claimed), then its attempts recorded. */
async function round(s: Setup): Promise<void> {
  const leased = (s.done / BATCH) % 2 === 0;
  const items = Array.from({ length: BATCH }, () => item(s, leased ? "delivering" : "pending"));
  await phase(s, leased ? "publish" : "publishPending", () => Promise.all(items.map((i) => s.store.queue.publish(i))));
  let leases: { id: string; lease_until: number }[] = items.map((i) => i.deliveries[0]! as { id: string; lease_until: number });
  if (!leased) {
    const t = Date.now();
    type Job = { delivery: { id: string; lease_until: number } };
    const jobs: Job[] = await phase(s, "claim", () => s.store.queue.claimDue(t + 1, { owner: INSTANCE, until: t + 60_000 }, BATCH, BREAKER, false));
    leases = jobs.map((j) => j.delivery);
  }
  await phase(s, "record", () => Promise.all(leases.map((job) => record(s, job))));
  s.done += BATCH;
}

// A leased and a pending round per tree in turn; the order reversed every turn.
for (let turn = 0; setups[0]!.done < total; turn++) {
  for (const s of turn % 2 === 0 ? setups : [...setups].reverse()) {
    await round(s);
    await round(s);
  }
}
const per = (ms: number, n: number) => ((ms * 1000) / n).toFixed(1);
const half = total / 2;
for (const s of setups) {
  for (const kind of server ? (["cpu", "wall", "server"] as const) : (["cpu", "wall"] as const)) {
    const t = s[kind];
    console.log(
      `${s.tree} ${kind}: publish ${per(t.publish, half)} µs, publish pending ${per(t.publishPending, half)} µs, ` +
        `claim ${per(t.claim, half)} µs, record ${per(t.record, total)} µs, ` +
        `all ${per(t.publish + t.publishPending + t.claim + t.record, total)} µs per delivery`,
    );
  }
  await s.store.close();
  await s.database?.drop();
  rmSync(s.dir, { recursive: true, force: true });
}
await server?.stop();
