// `bun bench/floor.ts [--smoke]`: a floor under issue 17's targets on this
// machine. Runs the yardstick (the `baseline` scenario), then a minimal durable
// dispatcher (bench/floor-server.ts: events on disk before the answer, each
// sent once from memory with Bun's fetch, 64 at once, signed, its answer on disk) through the
// `deliver` and `ingest` scenarios' own load: 200,000 events in batches of
// 1,000 (2 at once) delivered to the bench receiver; single publishes at 64
// at once for 10 s; 200,000 events in batches (4 at once), nothing sent.
// Prints each figure, its share of the baseline, and the stand-in's CPU per
// delivery (also in receiver units: divided by the receiver's, as the scenarios
// give Herald's). It does strictly less than Herald per event and per delivery
// (though it sends with fetch, which costs more per send than Herald's own
// client): a target it reaches is within this machine's reach.
// `ROWS=herald bun bench/floor.ts`: the same stand-in writing Herald's own rows
// (its schema and indexes: the event, the delivery leased at publish, its
// success and an attempt row), so that what is left between it and Herald is
// Herald's work beyond those rows (bench/floor-server.ts).
// `ROWS=herald ROWS_WITHOUT=delivery-at-publish,attempt,…`: the same with parts of
// those rows left out, to weigh each (bench/floor-server.ts lists the parts).
// `--herald` also runs Herald's own `deliver` and `ingest` scenarios (the
// compiled binary, as `npm run bench` does), each right after the stand-in's
// same load, and prints Herald's figures as shares of the stand-in's: with
// ROWS=herald, how near Herald comes to the floor of its own rows in one run.
import { join } from "node:path";
import { benchDir, cpuMsOf, ensureBinary, removeDir, startReceiver, waitFor, type Receiver } from "./harness.ts";
import { clock, closedLoop, post, publishBatches } from "./load.ts";
import { SCENARIOS, type Context, type Row } from "./scenarios.ts";
import { BASELINE_CONCURRENCY, plainSend, webhookBody } from "./yardstick.ts";

const smoke = process.argv.includes("--smoke");
const withHerald = process.argv.includes("--herald");
const herald: Context = { smoke, log: (line) => console.error(line), store: { server: null, instances: 1 } };
const TYPE = "bench.event";
const event = (i: number) => ({ type: TYPE, data: { order_id: i, customer: "c-" + (i % 977), amount: 4200, sent_at: clock() } });

