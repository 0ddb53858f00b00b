// The slimmer hot-path schema (migrations 3 and 4) on real SQLite files: a
// database written by the previous schema upgrades with every delivery and
// attempt kept, the queries that lost a full status index still answer the
// same, and time windows on deliveries ride their ids.
import { afterEach, describe, expect, it } from "bun:test";
import { Database } from "bun:sqlite";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { MIGRATIONS } from "../src/store/sqlite/migrations.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { newId } from "../src/store/ids.ts";
import type { Delivery, DeliveryStatus } from "../src/store/types.ts";
import { tempDir } from "./support/herald.ts";
import { withDestinations } from "./store/records.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const T0 = 1_700_000_000_000;

function delivery(n: number, status: DeliveryStatus, destination = "dst_a"): Delivery {
  const final = status === "succeeded" || status === "failed" || status === "cancelled";
  return {
    id: `dlv_${String(n).padStart(32, "0")}`, event_id: `evt_${String(n).padStart(32, "0")}`, destination_id: destination,
    subscription_id: null, tenant: "default", event_type: "order.created", status, attempts: final ? 1 : 0, schedule_start: 0,
    next_attempt_at: status === "pending" ? T0 : null, lease_until: status === "delivering" ? T0 + 60_000 : null,
    // Leases taken before migration 7 name no owner.
    lease_owner: null,
    last_status: null, last_error: status === "failed" ? "HTTP 500" : null, created_at: T0 + n, updated_at: T0 + n,
    finalized_at: final ? T0 + n : null,
  };
}

const STATUSES: DeliveryStatus[] = ["pending", "delivering", "succeeded", "succeeded", "failed", "cancelled", "succeeded"];

/** A database at schema version 2 (before migration 3) with deliveries in every state and their attempts. */
function writeVersion2(path: string): void {
  const db = new Database(path, { create: true, strict: true });
  db.run("PRAGMA journal_mode = WAL");
  for (const [i, sql] of MIGRATIONS.slice(0, 2).entries()) {
    db.run(sql);
    db.run(`PRAGMA user_version = ${i + 1}`);
  }
  const insert = db.query(
    `INSERT INTO deliveries (id, event_id, destination_id, subscription_id, tenant, event_type, status, attempts, schedule_start,
       next_attempt_at, lease_until, last_status, last_error, created_at, updated_at, finalized_at)
     VALUES ($id, $event_id, $destination_id, $subscription_id, $tenant, $event_type, $status, $attempts, $schedule_start,
       $next_attempt_at, $lease_until, $last_status, $last_error, $created_at, $updated_at, $finalized_at)`,
  );
  const attempt = db.query(
    `INSERT INTO attempts (id, delivery_id, number, started_at, duration_ms, request_url, request_headers)
     VALUES (?, ?, ?, ?, 5, 'http://127.0.0.1/hook', '{}')`,
  );
  STATUSES.forEach((status, n) => {
    const d = delivery(n, status);
    insert.run(d as never);
    if (d.attempts) attempt.run(`att_${n}`, d.id, 1, T0 + n);
  });
  db.close();
}

