// One table's rows written in multi-row INSERTs. Each run of an INSERT opens a
// cursor on the table and on every index of it, then closes them: a statement
// of 256 rows does that once for all of them (publish-rows.ts has what it saves).
import type { Database } from "bun:sqlite";

/** Rows per statement: a run is split into the largest of these that fit, so at most nine statements per table are ever prepared. */
const CHUNKS = [256, 128, 64, 32, 16, 8, 4, 2, 1];

export class MultiRowInsert {
  /** The INSERT of each chunk's number of rows. */
  private readonly statements: Map<number, string>;

  constructor(table: string, private readonly columns: readonly string[]) {
    const row = `(${columns.map(() => "?").join(", ")})`;
    this.statements = new Map(
      CHUNKS.map((n) => [n, `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${Array.from({ length: n }, () => row).join(", ")}`]),
    );
  }

  /** Writes the rows whose values `values` holds one after another, in column order. */
  write(db: Database, values: unknown[]): void {
    const width = this.columns.length;
    let at = 0;
    let left = values.length / width;
    for (const n of CHUNKS) {
      if (left < n) continue;
      const statement = db.query(this.statements.get(n)!);
      while (left >= n) {
        statement.run(...(values.slice(at, at + n * width) as never[]));
        at += n * width;
        left -= n;
      }
    }
  }
}
