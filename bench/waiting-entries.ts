// The narrow entry a delivery waiting to be sent could be written as instead of
// its row (the "two tiers" weighed in bench/README.md, 5 Dec 2026, late night),
// for the benches that weigh it (row-writes.ts --entries, floor-server.ts
// ROWS_WITHOUT): its table in either shape, and a writer that gathers a
// transaction's entries and writes them in multi-row INSERTs with the writer
// Herald's PublishRows uses (MultiRowInsert).
import type { Database } from "bun:sqlite";
import { MultiRowInsert } from "../src/store/sqlite/multi-row-insert.ts";

/**
 * `narrow`: one B-tree, keyed by destination and due time. `findable`: keyed by
 * id, with an index by destination in due order and one by event (three
 * B-trees): the least a waiting delivery needs to be found as Herald finds it.
 */
export type EntryShape = "narrow" | "findable";

const TABLE = "waiting_entries";
const SCHEMA: Record<EntryShape, string[]> = {
  narrow: [`CREATE TABLE ${TABLE} (destination_id TEXT, due INTEGER, id TEXT, event_id TEXT, PRIMARY KEY (destination_id, due, id)) STRICT, WITHOUT ROWID`],
  findable: [
    `CREATE TABLE ${TABLE} (id TEXT PRIMARY KEY, destination_id TEXT NOT NULL, due INTEGER NOT NULL, event_id TEXT NOT NULL) STRICT, WITHOUT ROWID`,
    `CREATE INDEX ${TABLE}_due ON ${TABLE} (destination_id, due, id)`,
    `CREATE INDEX ${TABLE}_event ON ${TABLE} (event_id)`,
  ],
};
/** The entries' writer: a transaction's entries in statements of up to 256 rows, as PublishRows writes its rows. */
const ROWS = new MultiRowInsert(TABLE, ["destination_id", "due", "id", "event_id"]);

export class WaitingEntries {
  private values: unknown[] = [];
  private readonly remove;

  /** Creates the table in `shape` on `db`. */
  constructor(private readonly db: Database, shape: EntryShape) {
    for (const sql of SCHEMA[shape]) db.run(sql);
    this.remove = db.prepare(`DELETE FROM ${TABLE} WHERE destination_id = ?1 AND due = ?2 AND id = ?3`);
  }

  add(destinationId: string, due: number, id: string, eventId: string): void {
    this.values.push(destinationId, due, id, eventId);
  }

  /** Writes every gathered entry and forgets them. */
  flush(): void {
    const values = this.values;
    this.values = [];
    ROWS.write(this.db, values);
  }

  /** Deletes one entry (its delivery is answered); whether it was there. */
  delete(destinationId: string, due: number, id: string): boolean {
    return this.remove.run(destinationId, due, id).changes === 1;
  }
}
