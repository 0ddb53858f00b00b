// `bun bench/claim-record-probe.ts TREE [N] [returning|select] [BATCH]`: where a
// claimed delivery's time goes on SQLite, statement by statement. N pending
// deliveries are written straight into TREE's schema (its migrations), then
// claimed in batches and each attempt recorded, every statement timed apart
// (CPU µs per delivery; each timing adds ~0.5 µs of getrusage). `returning` is
// the claim as an UPDATE … RETURNING * and a read of its events (before issue
// 17), `select` the rows read with their events and leased by id. The SQL is
// copied from src/store/sqlite/queue.ts of that time: a probe, not the store.
// HERALD_PROBE_DROP=INDEX,… drops indexes first, to weigh what each costs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const tree = resolve(process.argv[2] ?? ".");
const total = Number(process.argv[3] ?? 100_000);
const mode = process.argv[4] ?? "select";
const batch = Number(process.argv[5] ?? 1000);
if (mode !== "returning" && mode !== "select") throw new Error("usage: bun bench/claim-record-probe.ts TREE [N] [returning|select] [BATCH]");
const { SqliteStore } = await import(join(tree, "src/store/sqlite/sqlite-store.ts"));
const { newId } = (await import(join(tree, "src/store/ids.ts"))) as { newId: (prefix: string, at: number) => string };
const dir = mkdtempSync(join(tmpdir(), "herald-claim-probe-"));
const store = new SqliteStore(join(dir, "herald.db"), "normal");
const db = store.db as import("bun:sqlite").Database;
const t0 = Date.now();
await store.catalog.saveDestination({
  id: "dst_bench", tenant: "default", url: "http://127.0.0.1:9/hook", description: "", secrets: [], headers: {},
  timeout_ms: null, rate_limit: null, enabled: true, disabled_reason: null, metadata: {}, failing_since: null,
  managed_by: "api", created_at: t0, updated_at: t0,
});
for (const index of (process.env.HERALD_PROBE_DROP ?? "").split(",").filter(Boolean)) db.run(`DROP INDEX ${index}`);

// The backlog: events of ~220 bytes, one pending delivery each, 50 per millisecond.
const data = '{"n":1,"payload":"' + "x".repeat(200) + '"}';
const insertEvent = db.query("INSERT INTO events (id, type, tenant, data, created_at, idempotency_key, request_hash) VALUES (?, 'bench.event', 'default', ?, ?, NULL, 'h')");
const insertDelivery = db.query(
  `INSERT INTO deliveries (id, event_id, destination_id, subscription_id, tenant, event_type, status, attempts, schedule_start,
     next_attempt_at, created_at, updated_at)
   VALUES (?, ?, 'dst_bench', 'sub_bench', 'default', 'bench.event', 'pending', 0, 0, ?, ?, ?)`,
);
db.transaction(() => {
  for (let i = 0; i < total; i++) {
    const at = t0 + Math.floor(i / 50);
    const event = newId("evt", at);
    insertEvent.run(event, data, at);
    insertDelivery.run(newId("dlv", at), event, at, at, at);
  }
})();

