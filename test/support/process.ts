// Runs Herald as a real separate process (from source or the compiled binary)
// and reads the URL it listens on from its start-up log line.
import type { Subprocess } from "bun";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_KEY_ENV } from "./test-stores.ts";

export interface HeraldProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  output: () => string;
}

export async function spawnHerald(cmd: string[], cwd: string, env: Record<string, string> = {}): Promise<HeraldProcess> {
  const proc = Bun.spawn(cmd, { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  // A start takes ~1 s; a machine running several test processes at once has been seen past 15 s.
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline) {
    const match = output.match(/"message":"herald started".*?"url":"([^"]+)"/);
    if (match) return { proc, url: match[1]!, output: () => output };
    if (proc.exitCode !== null) break;
    await Bun.sleep(20);
  }
  proc.kill("SIGKILL");
  throw new Error(`herald did not start:\n${output}`);
}

/** The command that runs Herald from source with `dir/config.yaml`. */
export const SOURCE_SERVE = [process.execPath, join(import.meta.dir, "../../src/main.ts"), "serve", "--config", "config.yaml"];

/** What a test process's config holds beyond its defaults: each a YAML flow value or YAML lines. */
export interface SourceHeraldOptions {
  /** Extra `delivery` keys, e.g. `concurrency: 1, retry_schedule: [100ms]`. */
  delivery?: string;
  /** The `storage` section (default `{ path: ./herald.db }`), e.g. `{ driver: postgres, url: "…" }`. */
  storage?: string;
  /** The `sweep` section, e.g. `{ schedule: "* * * * * *" }` (default: Herald's). */
  sweep?: string;
  /** Top-level YAML lines: event types, destinations, subscriptions. */
  resources?: string;
  /** Extra environment; on PostgreSQL HERALD_ENCRYPTION_KEY defaults to the tests' shared key. */
  env?: Record<string, string>;
}

/**
 * Writes `dir/config.yaml` for a test process — its database `dir/herald.db`
 * unless `storage` names another, one admin token, loopback receivers allowed,
 * then `delivery` settings, a `sweep` and any `resources` — and starts Herald
 * from source on it.
 */
export function spawnSourceHerald(dir: string, adminToken: string, options: SourceHeraldOptions = {}): Promise<HeraldProcess> {
  const delivery = ["https_only: false", "allow_private_networks: true", ...(options.delivery ? [options.delivery] : [])].join(", ");
  writeFileSync(
    join(dir, "config.yaml"),
    `server: { port: 0 }
storage: ${options.storage ?? "{ path: ./herald.db }"}
auth: { tokens: [ { name: ops, token: "${adminToken}", role: admin } ] }
delivery: { ${delivery} }
${options.sweep ? `sweep: ${options.sweep}\n` : ""}${options.resources ?? ""}`,
  );
  const keys = options.storage?.includes("postgres") ? TEST_KEY_ENV : {};
  return spawnHerald(SOURCE_SERVE, dir, { ...keys, ...options.env });
}
