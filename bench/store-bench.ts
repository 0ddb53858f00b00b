// `bun bench/store-bench.ts [N] [--sync=full|normal|off]`: the SQLite store alone, no HTTP
// and no Herald process: microseconds per delivery for each hot-path write,
// group-committed in batches of 500 as under load. Used to weigh schema and
// pragma changes (bench/README.md), not part of `npm run bench`.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newId } from "../src/store/ids.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import type { Synchronous } from "../src/store/sqlite/database.ts";
import type { Delivery, NewEvent } from "../src/store/types.ts";

const total = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000);
const sync = (process.argv.find((a) => a.startsWith("--sync="))?.slice(7) ?? "full") as Synchronous;
const BATCH = 500;
const dir = mkdtempSync(join(tmpdir(), "herald-store-bench-"));
const store = new SqliteStore(join(dir, "herald.db"), sync);
const now = Date.now();
const INSTANCE = "ins_bench";
const BREAKER = { failures: 10, probe_every_ms: 30_000 };
await store.catalog.saveDestination({
  id: "dst_bench", tenant: "default", url: "http://127.0.0.1:9/hook", description: "", secrets: [], headers: {},
  timeout_ms: null, rate_limit: null, enabled: true, disabled_reason: null, metadata: {}, failing_since: null,
  managed_by: "api", created_at: now, updated_at: now,
} as never);

function item(status: "delivering" | "pending"): NewEvent {
  const t = Date.now();
  const event = { id: newId("evt", t), type: "bench.event", tenant: "default", data: { n: 1 }, created_at: t };
  const delivery: Delivery = {
    id: newId("dlv", t), event_id: event.id, destination_id: "dst_bench", subscription_id: "sub_bench", tenant: "default",
    event_type: "bench.event", status, attempts: 0, schedule_start: 0, next_attempt_at: status === "pending" ? t : null,
    lease_until: status === "delivering" ? t + 60_000 : null, lease_owner: status === "delivering" ? INSTANCE : null, last_status: null, last_error: null, created_at: t,
    updated_at: t, finalized_at: null,
  };
  return { event, data_json: '{"n":1,"payload":"' + "x".repeat(200) + '"}', idempotency_key: null, request_hash: "h", deliveries: [delivery] };
}

function record(job: { id: string; lease_until: number | null }) {
  const t = Date.now();
  return store.queue.recordAttempt({
    delivery_id: job.id,
    lease: { owner: INSTANCE, until: job.lease_until! },
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

const times = { publish: 0, claim: 0, record: 0, publishPending: 0 };
// CPU time per phase as well (process.cpuUsage: every thread, user + system):
// on a shared machine wall time moves with the neighbours, and with
// synchronous=full it also waits for the disk's syncs.
const cpu = { publish: 0, claim: 0, record: 0, publishPending: 0 };
type Phase = keyof typeof times;
async function phase<T>(name: Phase, run: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const result = await run();
  const c = process.cpuUsage(c0);
  times[name] += performance.now() - t0;
  cpu[name] += (c.user + c.system) / 1000;
  return result;
}
let done = 0;
while (done < total) {
  // Half the rounds lease at publish (the fast path), half go through a claim.
  const leased = (done / BATCH) % 2 === 0;
  const items = Array.from({ length: BATCH }, () => item(leased ? "delivering" : "pending"));
  await phase(leased ? "publish" : "publishPending", () => Promise.all(items.map((i) => store.queue.publish(i))));
  let leases = items.map((i) => i.deliveries[0]!);
  if (!leased) {
    const t = Date.now();
    // With the breaker settings, as the engine claims (the default delivery.breaker).
    leases = (await phase("claim", () => store.queue.claimDue(t + 1, { owner: INSTANCE, until: t + 60_000 }, BATCH, BREAKER))).map((j) => j.delivery);
  }
  await phase("record", () => Promise.all(leases.map(record)));
  done += BATCH;
}
const per = (ms: number, n: number) => ((ms * 1000) / n).toFixed(1);
const half = total / 2;
const line = (label: string, t: typeof times) =>
  `${label}: publish ${per(t.publish, half)} µs, publish pending ${per(t.publishPending, half)} µs, ` +
  `claim ${per(t.claim, half)} µs, record ${per(t.record, total)} µs, ` +
  `all ${per(t.publish + t.publishPending + t.claim + t.record, total)} µs per delivery`;
console.log(`sync=${sync} deliveries=${total}`);
console.log(line("wall", times));
console.log(line("cpu ", cpu));
store.close();
rmSync(dir, { recursive: true, force: true });
