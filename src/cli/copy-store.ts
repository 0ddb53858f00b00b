// `herald copy-store --from FILE --to postgres://…`: copies a SQLite database into an empty PostgreSQL one.
import { copyStore, CopyRefused, describeTarget, type CopyProgress } from "../store/copy-store.ts";
import { flag, UsageError, type ParsedArgs } from "./flags.ts";

export async function run(args: ParsedArgs): Promise<void> {
  const from = flag(args, "from");
  const to = flag(args, "to");
  if (!from || !to) throw new UsageError("herald copy-store needs --from FILE and --to postgres://…");
  // Never echo the URL: it holds the password.
  if (!/^postgres(ql)?:\/\/./.test(to)) throw new UsageError("herald copy-store: --to must be a postgres:// or postgresql:// URL");
  const target = describeTarget(to);
  // On a terminal, one line redrawn after every chunk; otherwise (a log, a CI
  // job) one line per table, when it is done.
  const tty = process.stderr.isTTY === true;
  const count = (n: number) => n.toLocaleString("en-US");
  const onProgress = (p: CopyProgress) => {
    const line = `${p.table.replaceAll("_", " ")} ${count(p.done)}/${count(p.total)}`;
    if (tty) process.stderr.write(`\r\x1b[K${line}${p.finished ? "" : " …"}`);
    else if (p.finished) process.stderr.write(line + "\n");
  };
  try {
    const summary = await copyStore({ from, to, onProgress });
    if (tty) process.stderr.write("\r\x1b[K");
    const rows = summary.tables.reduce((sum, t) => sum + t.rows, 0);
    const seconds = summary.ms / 1000;
    const lines = [`copied ${from} to ${target} in ${seconds.toFixed(1)} s (${count(Math.round(rows / Math.max(seconds, 0.001)))} rows/s)`];
    for (const t of summary.tables) lines.push(`  ${t.name.replaceAll("_", " ").padEnd(17)}${count(t.rows).padStart(12)}`);
    if (summary.released_leases > 0) {
      lines.push(`  ${count(summary.released_leases)} deliveries in flight in the source are pending in the target, due now`);
    }
    lines.push(`catalogue version ${summary.catalog_version}`);
    if (summary.sealed_with) {
      // Copied sealed, as they are: only the key that sealed them opens them on the target.
      lines.push(
        `destinations' secrets and headers were copied sealed under key id ${summary.sealed_with.join(" and ")}: ` +
          `start Herald on PostgreSQL with that key (HERALD_ENCRYPTION_KEY or storage.encryption_key_file; ` +
          `with neither, the source's was ${from}.key)`,
      );
    }
    console.log(lines.join("\n"));
  } catch (error) {
    if (tty) process.stderr.write("\n");
    if (!(error instanceof CopyRefused)) throw error;
    process.stderr.write(`herald copy-store: ${error.message}\n`);
    process.exit(1);
  }
}