describe("migration 3", () => {
  it("keeps every delivery and attempt of a version 2 database", async () => {
    dir = tempDir("herald-schema-");
    const path = join(dir, "herald.db");
    writeVersion2(path);
    const store = new SqliteStore(path, "full");
    expect((store.db.query("PRAGMA user_version").get() as { user_version: number }).user_version).toBe(MIGRATIONS.length);
    for (const [n, status] of STATUSES.entries()) {
      expect(await store.log.getDelivery(delivery(n, status).id)).toEqual(delivery(n, status));
    }
    const attempts = await store.log.attemptsOf(delivery(2, "succeeded").id);
    expect(attempts.map((a) => [a.id, a.number])).toEqual([["att_2", 1]]);
    expect(store.db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    await store.close();
  });

  it("counts and lists deliveries by state without a full status index", async () => {
    dir = tempDir("herald-schema-");
    const store = new SqliteStore(join(dir, "herald.db"), "full");
    for (const [n, status] of STATUSES.entries()) {
      const d = delivery(n, status, n % 2 ? "dst_a" : "dst_b");
      await store.queue.publish({
        event: { id: d.event_id, type: d.event_type, tenant: d.tenant, data: null, created_at: d.created_at },
        data_json: "null", idempotency_key: null, request_hash: "h", deliveries: [d],
      });
    }
    expect(await store.log.countDeliveriesByStatus()).toEqual({ pending: 1, delivering: 1, succeeded: 3, failed: 1, cancelled: 1 });
    expect(await store.log.countDeliveriesByStatus("dst_a")).toEqual({ delivering: 1, succeeded: 1, cancelled: 1 });
    for (const status of new Set(STATUSES)) {
      const expected = STATUSES.flatMap((s, n) => (s === status ? [delivery(n, s).id] : [])).reverse();
      expect((await store.log.listDeliveries({ status, limit: 10 })).data.map((d) => d.id)).toEqual(expected);
    }
    const page = await store.log.listDeliveries({ status: "succeeded", destination_id: "dst_b", limit: 1 });
    expect(page.data.map((d) => d.id)).toEqual([delivery(6, "succeeded").id]);
    expect((await store.log.listDeliveries({ status: "succeeded", destination_id: "dst_b", limit: 1, cursor: page.next_cursor! })).data.map((d) => d.id))
      .toEqual([delivery(2, "succeeded").id]);
    await store.close();
  });
});

describe("migration 4", () => {
  it("finds deliveries by creation time through their ids, with the window's ends exact", async () => {
    dir = tempDir("herald-schema-");
    const store = new SqliteStore(join(dir, "herald.db"), "full");
    // The health read answers only for destinations the catalogue holds.
    await withDestinations(store, "dst_a");
    const indexes = (store.db.query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'").all() as { name: string }[]).map((r) => r.name);
    expect(indexes).not.toContain("deliveries_created");
    // Two deliveries in each millisecond from T0 - 2 to T0 + 3, ids made as the publisher makes them.
    const made: Delivery[] = [];
    for (let t = T0 - 2; t <= T0 + 3; t++) {
      for (const destination of ["dst_a", "dst_b"]) {
        const d: Delivery = { ...delivery(0, "failed", destination), id: newId("dlv", t), event_id: newId("evt", t), created_at: t, updated_at: t, finalized_at: t };
        made.push(d);
        await store.queue.publish({
          event: { id: d.event_id, type: d.event_type, tenant: d.tenant, data: null, created_at: t },
          data_json: "null", idempotency_key: null, request_hash: "h", deliveries: [d],
        });
      }
    }
    const within = (since: number, until: number, destination?: string) =>
      made.filter((d) => d.created_at >= since && d.created_at < until && (!destination || d.destination_id === destination));
    const listed = (await store.log.listDeliveries({ since: T0, until: T0 + 2, limit: 50 })).data;
    expect(listed.map((d) => d.id)).toEqual(within(T0, T0 + 2).map((d) => d.id).sort().reverse());
    // A fractional bound means the same as the next whole millisecond.
    expect((await store.log.listDeliveries({ since: T0 - 0.5, until: T0 + 0.5, limit: 50 })).data.length).toBe(within(T0, T0 + 1).length);
    expect((await store.log.deliveryStats({ since: T0 - 1, until: T0 + 3, bucket_ms: 1000 })).counts.failed).toBe(within(T0 - 1, T0 + 3).length);
    expect((await store.log.destinationsHealth({ ids: ["dst_a"], since: T0, until: T0 + 4 })).get("dst_a")?.counts.failed).toBe(within(T0, T0 + 4, "dst_a").length);
    expect(await store.queue.requeueFailed("dst_b", T0 - 2, T0, T0 + 10)).toBe(within(T0 - 2, T0, "dst_b").length);
    await store.close();
  });
});
