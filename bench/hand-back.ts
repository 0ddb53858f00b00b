// `bun bench/hand-back.ts [N]`: N leased deliveries handed back to pending at once, one
// releaseLease call each, as the dispatcher does for a destination it finds disabled
// or behind an open breaker (SQLite store): the thread's CPU per hand-back.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newId } from "../src/store/ids.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";

const N = Number(process.argv[2] ?? 20000);
const dir = mkdtempSync(join(tmpdir(), "herald-hand-back-"));
const store = new SqliteStore(join(dir, "h.db"), "full");
const now = Date.now();
store.db.run(`INSERT INTO destinations (id, tenant, url, secrets, enabled, managed_by, created_at, updated_at) VALUES ('dst_1','default','http://x','[]',0,'api',0,0)`);
const until = now + 180_000;
const ids: string[] = [];
const pubs = [];
for (let i = 0; i < N; i++) {
  const id = newId("dlv", now);
  const ev = newId("evt", now);
  ids.push(id);
  pubs.push(store.queue.publish({
    event: { id: ev, type: "t", tenant: "default", data: null, created_at: now, deliver_at: null }, data_json: "null", idempotency_key: null, producer_id: null, request_hash: "h",
    deliveries: [{ id, event_id: ev, destination_id: "dst_1", subscription_id: null, tenant: "default", event_type: "t", status: "delivering", attempts: 0, schedule_start: 0,
      next_attempt_at: null, lease_until: until, lease_owner: "ins_1", last_status: null, last_error: null, created_at: now, updated_at: now, finalized_at: null }],
  } as any));
}
await Promise.all(pubs);
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(ids.map((id) => store.queue.releaseLease(id, { owner: "ins_1", until }, now)));
const cpu = process.cpuUsage(cpu0);
const pending = (store.db.query("SELECT count(*) AS n FROM deliveries WHERE status = 'pending'").get() as any).n;
console.log(`${N} hand-backs: ${((cpu.user + cpu.system) / N).toFixed(1)} µs CPU each, ${(performance.now() - t0).toFixed(0)} ms, pending ${pending}`);
await store.close();
rmSync(dir, { recursive: true, force: true });
