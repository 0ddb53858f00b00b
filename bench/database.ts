// The PostgreSQL server of a `--store postgres` bench run: the one named by
// HERALD_BENCH_DATABASE_URL, or a throwaway cluster started here (and stopped
// by `stop()`). Every scenario run gets a database of its own, created empty
// and dropped after it, so no run sees another's rows.
//
// HERALD_BENCH_PG_STATEMENTS=FILE (a started cluster only) loads
// pg_stat_statements and logs every autovacuum, and writes to FILE what the
// server did: each database's table counters before it is dropped (rows
// inserted, updated, HOT-updated, autovacuums), then at the end the statements
// by total time (calls, rows, buffers, WAL bytes and full-page images), the WAL
// and checkpoint totals; the server's log goes to FILE.log.
// HERALD_BENCH_PG_EXPLAIN_MS=N with it: auto_explain's plans (rows, buffers)
// of every statement slower than N ms, in FILE.log.
// HERALD_BENCH_PG_SETTINGS="name=value …" passes more settings to a started
// cluster (an A/B of server settings); HERALD_BENCH_PG_LOCALE=en_US.UTF-8 starts
// it with that locale instead of C (the collation every text index compares by).
import { SQL } from "bun";
import { appendFileSync, copyFileSync, existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
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
  const statementsFile = process.env.HERALD_BENCH_PG_STATEMENTS || null;
  const settings = (process.env.HERALD_BENCH_PG_SETTINGS ?? "").split(/\s+/).filter(Boolean);
  const explainMs = process.env.HERALD_BENCH_PG_EXPLAIN_MS;
  if (statementsFile) {
    // With HERALD_BENCH_PG_EXPLAIN_MS, the plan (rows and buffers) of every statement slower than that goes to FILE.log.
    const explain = explainMs
      ? [`auto_explain.log_min_duration=${Number(explainMs)}`, "auto_explain.log_analyze=on", "auto_explain.log_buffers=on",
          "auto_explain.log_timing=off", "auto_explain.log_nested_statements=on"]
      : [];
    settings.push(`shared_preload_libraries=pg_stat_statements${explainMs ? ",auto_explain" : ""}`, ...explain, "pg_stat_statements.track=all", "pg_stat_statements.track_planning=on", "pg_stat_statements.max=5000",
      "log_autovacuum_min_duration=0", "log_checkpoints=on");
  }
  // The settings reach only a cluster started here: a server named by URL keeps its own.
  if (given && settings.length > 0) {
    log(`store: HERALD_BENCH_PG_SETTINGS/HERALD_BENCH_PG_STATEMENTS ignored: HERALD_BENCH_DATABASE_URL names a running server`);
    settings.length = 0;
  }
  const locale = process.env.HERALD_BENCH_PG_LOCALE || undefined;
  const cluster = given ? null : await startCluster({ durable: true, settings, locale });
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
  log(`store: ${describe}${locale ? `, locale ${locale}` : ""}${settings.length > 0 ? `, with ${settings.join(" ")}` : ""}`);
  if (statementsFile && cluster) {
    await admin`CREATE EXTENSION IF NOT EXISTS pg_stat_statements`;
    writeFileSync(statementsFile, `# ${describe}\n`);
  }
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
        drop: async () => {
          if (statementsFile && cluster) await writeTableStats(url.toString(), name, statementsFile);
          await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
      };
    },
    cpuMs: async () => (postmaster === null ? null : await serverCpuMs(postmaster)),
    async stop() {
      if (statementsFile && cluster) {
        await writeServerStats(admin, statementsFile).catch((error) => log(`statements: ${error}`));
        copyFileSync(join(cluster.dir, "log"), `${statementsFile}.log`);
      }
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

/** A database's table counters (pg_stat_user_tables), appended to `file`. */
async function writeTableStats(url: string, name: string, file: string): Promise<void> {
  const sql = new SQL(url, { max: 1 });
  try {
    // The counters are sent to the collector at each transaction's end, at most every 500 ms.
    await Bun.sleep(1_000);
    const rows = await sql`SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_live_tup, n_dead_tup,
        autovacuum_count, autoanalyze_count, pg_relation_size(relid) AS heap_bytes, pg_indexes_size(relid) AS index_bytes
      FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname`;
    appendFileSync(file, `\n## tables of ${name}\n${table(rows)}\n`);
  } finally {
    await sql.close({ timeout: 1 });
  }
}

/** The statements by total time, and the WAL and checkpoint totals, appended to `file`. */
async function writeServerStats(admin: SQL, file: string): Promise<void> {
  const statements = await admin`SELECT calls, plans, round(total_plan_time::numeric, 1) AS plan_ms, round(total_exec_time::numeric, 1) AS total_ms,
      round((total_exec_time / nullif(calls, 0) * 1000)::numeric, 1) AS mean_us, rows, shared_blks_hit AS hit, shared_blks_read AS read,
      shared_blks_dirtied AS dirtied, wal_records, wal_fpi, wal_bytes, regexp_replace(left(query, 200), '[[:space:]]+', ' ', 'g') AS query
    FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 40`;
  appendFileSync(file, `\n## statements\n${table(statements)}\n`);
  const wal = await admin`SELECT wal_records, wal_fpi, wal_bytes, wal_write, wal_sync FROM pg_stat_wal`;
  appendFileSync(file, `\n## wal\n${table(wal)}\n`);
  // PostgreSQL 17 moved these counters to pg_stat_checkpointer: written when there, the rest kept either way.
  const checkpoints = await admin`SELECT checkpoints_timed, checkpoints_req, buffers_checkpoint, buffers_backend FROM pg_stat_bgwriter`.catch(
    (error: unknown) => [{ unavailable: String(error) }],
  );
  appendFileSync(file, `\n## checkpoints\n${table(checkpoints)}\n`);
}

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return "(none)";
  const keys = Object.keys(rows[0]!);
  return [`| ${keys.join(" | ")} |`, `|${keys.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${keys.map((k) => String(r[k])).join(" | ")} |`)].join("\n");
}
