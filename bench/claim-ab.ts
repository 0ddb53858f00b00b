// `bun bench/claim-ab.ts BYTES FAN ROUNDS TREE...`: the SQLite claim alone, for
// events of BYTES of data each delivered to FAN destinations, in several source
// trees (checkouts of other commits, node_modules linked) in ONE process, as
// store-ab.ts does for the whole store. Each round, each tree's store gets
// ~10,000 pending deliveries (10,000 / FAN events) and claims them all, 1,000
// at a time; the order of the trees is turned every round, and a first round
// each is not counted. Prints CPU µs per claimed row (the process's: the store
// runs on this thread) and checks every job's data.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const [bytes, fan, rounds] = process.argv.slice(2, 5).map(Number) as [number, number, number];
const trees = process.argv.slice(5).map((t) => resolve(t));
if (!(bytes >= 0 && fan >= 1 && rounds >= 1) || trees.length === 0) throw new Error("usage: bun bench/claim-ab.ts BYTES FAN ROUNDS TREE...");

const now = Date.now();
const dirs: string[] = [];
const setups = await Promise.all(
  trees.map(async (tree) => {
    const { newId } = await import(join(tree, "src/store/ids.ts"));
    const { SqliteStore } = await import(join(tree, "src/store/sqlite/sqlite-store.ts"));
    const dir = mkdtempSync(join(tmpdir(), "herald-claim-ab-"));
    dirs.push(dir);
    const store = new SqliteStore(join(dir, "herald.db"), "full");
    for (let i = 0; i < fan; i++) {
      await store.catalog.saveDestination({
        id: `dst_${i}`, tenant: "default", url: "http://127.0.0.1:9/hook", description: "", secrets: [], headers: {},
        timeout_ms: null, rate_limit: null, enabled: true, disabled_reason: null, metadata: {}, failing_since: null,
        managed_by: "api", created_at: now, updated_at: now,
      } as never);
    }
    return { tree, newId: newId as (prefix: string, at: number) => string, store, cpuUs: 0, rows: 0 };
  }),
);
type Setup = (typeof setups)[number];

const dataJson = JSON.stringify({ payload: "x".repeat(bytes) });
const EVENTS = Math.max(1, Math.round(10_000 / fan));

async function round(s: Setup, counted: boolean): Promise<void> {
  const publishes = [];
  for (let e = 0; e < EVENTS; e++) {
    const t = Date.now();
    const event = { id: s.newId("evt", t), type: "bench.event", tenant: "default", data: null, created_at: t };
    const deliveries = Array.from({ length: fan }, (_, i) => ({
      id: s.newId("dlv", t), event_id: event.id, destination_id: `dst_${i}`, subscription_id: null, tenant: "default",
      event_type: "bench.event", status: "pending", attempts: 0, schedule_start: 0, next_attempt_at: t, lease_until: null,
      lease_owner: null, last_status: null, last_error: null, created_at: t, updated_at: t, finalized_at: null,
    }));
    publishes.push(s.store.queue.publish({ event, data_json: dataJson, idempotency_key: null, request_hash: "h", deliveries }));
  }
  await Promise.all(publishes);
  const c0 = process.cpuUsage();
  let rows = 0;
  for (;;) {
    const at = Date.now() + 1_000;
    const jobs = await s.store.queue.claimDue(at, { owner: "ins_bench", until: at + 600_000 }, 1_000, undefined, false);
    if (jobs.length === 0) break;
    for (const job of jobs) if (job.event.data_json !== dataJson) throw new Error(`${s.tree}: a job's data is not its event's`);
    rows += jobs.length;
  }
  const c = process.cpuUsage(c0);
  if (rows !== EVENTS * fan) throw new Error(`${s.tree}: claimed ${rows} of ${EVENTS * fan} rows`);
  if (counted) {
    s.cpuUs += c.user + c.system;
    s.rows += rows;
  }
}

try {
  for (const s of setups) await round(s, false);
  for (let r = 0; r < rounds; r++) for (const s of r % 2 === 0 ? setups : [...setups].reverse()) await round(s, true);
  for (const s of setups) console.log(`${s.tree}: ${(s.cpuUs / s.rows).toFixed(2)} µs CPU per claimed row (${bytes} bytes of data, ${fan} destinations)`);
} finally {
  for (const s of setups) await s.store.close();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}
