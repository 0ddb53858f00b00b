// COPY … FROM STDIN in PostgreSQL's text format: rows stored with less of the
// server's time than an INSERT's (no statement to plan, no JSON or parameters
// to parse), at the price of a round trip more. Used by `herald copy-store`
// for every chunk, and by publishes for a batch's many deliveries.
import type { SQL } from "bun";

/** A row's values in the order of the statement's columns: text, number, boolean or null. */
export type CopyValues = readonly unknown[];

/** Writes `rows` into `table`'s `columns` in the transaction `tx`; `meanwhile` runs once the rows are sent, while the server stores them. */
export async function copyIn(
  tx: SQL, table: string, columns: readonly string[], rows: readonly CopyValues[], meanwhile: () => void = () => {},
): Promise<void> {
  const writer = tx.unsafe(`COPY ${table} (${columns.join(", ")}) FROM STDIN`).writable().getWriter();
  try {
    await writer.write(copyText(rows));
    meanwhile();
    await writer.close();
  } catch (error) {
    await writer.abort(error).catch(() => {});
    throw error;
  }
}

/** COPY's text format: a line a row, a tab between values, \N for NULL, backslash escapes in text. */
function copyText(rows: readonly CopyValues[]): string {
  let text = "";
  for (const row of rows) {
    for (let i = 0; i < row.length; i++) {
      if (i > 0) text += "\t";
      const value = row[i];
      if (value === null || value === undefined) text += "\\N";
      else if (typeof value === "string") text += NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, escape) : value;
      else if (typeof value === "boolean") text += value ? "t" : "f";
      else text += String(value);
    }
    text += "\n";
  }
  return text;
}

const NEEDS_ESCAPE = /[\\\n\r\t]/;
const ESCAPED = /[\\\n\r\t]/g;
const escape = (c: string): string => (c === "\\" ? "\\\\" : c === "\n" ? "\\n" : c === "\r" ? "\\r" : "\\t");
