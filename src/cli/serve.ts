// `herald serve`: runs the dispatcher and its API until SIGINT/SIGTERM; SIGHUP reloads the config.
import { createApp } from "../app.ts";
import { loadConfig } from "../config/load.ts";
import type { Config } from "../config/schema.ts";
import { errorMessage } from "../engine/deps.ts";
import { createLogger } from "../engine/logger.ts";
import { describeTarget } from "../store/copy-store.ts";
import { VERSION } from "../version.ts";
import { flag, UsageError, type ParsedArgs } from "./flags.ts";
import { loadOrExit } from "./load-config.ts";

export async function run(args: ParsedArgs): Promise<void> {
  const configPath = flag(args, "config");
  // Checked before anything starts: a wrong --port must not leave a half-started server.
  const listen = listenOverrides(args, process.env);
  const { config: loaded, source } = loadOrExit(args);
  const config = withListen(loaded, listen);
  const log = createLogger(config.log.level);
  const herald = await createApp(config, {
    env: process.env,
    log,
    onGeneratedToken: (token) =>
      console.log(`\nNo API token is configured, so Herald made an admin token. It is shown only this once:\n\n  ${token}\n\nOnly its SHA-256 is stored. Put tokens in auth.tokens to manage them yourself.\n`),
  });
  const { url } = await herald.start();
  // The executable starts with JavaScriptCore's tier-up thresholds raised
  // (package.json's build: --compile-jit-policy), so the start-up code that runs
  // once (the schemas, the routes, the migrations) is not compiled and its
  // compiled code is not kept: an idle Herald's RSS is ~10 MiB lower
  // (bench/README.md). From here the hot paths compile as usual.
  Bun.unsafe.setJITPolicy(1);
  log.info("herald started", { version: VERSION, config: source, url, database: describeStorage(config.storage) });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("herald stopping", { signal });
    await herald.stop();
    process.exit(0);
  };
  process.on("SIGINT", () => void shutdown("SIGINT"));
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  // SIGHUP re-reads the file's event types, destinations and subscriptions;
  // a file with errors is reported and ignored, and Herald keeps running.
  process.on("SIGHUP", () => {
    const result = loadConfig({ path: configPath, env: process.env, cwd: process.cwd() });
    if (!result.ok) {
      log.error("config reload refused", { errors: result.errors.map((e) => `${e.path}: ${e.message}`) });
      return;
    }
    herald.reload(withListen(result.config, listen)).then(
      (report) => log.info("config reloaded", { ...report }),
      (error) => log.error("config reload failed", { error: errorMessage(error) }),
    );
  });
}

interface Listen {
  host?: string;
  port?: number;
}

/** --port/--host, else HERALD_PORT/HERALD_HOST: what replaces the config's server.port/host. */
function listenOverrides(args: ParsedArgs, env: Record<string, string | undefined>): Listen {
  const listen: Listen = {};
  const port = flag(args, "port") ?? (env.HERALD_PORT || undefined);
  if (port !== undefined) {
    const from = flag(args, "port") !== undefined ? "--port" : "HERALD_PORT";
    if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) throw new UsageError(`herald serve: ${from} must be a port number, 0 to 65535`);
    listen.port = Number(port);
  }
  const host = flag(args, "host") ?? (env.HERALD_HOST || undefined);
  if (host !== undefined) {
    if (host === "") throw new UsageError("herald serve: --host must not be empty");
    listen.host = host;
  }
  return listen;
}

function withListen(config: Config, listen: Listen): Config {
  if (listen.port === undefined && listen.host === undefined) return config;
  return Object.freeze({ ...config, server: Object.freeze({ ...config.server, ...listen }) });
}

/** Where the state is, for the log: the SQLite file, or the PostgreSQL server and database without the password. */
function describeStorage(storage: Config["storage"]): string {
  return storage.driver === "sqlite" ? storage.path : describeTarget(storage.url ?? "");
}
