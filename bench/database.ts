// The PostgreSQL server of a `--store postgres` bench run: the one named by
// HERALD_BENCH_DATABASE_URL, or a throwaway cluster started here (and stopped
// by `stop()`). Every scenario run gets a database of its own, created empty
// and dropped after it, so no run sees another's rows.
import { SQL } from "bun";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { startCluster, stopCluster } from "../test/support/postgres-cluster.ts";
import { cpuMsOf } from "./harness.ts";

export interface BenchDatabase {
  /** A URL for Herald's `storage.url`: the server, this database. */
  url: string;
  /** The database's size on disk, MiB. */
  sizeMiB(): Promise<number>;
  drop(): Promise<void>;
}

export interface BenchServer {
  /** Where the server came from, for the log (no password: the URL is not printed). */
  describe: string;
  createDatabase(): Promise<BenchDatabase>;
  /**
   * CPU time all the server's processes have used so far, ms, or null when the
   * server is not one this run started (its processes are not ours to read).
   */
  cpuMs(): Promise<number | null>;
  stop(): Promise<void>;
}

let databases = 0;

export async function openBenchServer(log: (line: string) => void): Promise<BenchServer> {
  const given = process.env.HERALD_BENCH_DATABASE_URL;
  // Commits are synced here, as the SQLite runs' `synchronous: full` syncs them:
  // the test clusters' fsync=off would compare a durable store with one that is not.
  const cluster = given ? null : await startCluster({ durable: true });
  const serverUrl = given ?? cluster!.url;
  const admin = new SQL(serverUrl, { max: 1, idleTimeout: 30 });
  let version: string;
  try {
    version = (await admin`SHOW server_version`)[0].server_version;
  } catch (error) {
    await admin.close({ timeout: 0 }).catch(() => {});
    if (cluster) stopCluster(cluster.dir);
    throw error;
  }
  const describe = cluster ? `a PostgreSQL ${version} cluster started for this run (${cluster.dir})` : `PostgreSQL ${version} from HERALD_BENCH_DATABASE_URL`;
  log(`store: ${describe}`);
  const postmaster = cluster ? Number(readFileSync(join(cluster.dir, "data", "postmaster.pid"), "utf8").split("\n")[0]) : null;
  return {
    describe,
    async createDatabase() {
      const name = `herald_bench_${process.pid}_${++databases}`;
      await admin.unsafe(`CREATE DATABASE ${name}`);
      const url = new URL(serverUrl);
      url.pathname = `/${name}`;
      return {
        url: url.toString(),
        sizeMiB: async () => Number((await admin`SELECT pg_database_size(${name}) AS size`)[0].size) / 1024 / 1024,
        // FORCE: a Herald that failed to stop may still hold connections.
        drop: async () => void (await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
      };
    },
    cpuMs: async () => (postmaster === null ? null : await serverCpuMs(postmaster)),
    async stop() {
      await admin.close({ timeout: 5 }).catch(() => {});
      if (cluster) stopCluster(cluster.dir);
    },
  };
}

/**
 * The postmaster's own CPU time, that of its children that have exited (cutime
 * + cstime: the backends of closed connections) and that of its live children
 * (backends, WAL writer, checkpointer, autovacuum). A backend's time moves from
 * the third to the second part when it exits, so the sum only ever grows.
 */
async function serverCpuMs(postmaster: number): Promise<number> {
  const stat = statFields(postmaster);
  let ms = stat ? ((Number(stat[11]) + Number(stat[12]) + Number(stat[13]) + Number(stat[14])) * 1000) / 100 : 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    // Field 4 of /proc/PID/stat (index 1 after the command) is the parent's pid.
    if (fields && Number(fields[1]) === postmaster) ms += await cpuMsOf(Number(entry)).catch(() => 0);
  }
  return ms;
}

/** The fields of /proc/PID/stat after the command name, or null when the process is gone. */
function statFields(pid: number): string[] | null {
  const file = `/proc/${pid}/stat`;
  if (!existsSync(file)) return null;
  try {
    const stat = readFileSync(file, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}