const open = "destination_id NOT IN (SELECT id FROM destinations WHERE enabled = 0 OR breaker_opened_at IS NOT NULL OR max_in_flight IS NOT NULL OR ordered = 1)";
const lease = "status = 'delivering', lease_until = $lease, lease_owner = $owner, next_attempt_at = NULL, updated_at = $now";
const claimReturning = db.query(
  `UPDATE deliveries SET ${lease} WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_due
     WHERE status = 'pending' AND next_attempt_at <= $now AND ${open} ORDER BY next_attempt_at, id LIMIT $limit) RETURNING *`,
);
const eventsOf = db.query("SELECT id, type, created_at, data AS data_json FROM events WHERE id IN (SELECT value FROM json_each(?))");
const dueWithEvents = db.query(
  `SELECT d.*, e.type AS e_type, e.created_at AS e_created_at, e.data AS e_data
   FROM deliveries d INDEXED BY deliveries_due LEFT JOIN events e ON e.id = d.event_id
   WHERE d.status = 'pending' AND d.next_attempt_at <= $now AND d.${open} ORDER BY d.next_attempt_at, d.id LIMIT $limit`,
);
const leaseByIds = db.query(`UPDATE deliveries SET ${lease} WHERE id IN (SELECT value FROM json_each($ids)) AND +status = 'pending'`);
const recordUpdate = db.query(
  `UPDATE deliveries SET attempts = attempts + 1, status = $status, next_attempt_at = $next, lease_until = NULL,
     lease_owner = NULL, last_status = $last_status, last_error = $last_error, updated_at = $now,
     finalized_at = $finalized, schedule_start = schedule_start + $outside
   WHERE id = $id AND status = 'delivering' AND lease_owner = $owner AND lease_until = $until`,
);
const readBack = db.query("SELECT attempts, destination_id FROM deliveries WHERE id = ?");
const insertAttempt = db.query(
  `INSERT INTO attempts (id, delivery_id, destination_id, number, started_at, duration_ms, request_url, request_headers,
     response_status, response_headers, response_body, error)
   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
);

const spent: Record<string, number> = {};
const cpu = () => {
  const c = process.cpuUsage();
  return c.user + c.system;
};
function timed<T>(name: string, run: () => T): T {
  const c0 = cpu();
  const result = run();
  spent[name] = (spent[name] ?? 0) + cpu() - c0;
  return result;
}

let claimed = 0;
for (;;) {
  const now = Date.now() + 10_000;
  const until = now + 60_000;
  const params = { now, lease: until, owner: "ins_probe", limit: batch };
  let rows: { id: string; event_id: string }[];
  if (mode === "returning") {
    rows = timed("claim: UPDATE … RETURNING *", () => claimReturning.all(params) as { id: string; event_id: string }[]);
    if (rows.length > 0) timed("claim: events read", () => eventsOf.all(JSON.stringify([...new Set(rows.map((r) => r.event_id))])));
  } else {
    rows = timed("claim: all, in its transaction", () =>
      db
        .transaction(() => {
          const due = timed("claim: SELECT with events", () => dueWithEvents.all({ now, limit: batch }) as { id: string; event_id: string }[]);
          if (due.length > 0) timed("claim: UPDATE by id", () => leaseByIds.run({ ...params, ids: JSON.stringify(due.map((r) => r.id)) }));
          return due;
        })
        .immediate(),
    );
  }
  if (rows.length === 0) break;
  claimed += rows.length;
  db.transaction(() => {
    for (const row of rows) {
      const at = Date.now();
      timed("record: UPDATE", () =>
        recordUpdate.run({ outside: 0, id: row.id, owner: "ins_probe", until, status: "succeeded", next: null, finalized: at, last_status: 200, last_error: null, now: at }),
      );
      const read = timed("record: read back", () => readBack.get(row.id) as { attempts: number; destination_id: string });
      const headers = timed("record: headers as JSON", () => [
        JSON.stringify({ "content-type": "application/json", "user-agent": "Herald/0.1.0", "webhook-id": "evt_x", "webhook-timestamp": "1", "webhook-signature": "[redacted]" }),
        JSON.stringify({ "content-length": "2", "content-type": "text/plain", date: "Thu, 03 Dec 2026 18:00:00 GMT" }),
      ]);
      timed("record: attempt INSERT", () =>
        insertAttempt.run(newId("att", at), row.id, read.destination_id, read.attempts, at, 1, "http://127.0.0.1:9/hook", headers[0]!, 200, headers[1]!, "ok", null),
      );
    }
  })();
}
console.log(`${tree} ${mode}, ${claimed} deliveries in claims of ${batch}${process.env.HERALD_PROBE_DROP ? `, without ${process.env.HERALD_PROBE_DROP}` : ""} (CPU µs per delivery):`);
for (const [name, us] of Object.entries(spent)) console.log(`  ${name.padEnd(32)} ${(us / claimed).toFixed(2)}`);
store.close();
rmSync(dir, { recursive: true, force: true });
