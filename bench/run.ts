// `npm run bench [-- NAME ...] [--smoke]`: runs the benchmark scenarios against
// the compiled binary, prints a table and writes bench/results.json. The
// baseline always runs first, so every ratio compares figures from one run.
// Exits non-zero when a scenario fails (lost deliveries, errors, timeouts).
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { ensureBinary } from "./harness.ts";
import { SCENARIOS, type Row } from "./scenarios.ts";

const args = process.argv.slice(2);
const smoke = args.includes("--smoke");
const named = args.filter((a) => !a.startsWith("--"));
const unknown = named.filter((n) => !(n in SCENARIOS));
if (unknown.length) {
  console.error(`unknown scenario ${unknown.join(", ")}; choose from ${Object.keys(SCENARIOS).join(", ")}`);
  process.exit(2);
}
const chosen = ["baseline", ...(named.length ? named : Object.keys(SCENARIOS)).filter((n) => n !== "baseline")];
const log = (line: string) => console.error(line);

await ensureBinary(log);
const rows: Row[] = [];
const failures: string[] = [];
const started = performance.now();
for (const name of chosen) {
  log(`▶ ${name}${smoke ? " (smoke)" : ""}`);
  const t0 = performance.now();
  try {
    rows.push(...(await SCENARIOS[name]!({ smoke, log })));
    log(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  } catch (error) {
    failures.push(name);
    log(`  FAILED: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
  }
}

const base = rows.find((r) => r.scenario === "baseline")?.value;
const fmt = (v: number) => (Number.isNaN(v) ? "-" : v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toFixed(1));
/** Whether a row meets its target; a target "of baseline" compares value / baseline. */
function meets(r: Row, baseline: number | undefined): boolean {
  const t = r.target!;
  const value = t.of ? (baseline ? r.value / baseline : Number.NaN) : r.value;
  return t.op === ">=" ? value >= t.value : value <= t.value;
}

const table = [["scenario", "metric", "value", "unit", "vs baseline", "target", ""]];
for (const r of rows) {
  const ratio = r.vsBaseline && base ? `${((r.value / base) * 100).toFixed(0)} %` : "";
  const target = !r.target ? "" : r.target.of ? `${r.target.op} ${r.target.value * 100} % of baseline` : `${r.target.op} ${fmt(r.target.value)}`;
  const met = r.target && !smoke ? (meets(r, base) ? "met" : "MISSED") : "";
  table.push([r.scenario, r.metric, fmt(r.value), r.unit, ratio, target, met]);
}
const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
for (const row of table) console.log(row.map((cell, c) => (c === 2 || c === 4 ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join("  ").trimEnd());

writeFileSync(
  join(import.meta.dir, "results.json"),
  JSON.stringify(
    {
      at: new Date().toISOString(), smoke, bun: Bun.version, cpus: cpus().length, seconds: (performance.now() - started) / 1000,
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