/** Starts the stand-in in its own process on a fresh database; answers its URL, pid and a stop. */
async function startFloor(dir: string, receiver: Receiver, send: boolean) {
  const proc = Bun.spawn([process.execPath, join(import.meta.dir, "floor-server.ts")], {
    env: { ...process.env, PORT: "0", DB: join(dir, "floor.db"), TARGET: receiver.url, SEND: send ? "1" : "0" },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`the floor server exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = JSON.parse(text.split("\n")[0]!).listening as number;
  return {
    url: `http://127.0.0.1:${port}`,
    pid: proc.pid,
    async stop() {
      proc.kill();
      await proc.exited;
    },
  };
}

async function baseline(receiver: Receiver): Promise<number> {
  const body = webhookBody(TYPE, JSON.stringify(event(0).data));
  const run = await closedLoop({ concurrency: BASELINE_CONCURRENCY, durationMs: smoke ? 500 : 5000 }, (i) => plainSend(`${receiver.url}/hooks`, body, i));
  await receiver.reset();
  return (run.calls / run.elapsedMs) * 1000;
}

const rows: [string, number, string][] = [];
/** --herald: Herald's figure, the stand-in's, the unit. */
const compared: [string, number, number, string][] = [];
/** Herald's row `metric` (of a scenario's rows) beside the stand-in's row `name`, in its unit. */
function compare(found: Row[], name: string, metric: string): void {
  const herald = found.find((r) => r.metric === metric);
  const standIn = rows.find((r) => r[0] === name);
  if (!herald || !standIn) throw new Error(`no "${metric}" row from Herald's scenario, or no "${name}" from the stand-in`);
  compared.push([name, herald.value, standIn[1], standIn[2]]);
}
const receiver = await startReceiver();
try {
  const base = await baseline(receiver);
  rows.push(["baseline requests/s", base, "req/s"]);

  // deliver: from the first publish to the last receipt, as the `deliver` scenario counts.
  {
    const dir = benchDir();
    const floor = await startFloor(dir, receiver, true);
    const n = smoke ? 2_000 : 200_000;
    const [cpu0, receiverCpu0] = [await cpuMsOf(floor.pid), await receiver.cpuMs()];
    const started = clock();
    await publishBatches(floor.url, n, { perCall: 1000, concurrency: 2, event });
    let lastAt = 0;
    await waitFor(`${n} deliveries at the receiver`, 120_000, async () => {
      const s = await receiver.stats();
      lastAt = s.last_at;
      return s.unique >= n;
    });
    const [cpu, receiverCpu] = [(await cpuMsOf(floor.pid)) - cpu0, (await receiver.cpuMs()) - receiverCpu0];
    rows.push(["deliver deliveries/s", (n / (lastAt - started)) * 1000, "/s"]);
    rows.push(["deliver CPU per delivery", (cpu * 1000) / n, "µs"]);
    // The same in receiver units (bench/scenarios.ts: cpuSplitRows), the steadier figure to set against Herald's.
    if (receiverCpu > 0) rows.push(["deliver CPU, receiver units", cpu / receiverCpu, "×"]);
    await floor.stop();
    await receiver.reset();
    removeDir(dir);
  }
  if (withHerald) {
    await ensureBinary(herald.log);
    const found = await SCENARIOS.deliver!(herald);
    compare(found, "deliver deliveries/s", "deliveries/s");
    compare(found, "deliver CPU per delivery", "Herald CPU per delivery");
    if (rows.some((r) => r[0] === "deliver CPU, receiver units")) compare(found, "deliver CPU, receiver units", "Herald CPU per delivery, in receiver units");
  }

  // ingest: single publishes, then batches, with nothing sent.
  {
    const dir = benchDir();
    const floor = await startFloor(dir, receiver, false);
    const single = await closedLoop({ concurrency: 64, durationMs: smoke ? 500 : 10_000 }, (i) => post(`${floor.url}/v1/events`, event(i)).then(() => {}));
    rows.push(["single ingest events/s", (single.calls / single.elapsedMs) * 1000, "/s"]);
    const count = smoke ? 5_000 : 200_000;
    const batch = await publishBatches(floor.url, count, { perCall: 1000, concurrency: 4, event });
    rows.push(["batch ingest events/s", (count / batch.elapsedMs) * 1000, "/s"]);
    await floor.stop();
    removeDir(dir);
  }
  if (withHerald) {
    const found = await SCENARIOS.ingest!(herald);
    compare(found, "single ingest events/s", "single events/s");
    compare(found, "batch ingest events/s", "batch events/s");
  }
  const written = process.env.ROWS === "herald" ? `Herald's rows${process.env.ROWS_WITHOUT ? `, without ${process.env.ROWS_WITHOUT}` : ""}` : "its own rows";
  console.log(`the stand-in writes ${written}`);
  const digits = (unit: string) => (unit === "×" ? { minimumFractionDigits: 2, maximumFractionDigits: 2 } : { maximumFractionDigits: 1 });
  for (const [name, value, unit] of rows) {
    const share = unit === "/s" ? `  ${((value / base) * 100).toFixed(0)} % of baseline` : "";
    console.log(`${name.padEnd(28)} ${value.toLocaleString("en", digits(unit)).padStart(10)} ${unit}${share}`);
  }
  if (compared.length > 0) console.log("Herald in the same run, and its figure as a share of the stand-in's:");
  for (const [name, value, standIn, unit] of compared) {
    const share = `${((value / standIn) * 100).toFixed(0)} % of the stand-in's`;
    console.log(`${name.padEnd(28)} ${value.toLocaleString("en", digits(unit)).padStart(10)} ${unit}  ${share}`);
  }
} finally {
  await receiver.stop();
}
