// A table's columns for set-based writes on PostgreSQL, named once with their
// SQL types: the INSERT's column list and json_to_recordset's row type are both
// made from that one list, so they cannot drift apart.
//
// The rows of a batch go to the server as ONE parameter ($1), a JSON array that
// json_to_recordset turns back into rows: the statement's text is the same
// whatever the batch's size, so it is parsed and planned once per connection,
// and the client binds one value instead of one per column per row. (A VALUES
// list of the rows, as the sql helper writes it, is a new statement for every
// batch size: bench/README.md, "The publish path (issue 17, ingest step)".)

export interface Recordset<C extends string> {
  /** The column names in order (also for the sql helper's one-row INSERTs). */
  columns: readonly C[];
  /** `INSERT INTO table (…) SELECT … FROM json_to_recordset($1)`: one statement of fixed text for any number of rows. */
  insert: string;
  /** The same INSERT with its rows in parameter `$n` (to join it to others in one statement). */
  insertFrom(n: number): string;
}

/**
 * `types` maps each column to its SQL type, in insert order. A row is an
 * object with (at least) those keys; a missing key is NULL, an extra one is
 * ignored. `suffix` follows the SELECT (ON CONFLICT …, RETURNING …).
 * `computed` maps further columns to SQL expressions over the row (`r.…`),
 * worked out by the server in the same statement.
 */
export function recordset<const T extends Record<string, string>>(
  table: string, types: T, suffix = "", computed: Record<string, string> = {},
): Recordset<keyof T & string> {
  const columns = Object.keys(types) as (keyof T & string)[];
  const list = columns.join(", ");
  const extra = Object.keys(computed);
  const into = [list, ...extra].join(", ");
  const select = [list, ...extra.map((c) => computed[c])].join(", ");
  const rowType = columns.map((c) => `${c} ${types[c]}`).join(", ");
  const insertFrom = (n: number) =>
    `INSERT INTO ${table} (${into}) SELECT ${select} FROM json_to_recordset($${n}::text::json) AS r(${rowType})${suffix ? ` ${suffix}` : ""}`;
  return { columns, insert: insertFrom(1), insertFrom };
}
