// `bun bench/metrics-scrape.ts [sqlite | postgres URL] [N]`: what a /metrics
// scrape costs the store with N (default 100,000) pending deliveries in the job
// table: deliveries by state, the oldest due delivery and breakers, the store's
// size. Each read 20 times; the median and the worst, in milliseconds.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newId } from "../src/store/ids.ts";
import { openStore } from "../src/store/open-store.ts";
import type { Delivery, NewEvent } from "../src/store/types.ts";

const [driver = "sqlite", ...rest] = process.argv.slice(2);
const url = driver === "postgres" ? rest.shift() : undefined;
const total = Number(rest[0] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), "herald-metrics-bench-"));
const env = { HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") };
const store = await openStore(
  driver === "postgres" ? { driver: "postgres", url: url!, pool_size: 8 } as never : { driver: "sqlite", path: join(dir, "herald.db"), synchronous: "normal" } as never,
  { env, notice: () => {} },
);
const now = Date.now();
await store.catalog.saveDestination({
  id: "dst_bench", tenant: "default", url: "http://127.0.0.1:9/hook", description: "", secrets: [], headers: {},
  timeout_ms: null, rate_limit: null, enabled: true, disabled_reason: null, metadata: {}, failing_since: null,
  managed_by: "api", created_at: now, updated_at: now,
} as never);

function item(i: number): NewEvent {
  // Spread over the last hour, so the oldest due is an hour old.
  const t = now - 3_600_000 + Math.floor((i / total) * 3_600_000);
  const event = { id: newId("evt", t), type: "bench.event", tenant: "default", data: { n: i }, created_at: t, deliver_at: null };
  const delivery: Delivery = {
    id: newId("dlv", t), event_id: event.id, destination_id: "dst_bench", subscription_id: null, tenant: "default", event_type: event.type,
    status: "pending", attempts: 0, schedule_start: 0, next_attempt_at: t, lease_until: null, lease_owner: null, last_status: null, last_error: null,
    created_at: t, updated_at: t, finalized_at: null,
  };
  return { event, data_json: JSON.stringify(event.data), idempotency_key: null, producer_id: null, request_hash: String(i), deliveries: [delivery] };
}

const started = performance.now();
for (let i = 0; i < total; i += 1000) await Promise.all(Array.from({ length: Math.min(1000, total - i) }, (_, j) => store.queue.publish(item(i + j))));
console.log(`${driver}: ${total} pending deliveries written in ${((performance.now() - started) / 1000).toFixed(1)} s`);

async function time(name: string, read: () => Promise<unknown>): Promise<void> {
  const ms: number[] = [];
  let last: unknown;
  for (let i = 0; i < 20; i++) {
    const t = performance.now();
    last = await read();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  console.log(`  ${name.padEnd(26)} median ${ms[10]!.toFixed(2)} ms  max ${ms[19]!.toFixed(2)} ms  → ${JSON.stringify(last)}`);
}
await time("countDeliveriesByStatus", () => store.log.countDeliveriesByStatus());
await time("queueFigures", () => store.log.queueFigures(Date.now()));
await time("sizeBytes", () => store.admin.sizeBytes());
await store.close();
rmSync(dir, { recursive: true, force: true });
