// The processes a benchmark runs: the compiled Herald binary in a temp dir with
// a generated config, and the bench receiver, each in its own process on
// 127.0.0.1. Also reads their memory and CPU time from /proc.
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = join(import.meta.dir, "..");
export const BUILT = join(ROOT, "dist", "herald");
/**
 * HERALD_BENCH_BINARY=FILE runs another build instead of dist/herald (say, one of
 * the previous commit), so two versions can be compared on the same machine minutes apart.
 */
export const BINARY = process.env.HERALD_BENCH_BINARY ?? BUILT;
const BUN = process.execPath;
/**
 * HERALD_BENCH_HERALD_ENV="KEY=VALUE …" (separated by spaces) is added to the
 * Heralds' environment only, not to the receiver's or the load's: for weighing
 * a runtime's setting (BUN_JSC_*, MIMALLOC_*, BUN_OPTIONS) against the same build without it.
 */
const HERALD_ENV: Record<string, string> = Object.fromEntries(
  (process.env.HERALD_BENCH_HERALD_ENV ?? "").split(/\s+/).filter(Boolean).map((pair) => {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`HERALD_BENCH_HERALD_ENV: "${pair}" is not KEY=VALUE`);
    return [pair.slice(0, at), pair.slice(at + 1)];
  }),
);
export const TOKEN = "bench-admin-token-0123456789";

let ensured: Promise<void> | null = null;

/**
 * Builds dist/herald when it is missing or older than any file under src/ or
 * ui/, or than package.json; then has its pages read back from disk
 * (dropFromPageCache) whichever build runs. Once a process: startHerald
 * awaits it too, so no bench can start a stale build or one whose pages a
 * build left resident; a bench calls it first only to keep the build out of
 * what it times.
 */
export function ensureBinary(log: (line: string) => void): Promise<void> {
  ensured ??= (async () => {
    if (BINARY !== BUILT) log(`using ${BINARY} (HERALD_BENCH_BINARY)`);
    else await buildIfStale(log);
    await dropFromPageCache(BINARY, log);
  })();
  return ensured;
}

async function buildIfStale(log: (line: string) => void): Promise<void> {
  const built = existsSync(BINARY) ? statSync(BINARY).mtimeMs : 0;
  const sources = Math.max(newest(join(ROOT, "src")), newest(join(ROOT, "ui")), statSync(join(ROOT, "package.json")).mtimeMs);
  if (built > sources) return;
  log("building dist/herald (missing or older than src/, ui/ or package.json's build) …");
  // The build users run (package.json's "build"), flags and all: they change what is measured.
  const { code, err } = await runToEnd([BUN, "run", "build"]);
  if (code !== 0) throw new Error(`building dist/herald failed:\n${err}`);
}

