#!/usr/bin/env bun
// Herald's command line: argv → command, and signals. Nothing else lives here.
import "./arktype-settings.ts";
import { createApp } from "./app.ts";
import { formatConfigErrors, loadConfig } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import { openStore } from "./store/open-store.ts";
import { VERSION } from "./version.ts";
import { errorMessage, jsonLogger } from "./engine/deps.ts";

const USAGE = `Usage:
  herald serve [--config FILE]        run the dispatcher and its API
  herald check [--config FILE]        validate a config file
  herald backup FILE [--config FILE]  write an online, consistent copy of the database
  herald version                      print the version`;

function parseArgs(argv: string[]): { command: string; positional: string[]; config?: string } {
  const [command = "serve", ...rest] = argv;
  const positional: string[] = [];
  let config: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === "--config" || arg === "-c") config = rest[++i];
    else if (arg.startsWith("--config=")) config = arg.slice("--config=".length);
    else positional.push(arg);
  }
  return { command, positional, config };
}

function load(path: string | undefined) {
  const result = loadConfig({ path, env: process.env, cwd: process.cwd() });
  if (!result.ok) {
    process.stderr.write(formatConfigErrors(result.errors) + "\n");
    process.exit(1);
  }
  return result;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  switch (args.command) {
    case "version":
    case "--version":
      console.log(VERSION);
      return;
    case "check": {
      const result = load(args.config);
      console.log(`${result.source}: ok`);
      return;
    }
    case "backup": {
      const target = args.positional[0];
      if (!target) {
        process.stderr.write("herald backup needs a target FILE\n" + USAGE + "\n");
        process.exit(2);
      }
      const { config } = load(args.config);
      const store = await openStore(config.storage);
      try {
        await store.admin.backup(target);
      } finally {
        await store.close();
      }
      console.log(`backup written to ${target}`);
      return;
    }
    case "serve":
      return serve(args.config);
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return;
    default:
      process.stderr.write(`unknown command "${args.command}"\n${USAGE}\n`);
      process.exit(2);
  }
}

async function serve(configPath: string | undefined): Promise<void> {
  const { config, source } = load(configPath);
  const herald = await createApp(config, {
    onGeneratedToken: (token) =>
      console.log(`\nNo API token is configured, so Herald made an admin token. It is shown only this once:\n\n  ${token}\n\nOnly its SHA-256 is stored. Put tokens in auth.tokens to manage them yourself.\n`),
  });
  const { url } = await herald.start();
  jsonLogger.info("herald started", { version: VERSION, config: source, url, database: describeStorage(config.storage) });
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    jsonLogger.info("herald stopping", { signal });
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
      jsonLogger.error("config reload refused", { errors: result.errors.map((e) => `${e.path}: ${e.message}`) });
      return;
    }
    herald.reload(result.config).then(
      (report) => jsonLogger.info("config reloaded", { ...report }),
      (error) => jsonLogger.error("config reload failed", { error: errorMessage(error) }),
    );
  });
}

/** Where the state is, for the log: the SQLite file, or the PostgreSQL server and database without user or password. */
function describeStorage(storage: Config["storage"]): string {
  if (storage.driver === "sqlite") return storage.path;
  try {
    const url = new URL(storage.url!);
    return `postgres://${url.host}${url.pathname}`;
  } catch {
    return "postgres";
  }
}

main().catch((error) => {
  process.stderr.write(`herald: ${errorMessage(error)}\n`);
  process.exit(1);
});
