// `npm run bench [-- NAME ...] [--smoke] [--store sqlite|postgres] [--instances N]`:
// runs the benchmark scenarios against the compiled binary, prints a table and
// writes bench/results.json. The baseline always runs first, so every ratio
// compares figures from one run. With `--store postgres` Herald keeps its state
// in PostgreSQL (a cluster started for the run, or HERALD_BENCH_DATABASE_URL),
// shared by N Heralds that the load is spread over.
// Exits non-zero when a scenario fails (lost deliveries, errors, timeouts).
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { openBenchServer, type BenchServer } from "./database.ts";
import { ensureBinary } from "./harness.ts";
import { MULTI_INSTANCE, SCENARIOS, type Row } from "./scenarios.ts";

const usage = "usage: npm run bench -- [--smoke] [--store sqlite|postgres] [--instances N] [scenario …]";
const fail = (message: string): never => {
  console.error(`${message}\n${usage}`);
  process.exit(2);
};
const args = process.argv.slice(2);
/** The value of `--name VALUE` or `--name=VALUE`; the rest of the arguments are scenarios and switches. */
function option(name: string): string | undefined {
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  const [flag] = args.splice(at, 1);
  const value = flag!.includes("=") ? flag!.slice(flag!.indexOf("=") + 1) : args.splice(at, 1)[0];
  return value ?? fail(`--${name} needs a value`);
}
const store = option("store") ?? "sqlite";
if (store !== "sqlite" && store !== "postgres") fail(`--store must be sqlite or postgres, not "${store}"`);
const instancesText = option("instances") ?? "1";
const instances = Number(instancesText);
if (!Number.isInteger(instances) || instances < 1) fail(`--instances must be a whole number ≥ 1, not "${instancesText}"`);
// Several SQLite Heralds would each have a file of their own: nothing would be shared.
if (instances > 1 && store !== "postgres") fail("--instances > 1 needs --store postgres (several Heralds share one database)");
const smoke = args.includes("--smoke");
const switches = args.filter((a) => a.startsWith("--") && a !== "--smoke");
if (switches.length) fail(`unknown option ${switches.join(", ")}`);
const named = args.filter((a) => !a.startsWith("--"));
const unknown = named.filter((n) => !(n in SCENARIOS));
if (unknown.length) fail(`unknown scenario ${unknown.join(", ")}; choose from ${Object.keys(SCENARIOS).join(", ")}`);
const chosen = ["baseline", ...(named.length ? named : Object.keys(SCENARIOS)).filter((n) => n !== "baseline")];
const single = chosen.filter((n) => !MULTI_INSTANCE.has(n));
if (instances > 1 && single.length) {
  const which = [...MULTI_INSTANCE].filter((n) => n !== "baseline").join(", ");
  fail(`--instances ${instances}: ${single.join(", ")} support one Herald only; name scenarios that spread their load over several (${which})`);
}
const log = (line: string) => console.error(line);

await ensureBinary(log);
const rows: Row[] = [];
const failures: string[] = [];
const started = performance.now();
const server: BenchServer | null = store === "postgres" ? await openBenchServer(log) : null;
// A cluster this run started is stopped however the run ends, Ctrl-C included.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => void server?.stop().finally(() => process.exit(130)));
}
try {
  if (server) log(`${instances} Herald instance${instances > 1 ? "s" : ""} per scenario, each run on a fresh database`);
  for (const name of chosen) {
    log(`▶ ${name}${smoke ? " (smoke)" : ""}`);
    const t0 = performance.now();
    try {
      rows.push(...(await SCENARIOS[name]!({ smoke, log, store: { server, instances } })));
      log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (error) {
      failures.push(name);
      log(`  FAILED: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    }
  }
} finally {
  await server?.stop();
}

const base = rows.find((r) => r.scenario === "baseline")?.value;
const fmt = (v: number, unit = "") =>
  Number.isNaN(v) ? "-" : unit === "×" ? v.toFixed(2) : v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1);
/** Whether a row meets its target; a target "of baseline" compares value / baseline. */
function meets(r: Row, baseline: number | undefined): boolean {
  const t = r.target!;
  const value = t.of ? (baseline ? r.value / baseline : Number.NaN) : r.value;
  return t.op === ">=" ? value >= t.value : value <= t.value;
}

if (server) console.log(`store: postgres, ${instances} instance${instances > 1 ? "s" : ""} (${server.describe})`);
const table = [["scenario", "metric", "value", "unit", "vs baseline", "target", ""]];
for (const r of rows) {
  const ratio = r.vsBaseline && base ? `${((r.value / base) * 100).toFixed(0)} %` : "";
  const target = !r.target ? "" : r.target.of ? `${r.target.op} ${r.target.value * 100} % of baseline` : `${r.target.op} ${fmt(r.target.value)}`;
  const met = r.target && !smoke ? (meets(r, base) ? "met" : "MISSED") : "";
  table.push([r.scenario, r.metric, fmt(r.value, r.unit), r.unit, ratio, target, met]);
}
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
for (const row of table) console.log(row.map((cell, c) => (c === 2 || c === 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd());

writeFileSync(
  join(import.meta.dir, "results.json"),
  JSON.stringify(
    {
      at: new Date().toISOString(), smoke, store, instances, bun: Bun.version, cpus: cpus().length, seconds: (performance.now() - started) / 1000,
      baseline_rps: base ?? null, failures,
      rows: rows.map((r) => ({ ...r, vs_baseline: r.vsBaseline && base ? r.value / base : undefined })),
    },
    null,
    2,
  ) + "\n",
);
if (failures.length) {
  console.error(`failed: ${failures.join(", ")}`);
  process.exit(1);
}
