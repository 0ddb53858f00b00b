// `bun bench/row-writes.ts [N] [--indexes] [--entries]`: what SQLite costs to write a
// published event with one delivery in Herald's schema (every migration, every
// index; `synchronous: full`), N events in transactions of 1,000, COMMIT
// included, through the store's PublishRows (src/store/sqlite/publish-rows.ts):
// one INSERT statement per row against its multi-row INSERTs of up to 256 rows,
// for a delivery written leased (as at publish while the queue has room) and
// one written pending and parked (a disabled destination, as in the ingest
// scenario). `--indexes` also writes the parked rows one statement a row with
// each index of theirs dropped in turn: what each index costs. `--entries`
// also writes, in statements of up to 256 rows, the event alone, and the event with,
// in its delivery row's place, a narrow entry (destination, due time, id and
// event: one B-tree) or the same entry findable by id, by destination in due
// order and by event (three B-trees): what a design that writes the delivery
// row only at its first attempt would write at publish. Rounds alternate the
// shapes; the first is not counted. Prints µs per event of wall time inside
// the transactions.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Database } from "bun:sqlite";
import { openDatabase } from "../src/store/sqlite/database.ts";
import { PublishRows } from "../src/store/sqlite/publish-rows.ts";
import { publishedEvent } from "./published-event.ts";
import { WaitingEntries, type EntryShape } from "./waiting-entries.ts";

const total = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 200_000);
const withIndexes = process.argv.includes("--indexes");
const withEntries = process.argv.includes("--entries");
const PER_TRANSACTION = 1_000;

/** In the delivery row's place (--entries): nothing, or a narrow entry, one B-tree or three (waiting-entries.ts). */
type Shape = { name: string; parked: boolean; multi: boolean; drop?: string; entry?: EntryShape | "none" };
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

if (withEntries) {
  shapes.push({ name: "the event alone, 256 rows a statement", parked: true, multi: true, entry: "none" });
  shapes.push({ name: "the event and a narrow entry (one B-tree), 256 rows a statement", parked: true, multi: true, entry: "narrow" });
  shapes.push({ name: "the event and a findable entry (three B-trees), 256 rows a statement", parked: true, multi: true, entry: "findable" });
}

/**
 * Writes `total` events through the store's own PublishRows: each publish's
 * rows written at once (its statements of one row each), or every publish of a
 * transaction gathered and written together, as the write batcher has them.
 */
function writeAll(db: Database, shape: Shape): number {
  const rows = new PublishRows(db);
  const entries = shape.entry && shape.entry !== "none" ? new WaitingEntries(db, shape.entry) : null;
  let ms = 0;
  for (let written = 0; written < total; written += PER_TRANSACTION) {
    const now = Date.now();
    const batch = Array.from({ length: PER_TRANSACTION }, () => publishedEvent(now, shape.parked));
    const started = performance.now();
    db.transaction(() => {
      for (const { item, delivery } of batch) {
        rows.addEvent(item, item.event.id);
        if (!shape.entry) rows.addDelivery(delivery, shape.parked);
        entries?.add(delivery.destination_id, delivery.next_attempt_at!, delivery.id, delivery.event_id);
        if (!shape.multi) rows.flush();
      }
      rows.flush();
      entries?.flush();
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