/** Runs `command` in ROOT to its end: its exit code and what it wrote to stderr (-1 and why, when it could not start). */
async function runToEnd(command: string[]): Promise<{ code: number; err: string }> {
  try {
    const proc = Bun.spawn(command, { cwd: ROOT, stdout: "ignore", stderr: "pipe" });
    const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
    return { code, err };
  } catch (error) {
    return { code: -1, err: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Drops the executable's pages from the page cache, so that the Heralds of
 * this run map them as read back from disk (as after a reboot), whenever the
 * file was written. Freshly written (just built, or copied), the same file
 * left 4.9 MiB more of its pages resident in each Herald (idle: 36.0 against
 * 31.1 MiB mapped from the executable, the anonymous memory equal; `idle` RSS
 * 80.4–81.1 against 75.6–76.5 MiB, bench/README.md), so that the RSS rows
 * moved with when the file had been written rather than with Herald. GNU dd's
 * `nocache` with no block to copy drops the whole file's cached pages; where
 * it cannot, the run goes on as before and says so. (Read through once after
 * the drop, by anything, the file maps as much as a fresh one again: CI's
 * smoke still reads either, bench/README.md.)
 */
async function dropFromPageCache(file: string, log: (line: string) => void): Promise<void> {
  const { code, err } = await runToEnd(["dd", `if=${file}`, "iflag=nocache", "count=0", "status=none"]);
  if (code !== 0) log(`could not drop ${file} from the page cache (dd: ${err.trim() || `exit ${code}`}): its RSS rows may read a few MiB higher`);
}

function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return max;
}

/**
 * CPU time (user + system, all threads) a process has used so far, in ms. On a
 * shared machine this moves far less from run to run than throughput does: the
 * CPU cost per delivery is the figure to compare two versions by.
 */
export async function cpuMsOf(pid: number, thread?: number): Promise<number> {
  // With `thread`, that thread's alone (its task under the process).
  const stat = await Bun.file(`/proc/${pid}${thread === undefined ? "" : `/task/${thread}`}/stat`).text();
  // Fields after the command name in parentheses (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}
/** Linux's USER_HZ: /proc counts CPU time in these ticks. */
const TICKS_PER_SECOND = 100;

/** A process's CPU time so far by thread, ms (see threadCpuMsOf). */
export interface ThreadCpu {
  /** Every thread, those that have exited included (cpuMsOf). */
  all: number;
  /** The JavaScript thread: the task whose id is the process's. */
  main: number;
  /** Threads Bun runs a `Worker` on (its thread name): Herald's sending thread. */
  workers: number;
}

/**
 * Where a process's CPU time went so far, by thread: what bounds a run shows
 * here (a thread near 100 % of a core, or none, with the cores idle part of the time).
 */
export async function threadCpuMsOf(pid: number): Promise<ThreadCpu> {
  let workers = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const name = await Bun.file(`/proc/${pid}/task/${task}/comm`).text().catch(() => "");
    if (name.trim() === "Worker") workers += await cpuMsOf(pid, Number(task)).catch(() => 0);
  }
  return { all: await cpuMsOf(pid), main: await cpuMsOf(pid, pid), workers };
}

/** The machine's CPU ticks so far (/proc/stat, all cores): idle (and waiting for I/O), and all. */
export async function machineTicks(): Promise<{ idle: number; all: number }> {
  const line = (await Bun.file("/proc/stat").text()).split("\n")[0]!;
  const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { idle: ticks[3]! + ticks[4]!, all: ticks.reduce((a, b) => a + b, 0) };
}

/**
 * Bytes a process has caused to be written to storage so far (Linux
 * /proc/PID/io `write_bytes`: its files' pages as they are dirtied, not its
 * sockets), or null where the kernel keeps no I/O accounting. For SQLite: the
 * WAL's frames and the checkpoints' copies, what a disk has to take per delivery.
 */
export async function writtenBytesOf(pid: number): Promise<number | null> {
  const io = await Bun.file(`/proc/${pid}/io`).text().catch(() => "");
  const bytes = /^write_bytes:\s+(\d+)/m.exec(io)?.[1];
  return bytes === undefined ? null : Number(bytes);
}

/** Resident and peak resident memory of a process, in MiB (Linux /proc). */
export async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await Bun.file(`/proc/${pid}/status`).text();
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? NaN);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

// ── receiver ─────────────────────────────────────────────────────────────

export interface ReceiverStats {
  requests: number;
  ok: number;
  failed: number;
  unique: number;
  first_at: number;
  last_at: number;
  latencies: { count: number; p50: number; p99: number; max: number } | null;
}

export interface Receiver {
  url: string;
  port: number;
  stats(): Promise<ReceiverStats>;
  reset(): Promise<void>;
  /** The receiver process's CPU time so far, ms (see cpuMsOf). */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

export async function startReceiver(env: { FAIL_RATE?: number; LATENCY?: boolean; PORT?: number } = {}): Promise<Receiver> {
  const proc = Bun.spawn([BUN, join(import.meta.dir, "bench-receiver.ts")], {
    env: {
      ...process.env,
      PORT: String(env.PORT ?? 0),
      FAIL_RATE: String(env.FAIL_RATE ?? 0),
      LATENCY: env.LATENCY ? "1" : "0",
    },
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let text = "";
  const deadline = Date.now() + 10_000;
  while (!text.includes("\n")) {
    if (Date.now() > deadline) throw new Error("the bench receiver did not start");
    const { value, done } = await reader.read();
    if (done) throw new Error(`the bench receiver exited: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = JSON.parse(text.split("\n")[0]!).listening as number;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    stats: async () => {
      if (proc.exitCode !== null || proc.signalCode) throw new Error(`the bench receiver died (${proc.signalCode ?? `exit ${proc.exitCode}`})`);
      return (await (await fetch(`${url}/__stats`)).json()) as ReceiverStats;
    },
    reset: async () => void (await fetch(`${url}/__reset`, { method: "POST" })).text(),
    cpuMs: () => cpuMsOf(proc.pid),
    stop: () => stopProcess(proc),
  };
}

// ── Herald ───────────────────────────────────────────────────────────────

export interface BenchConfig {
  destinations: { id: string; url: string; enabled?: boolean }[];
  /** Each subscription links one destination to these event types. */
  subscriptions: { id: string; destination: string; event_types: string[] }[];
  event_types: string[];
  retry_schedule?: string[];
  jitter?: number;
  sweep?: string;
}

export interface Herald {
  url: string;
  pid: number;
  dir: string;
  /** Milliseconds from spawn until /readyz answered 200. */
  readyMs: number;
  memory(): Promise<{ rss: number; peak: number }>;
  /** CPU time used so far, ms (see cpuMsOf). */
  cpuMs(): Promise<number>;
  /** The same by thread (see threadCpuMsOf). */
  threadCpuMs(): Promise<ThreadCpu>;
  /** Bytes written to storage so far (see writtenBytesOf). */
  writtenBytes(): Promise<number | null>;
  stop(): Promise<void>;
  output(): string;
}

/** The sealing key of the benchmarks' PostgreSQL Heralds (base64 of 32 bytes). */
const BENCH_ENCRYPTION_KEY = "aGVyYWxkLWJlbmNoLXNlYWxpbmcta2V5LTMyLWJ5dGU=";

export function benchDir(): string {
  return mkdtempSync(join(tmpdir(), "herald-bench-"));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Writes the config (JSON is YAML) into `dir` and starts dist/herald there: its
 * state in `dir`/herald.db, or in the PostgreSQL database at `postgresUrl`
 * (default pool size), which several Heralds may share.
 */
export async function startHerald(dir: string, config: BenchConfig, postgresUrl?: string): Promise<Herald> {
  await ensureBinary((line) => console.error(line));
  const file = {
    server: { host: "127.0.0.1", port: 0, max_body: "8MiB" },
    storage: postgresUrl ? { driver: "postgres", url: postgresUrl } : { path: join(dir, "herald.db"), synchronous: "full" },
    auth: { tokens: [{ name: "bench", role: "admin", token: TOKEN }] },
    delivery: {
      https_only: false,
      allow_hosts: ["127.0.0.1"],
      timeout: "10s",
      // HERALD_BENCH_CONCURRENCY=N: sends at once other than the default (256), to see what the default costs here.
      ...(process.env.HERALD_BENCH_CONCURRENCY ? { concurrency: Number(process.env.HERALD_BENCH_CONCURRENCY) } : {}),
      ...(config.retry_schedule ? { retry_schedule: config.retry_schedule } : {}),
      ...(config.jitter !== undefined ? { jitter: config.jitter } : {}),
    },
    ...(config.sweep ? { sweep: { schedule: config.sweep } } : {}),
    event_types: config.event_types.map((name) => ({ name, description: "bench" })),
    destinations: config.destinations.map((d) => ({ id: d.id, url: d.url, enabled: d.enabled ?? true })),
    subscriptions: config.subscriptions,
  };
  writeFileSync(join(dir, "config.yaml"), JSON.stringify(file, null, 1));
  const started = performance.now();
  // HERALD_BENCH_PROFILE=DIR runs Herald from source under Bun's CPU profiler instead
  // (a .cpuprofile per Herald lands in DIR when it stops; see bench/profile-summary.ts).
  const profileDir = process.env.HERALD_BENCH_PROFILE;
  const command = profileDir
    ? [BUN, "--cpu-prof", `--cpu-prof-dir=${profileDir}`, join(ROOT, "src", "main.ts")]
    : [BINARY];
  // On PostgreSQL every Herald sharing the database needs the same sealing key (none is kept beside it).
  const keys = postgresUrl ? { HERALD_ENCRYPTION_KEY: BENCH_ENCRYPTION_KEY } : {};
  const proc = Bun.spawn([...command, "serve", "--config", join(dir, "config.yaml")], {
    cwd: dir, stdout: "pipe", stderr: "pipe", stdin: "ignore", env: { ...process.env, ...HERALD_ENV, ...keys },
  });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) output = (output + decoder.decode(chunk)).slice(-20_000);
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const deadline = Date.now() + 60_000;
  let url = "";
  while (!url) {
    const match = /"message":"herald started".*?"url":"([^"]+)"/.exec(output);
    if (match) url = match[1]!;
    else if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`herald did not start:\n${output}`);
    } else await Bun.sleep(2);
  }
  while ((await fetch(`${url}/readyz`).catch(() => null))?.status !== 200) {
    if (Date.now() > deadline) throw new Error("herald never became ready");
    await Bun.sleep(2);
  }
  const readyMs = performance.now() - started;
  return {
    url, pid: proc.pid, dir, readyMs,
    memory: () => memoryOf(proc.pid),
    cpuMs: () => cpuMsOf(proc.pid),
    threadCpuMs: () => threadCpuMsOf(proc.pid),
    writtenBytes: () => writtenBytesOf(proc.pid),
    stop: () => stopProcess(proc),
    output: () => output,
  };
}

/** SIGTERM (Herald drains and commits), then SIGKILL if it takes over 30 s. */
async function stopProcess(proc: Subprocess<any, any, any>): Promise<void> {
  if (proc.exitCode !== null) return;
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  await proc.exited;
  clearTimeout(timer);
}

/** Polls `check` every `every` ms until it is true; throws after `timeoutMs`. */
export async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, every = 50): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await Bun.sleep(every);
  }
}
