// Multi-row INSERTs for SQLite: many rows in one statement instead of one
// statement per row. A statement's fixed cost (the step, its bindings crossing
// into native code, the VDBE program's setup) was ~5 µs of a ~20 µs publish;
// rows in statements of 128 cost ~25 % less per event written (bench/README.md,
// issue 17's ingest step). Rows go in statements of 2^k rows, the largest that
// fits what is left, so a batch of any size uses at most eight statement shapes
// per table, each prepared once and kept by bun:sqlite's query cache.
import type { Database, SQLQueryBindings } from "bun:sqlite";

/** Rows per statement at most: 128 × 17 columns is far below SQLite's 32,766 bound parameters. */
const MAX_ROWS = 128;

/**
 * Inserts `count` rows into `table`: `push(params, i)` appends row i's values
 * (one per column, in order) to `params`. `tail` follows the VALUES list (say
 * `ON CONFLICT DO NOTHING`). Answers how many rows were inserted.
 */
export function insertRows(
  db: Database,
  table: string,
  columns: readonly string[],
  count: number,
  push: (params: SQLQueryBindings[], i: number) => void,
  tail = "",
): number {
  let changes = 0;
  for (let start = 0; start < count; ) {
    let size = MAX_ROWS;
    while (size > count - start) size >>= 1;
    const params: SQLQueryBindings[] = [];
    for (let i = start; i < start + size; i++) push(params, i);
    changes += db.query(statementText(table, columns, size, tail)).run(...params).changes;
    start += size;
  }
  return changes;
}

const texts = new Map<string, string>();

function statementText(table: string, columns: readonly string[], size: number, tail: string): string {
  const key = `${table}\n${columns.join(",")}\n${size}\n${tail}`;
  let text = texts.get(key);
  if (text === undefined) {
    const row = `(${columns.map(() => "?").join(", ")})`;
    text = `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${Array(size).fill(row).join(", ")} ${tail}`;
    texts.set(key, text);
  }
  return text;
}
