// `bun bench/copy-store.ts [N]`: rows/s of `herald copy-store` from a SQLite
// file of N events (one delivery and one attempt each, webhook-sized) into
// PostgreSQL (HERALD_BENCH_DATABASE_URL, each run in a fresh schema): the real
// command as a child process, then COPY against multi-row INSERT and a few
// chunk sizes in-process. Not part of `npm run bench`; figures in bench/README.md.
import { SQL } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyStore } from "../src/store/copy-store.ts";
import { newId } from "../src/store/ids.ts";
import type { WriteMethod } from "../src/store/postgres/copy-target.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import type { NewEvent } from "../src/store/types.ts";

const total = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 100_000);
const url = process.env.HERALD_BENCH_DATABASE_URL;
if (!url) throw new Error("set HERALD_BENCH_DATABASE_URL (bun test/support/postgres-cluster.ts start prints one)");
const dir = mkdtempSync(join(tmpdir(), "herald-copy-bench-"));
const path = join(dir, "herald.db");

// The source: built through the store, as Herald writes it.
{
  const store = new SqliteStore(path, "off");
  const t0 = Date.now();
  await store.catalog.saveDestination({
    id: "dst_bench", tenant: "default", url: "http://127.0.0.1:9/hook", description: "", secrets: [{ secret: "whsec_" + "A".repeat(32), expires_at: null }],
    headers: {}, timeout_ms: null, rate_limit: null, enabled: true, disabled_reason: null, metadata: {}, failing_since: null,
    managed_by: "api", created_at: t0, updated_at: t0,
  } as never);
  const BATCH = 1000;
  for (let done = 0; done < total; done += BATCH) {
    const items: NewEvent[] = Array.from({ length: Math.min(BATCH, total - done) }, (_, i) => {
      const t = t0 + done + i;
      const event = { id: newId("evt", t), type: "attendee.updated", tenant: "default", data: {}, created_at: t };
      return {
        event,
        data_json: JSON.stringify({ attendee: { id: `att_${done + i}`, name: "Ada Lovelace", email: "ada@example.com", tags: ["vip", "speaker"] }, note: "x".repeat(150) }),
        idempotency_key: null,
        request_hash: "0".repeat(64),
        deliveries: [{
          id: newId("dlv", t), event_id: event.id, destination_id: "dst_bench", subscription_id: "sub_bench", tenant: "default",
          event_type: "attendee.updated", status: "delivering", attempts: 0, schedule_start: 0, next_attempt_at: null,
          lease_until: t + 60_000, lease_owner: "ins_bench", last_status: null, last_error: null, created_at: t, updated_at: t, finalized_at: null,
        }],
      };
    });
    await Promise.all(items.map((item) => store.queue.publish(item)));
    await Promise.all(items.map((item) => {
      const d = item.deliveries[0]!;
      return store.queue.recordAttempt({
        delivery_id: d.id, lease: { owner: "ins_bench", until: d.lease_until! }, as_leased: { attempts: d.attempts, destination_id: d.destination_id },
        attempt: {
          started_at: d.created_at, duration_ms: 12, request_url: "http://127.0.0.1:9/hook",
          request_headers: { "content-type": "application/json", "user-agent": "Herald/0.1.0", "webhook-id": item.event.id, "webhook-timestamp": "1", "webhook-signature": "[redacted]" },
          response_status: 200, response_headers: { "content-length": "2", "content-type": "text/plain" }, response_body: "ok", error: null,
        },
        outcome: { status: "succeeded" },
      }, d.created_at + 12);
    }));
  }
  await store.close();
  console.log(`source: ${total.toLocaleString("en-US")} events, deliveries and attempts in ${path} (${((Date.now() - t0) / 1000).toFixed(1)} s to build)`);
}

const admin = new SQL(url, { max: 1 });
let schemas = 0;
async function inFreshSchema(run: (url: string) => Promise<void>): Promise<void> {
  const name = `herald_copy_bench_${process.pid}_${++schemas}`;
  await admin.unsafe(`CREATE SCHEMA ${name}`);
  const target = new URL(url!);
  target.searchParams.set("options", `-c search_path=${name}`);
  try {
    await run(target.toString());
  } finally {
    await admin.unsafe(`DROP SCHEMA ${name} CASCADE`);
  }
}
const rows = total * 3 + 1;
const rate = (ms: number) => `${Math.round((rows / ms) * 1000).toLocaleString("en-US")} rows/s`;

await inFreshSchema(async (target) => {
  const t0 = performance.now();
  const child = Bun.spawnSync([process.execPath, join(import.meta.dir, "../src/main.ts"), "copy-store", "--from", path, "--to", target]);
  const ms = performance.now() - t0;
  if (child.exitCode !== 0) throw new Error(child.stderr.toString());
  console.log(`herald copy-store (whole command, start-up and migration included): ${(ms / 1000).toFixed(2)} s, ${rate(ms)}`);
  console.log(child.stdout.toString().trimEnd().replace(/^/gm, "  "));
});

// Best of three, the variants taking turns: the machine is shared, a neighbour's
// burst only ever slows a run down, and turns spread it over every variant.
const RUNS = 3;
const variants: [WriteMethod, number][] = [["copy", 1000], ["copy", 5000], ["copy", 20000], ["insert", 1000], ["insert", 5000]];
const times = variants.map(() => [] as number[]);
for (let run = 0; run < RUNS; run++) {
  for (const [i, [method, chunk]] of variants.entries()) {
    await inFreshSchema(async (target) => {
      times[i]!.push((await copyStore({ from: path, to: target, method, chunk })).ms);
    });
  }
}
for (const [i, [method, chunk]] of variants.entries()) {
  const best = Math.min(...times[i]!);
  console.log(`${method} chunk ${chunk}: best ${(best / 1000).toFixed(2)} s, ${rate(best)} (runs: ${times[i]!.map((t) => (t / 1000).toFixed(2)).join(", ")} s)`);
}

await admin.close();
rmSync(dir, { recursive: true, force: true });
