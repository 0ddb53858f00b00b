// A throwaway PostgreSQL cluster for tests and CI: initdb into a temp folder,
// pg_ctl start on a free loopback port, and stop + remove it afterwards.
// From a shell: `bun test/support/postgres-cluster.ts start` prints the URL on
// the first line and the folder on the second; `… stop DIR` stops and removes it.
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface PostgresCluster {
  /** `postgres://herald@127.0.0.1:PORT/postgres`: trust auth, loopback only. */
  url: string;
  dir: string;
  port: number;
}

/** The newest installed server's bin folder (Debian: /usr/lib/postgresql/<major>/bin). */
export function postgresBin(): string | null {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const majors = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] ? join(root, majors[0], "bin") : null;
}

/**
 * initdb and pg_ctl refuse to run as root, so the cluster belongs to the
 * `postgres` user (made by Debian's package) when we are root.
 */
function asServerUser(argv: string[]): string[] {
  return process.getuid?.() === 0 ? ["runuser", "-u", "postgres", "--", ...argv] : argv;
}

function run(argv: string[]): void {
  const result = Bun.spawnSync(asServerUser(argv), { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    throw new Error(`${argv.join(" ")} failed (${result.exitCode}):\n${result.stdout.toString()}${result.stderr.toString()}`);
  }
}

/** A port the kernel just handed out and let go: free unless someone races for it. */
function freePort(): number {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = server.port;
  server.stop(true);
  return port;
}

/**
 * `durable: true` keeps PostgreSQL's defaults for fsync, synchronous_commit and
 * full_page_writes (the benchmarks compare it with SQLite's synchronous: full);
 * without it the cluster skips the syncs a throwaway test server does not need.
 * `settings` are passed to the server as `-c name=value` each. `locale` is
 * the cluster's (C unless given: en_US.UTF-8 is what many servers run).
 */
export async function startCluster(options: { durable?: boolean; settings?: string[]; locale?: string } = {}): Promise<PostgresCluster> {
  const bin = postgresBin();
  if (!bin) throw new Error("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): apt-get install postgresql");
  const dir = mkdtempSync(join(tmpdir(), "herald-pg-"));
  // The server user must reach its folder; nothing secret lives here (trust auth, loopback only).
  chmodSync(dir, 0o777);
  if (process.getuid?.() === 0) Bun.spawnSync(["chown", "postgres:postgres", dir]);
  const data = join(dir, "data");
  // fsync off: a test cluster is thrown away, and fsyncs would make the suite wait on the disk.
  run([join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "herald", "--no-sync", "-E", "UTF8", `--locale=${options.locale ?? "C"}`]);
  for (let tries = 0; ; tries++) {
    const port = freePort();
    const settings = [
      `-p ${port}`, `-k ${dir}`, "-c listen_addresses=127.0.0.1", "-c max_connections=300",
      ...(options.durable ? [] : ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]),
      // More server settings (`name=value`), for a benchmark that reads the server's own statistics.
      ...(options.settings ?? []).map((setting) => `-c ${setting}`),
    ].join(" ");
    try {
      run([join(bin, "pg_ctl"), "-D", data, "-o", settings, "-l", join(dir, "log"), "-w", "-t", "30", "start"]);
      return { url: `postgres://herald@127.0.0.1:${port}/postgres`, dir, port };
    } catch (error) {
      if (tries >= 2) throw error; // the port was taken between freePort() and the start
    }
  }
}

export function stopCluster(dir: string): void {
  const bin = postgresBin();
  const data = join(dir, "data");
  if (bin && existsSync(join(data, "postmaster.pid"))) {
    run([join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"]);
  }
  rmSync(dir, { recursive: true, force: true });
}

if (import.meta.main) {
  const [command, dir] = process.argv.slice(2);
  if (command === "start") {
    const cluster = await startCluster();
    console.log(cluster.url);
    console.log(cluster.dir);
  } else if (command === "stop" && dir) {
    stopCluster(dir);
  } else {
    console.error("usage: bun test/support/postgres-cluster.ts start | stop DIR");
    process.exit(2);
  }
}
