// `bun bench/row-writes.ts [N] [--indexes]`: what SQLite costs to write a
// published event with one delivery in Herald's schema (every migration, every
// index; `synchronous: full`), N events in transactions of 1,000, COMMIT
// included: one INSERT statement per row against multi-row INSERTs of 256 rows
// (src/store/sqlite/publish-rows.ts), for a delivery written leased (as at
// publish while the queue has room) and one written pending and parked (a
// disabled destination, as in the ingest scenario). `--indexes` also writes
// the parked rows one statement a row with each index of theirs dropped in
// turn: what each index costs. Rounds alternate the shapes; the first is not
// counted. Prints µs per event of wall time inside the transactions.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import { openDatabase } from "../src/store/sqlite/database.ts";
import { DELIVERY_COLUMNS } from "../src/store/sqlite/rows.ts";

const total = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200_000);
const withIndexes = process.argv.includes("--indexes");
const PER_TRANSACTION = 1_000;
const MULTI = 256;
const EVENT_COLUMNS = "id, type, tenant, data, created_at, idempotency_key, request_hash, producer_id, deliver_at";
const COLUMNS = `${DELIVERY_COLUMNS}, parked`;
const data = JSON.stringify({ order_id: 12345, amount: 99.5, currency: "EUR", items: [{ sku: "abc", qty: 2 }] });

const values = (n: number, columns: string) => Array.from({ length: n }, () => `(${columns.split(", ").map(() => "?").join(", ")})`).join(", ");

type Shape = { name: string; parked: boolean; multi: boolean; drop?: string };
const shapes: Shape[] = [
  { name: "leased, a statement a row", parked: false, multi: false },
  { name: "leased, 256 rows a statement", parked: false, multi: true },
  { name: "parked, a statement a row", parked: true, multi: false },
  { name: "parked, 256 rows a statement", parked: true, multi: true },
];
if (withIndexes) {
  for (const drop of ["deliveries_event", "deliveries_destination", "deliveries_open", "deliveries_waiting", "deliveries_parked", "events_created"]) {
    shapes.push({ name: `parked, a statement a row, without ${drop}`, parked: true, multi: false, drop });
  }
}

/** One event's values and its delivery's, in the INSERTs' column order. */
function rows(now: number, parked: boolean): [unknown[], unknown[]] {
  const event = `evt_${Bun.randomUUIDv7("buffer", now).toString("hex")}`;
  return [
    [event, "order.created", "default", data, now, null, "1234567890", null, null],
    [
      `dlv_${Bun.randomUUIDv7("buffer", now).toString("hex")}`, event, "dst_bench", "sub_bench", "default", "order.created",
      parked ? "pending" : "delivering", 0, 0, parked ? now : null, parked ? null : now + 180_000, parked ? null : "ins_bench",
      null, null, now, now, null, parked ? 1 : 0,
    ],
  ];
}

function writeAll(db: Database, shape: Shape): number {
  const oneEvent = db.query(`INSERT INTO events (${EVENT_COLUMNS}) VALUES ${values(1, EVENT_COLUMNS)}`);
  const oneDelivery = db.query(`INSERT INTO deliveries (${COLUMNS}) VALUES ${values(1, COLUMNS)}`);
  const manyEvents = db.query(`INSERT INTO events (${EVENT_COLUMNS}) VALUES ${values(MULTI, EVENT_COLUMNS)}`);
  const manyDeliveries = db.query(`INSERT INTO deliveries (${COLUMNS}) VALUES ${values(MULTI, COLUMNS)}`);
  let ms = 0;
  for (let written = 0; written < total; written += PER_TRANSACTION) {
    const now = Date.now();
    const batch = Array.from({ length: PER_TRANSACTION }, () => rows(now, shape.parked));
    const started = performance.now();
    db.transaction(() => {
      if (!shape.multi) {
        for (const [event, delivery] of batch) {
          oneEvent.run(...(event as never[]));
          oneDelivery.run(...(delivery as never[]));
        }
        return;
      }
      // PER_TRANSACTION is not a multiple of MULTI: the rest one statement a row, as publish-rows.ts would split it further.
      let at = 0;
      for (; at + MULTI <= batch.length; at += MULTI) {
        const chunk = batch.slice(at, at + MULTI);
        manyEvents.run(...(chunk.flatMap((r) => r[0]) as never[]));
        manyDeliveries.run(...(chunk.flatMap((r) => r[1]) as never[]));
      }
      for (const [event, delivery] of batch.slice(at)) {
        oneEvent.run(...(event as never[]));
        oneDelivery.run(...(delivery as never[]));
      }
    })();
    ms += performance.now() - started;
  }
  return (ms * 1000) / total;
}

const dir = mkdtempSync(join(tmpdir(), "herald-row-writes-"));
const results = new Map<string, number[]>();
try {
  for (let round = 0; round < 3; round++) {
    for (const shape of round % 2 === 0 ? shapes : [...shapes].reverse()) {
      const path = join(dir, `round-${round}-${shapes.indexOf(shape)}.db`);
      const db = openDatabase(path, "full");
      if (shape.drop) db.run(`DROP INDEX ${shape.drop}`);
      const us = writeAll(db, shape);
      db.close();
      for (const suffix of ["", "-wal", "-shm"]) rmSync(path + suffix, { force: true });
      if (round > 0) results.set(shape.name, [...(results.get(shape.name) ?? []), us]);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
for (const [name, us] of results) console.log(`${name}: ${us.map((u) => u.toFixed(2)).join(", ")} µs an event`);
