#!/usr/bin/env bun
// Herald's command line: argv → command, and signals. Nothing else lives here.
import "./arktype-settings.ts";
import { createApp } from "./app.ts";
import { formatConfigErrors, loadConfig } from "./config/load.ts";
import type { Config } from "./config/schema.ts";
import { copyStore, CopyRefused, describeTarget, type CopyProgress } from "./store/copy-store.ts";
import { openStore } from "./store/open-store.ts";
import { createKeyFile, readKeyFile } from "./store/sealing-keys.ts";
import { SealingError } from "./store/sealing.ts";
import { checkReadiness, localUrl } from "./healthcheck.ts";
import { VERSION } from "./version.ts";
import { existsSync } from "node:fs";
import { errorMessage } from "./engine/deps.ts";
import { createLogger } from "./engine/logger.ts";

const USAGE = `Usage:
  herald serve [--config FILE]        run the dispatcher and its API
  herald check [--config FILE]        validate a config file
  herald backup FILE [--config FILE]  write an online, consistent copy of the database
  herald copy-store --from FILE --to postgres://…
                                      copy a SQLite database into an empty PostgreSQL one
  herald rekey --new-key-file F [--config FILE]
                                      seal the stored secrets under a new key, online
                                      (F is made, mode 0600, if it does not exist)
  herald healthcheck [--url URL] [--config FILE]
                                      exit 0 when Herald answers ready on /readyz, else 1
  herald version                      print the version`;

interface Args {
  command: string;
  positional: string[];
  config?: string;
  from?: string;
  to?: string;
  "new-key-file"?: string;
}

function parseArgs(argv: string[]): Args {
  const [command = "serve", ...rest] = argv;
  const args: Args = { command, positional: [] };
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const option = arg.match(/^--(config|from|to|new-key-file)(?:=(.*))?$/s) ?? (arg === "-c" ? [arg, "config", undefined] : null);
    if (option) args[option[1] as "config" | "from" | "to" | "new-key-file"] = option[2] ?? rest[++i];
    else args.positional.push(arg);
  }
  return args;
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
      // The key file's notice goes with the backup: the copy does not hold the key.
      const store = await openStore(config.storage, { env: process.env, notice: (message, fields) => process.stderr.write(`${message}: ${fields.key_file}\n`) });
      try {
        await store.admin.backup(target);
      } finally {
        await store.close();
      }
      console.log(`backup written to ${target}`);
      return;
    }
    case "copy-store":
      return copy(args);
    case "rekey":
      return rekey(args);
    case "healthcheck":
      return healthcheck(args);
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

function usageError(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

async function copy(args: Args): Promise<void> {
  if (!args.from || !args.to) usageError("herald copy-store needs --from FILE and --to postgres://…");
  if (args.positional.length > 0 || args.config !== undefined) usageError("herald copy-store takes only --from and --to");
  // Never echo the URL: it holds the password.
  if (!/^postgres(ql)?:\/\/./.test(args.to)) usageError("herald copy-store: --to must be a postgres:// or postgresql:// URL");
  const target = describeTarget(args.to);
  // On a terminal, one line redrawn after every chunk; otherwise (a log, a CI
  // job) one line per table, when it is done.
  const tty = process.stderr.isTTY === true;
  const count = (n: number) => n.toLocaleString("en-US");
  const onProgress = (p: CopyProgress) => {
    const line = `${p.table.replaceAll("_", " ")} ${count(p.done)}/${count(p.total)}`;
    if (tty) process.stderr.write(`\r\x1b[K${line}${p.finished ? "" : " …"}`);
    else if (p.finished) process.stderr.write(line + "\n");
  };
  try {
    const summary = await copyStore({ from: args.from, to: args.to, onProgress });
    if (tty) process.stderr.write("\r\x1b[K");
    const rows = summary.tables.reduce((sum, t) => sum + t.rows, 0);
    const seconds = summary.ms / 1000;
    const lines = [`copied ${args.from} to ${target} in ${seconds.toFixed(1)} s (${count(Math.round(rows / Math.max(seconds, 0.001)))} rows/s)`];
    for (const t of summary.tables) lines.push(`  ${t.name.replaceAll("_", " ").padEnd(17)}${count(t.rows).padStart(12)}`);
    if (summary.released_leases > 0) {
      lines.push(`  ${count(summary.released_leases)} deliveries in flight in the source are pending in the target, due now`);
    }
    lines.push(`catalogue version ${summary.catalog_version}`);
    if (summary.sealed_with) {
      // Copied sealed, as they are: only the key that sealed them opens them on the target.
      lines.push(
        `destinations' secrets and headers were copied sealed under key id ${summary.sealed_with.join(" and ")}: ` +
          `start Herald on PostgreSQL with that key (HERALD_ENCRYPTION_KEY or storage.encryption_key_file; ` +
          `with neither, the source's was ${args.from}.key)`,
      );
    }
    console.log(lines.join("\n"));
  } catch (error) {
    if (tty) process.stderr.write("\n");
    if (!(error instanceof CopyRefused)) throw error;
    process.stderr.write(`herald copy-store: ${error.message}\n`);
    process.exit(1);
  }
}

/**
 * `herald rekey`: seals every stored secret under the new key (and, until the
 * restart, the current one too: instances still running read on), then says
 * how to switch. Safe to run again after an interruption.
 */
async function rekey(args: Args): Promise<void> {
  if (args.positional.some((arg) => arg === "--help" || arg === "-h")) {
    console.log(USAGE);
    return;
  }
  const file = args["new-key-file"];
  if (!file) usageError("herald rekey needs --new-key-file F");
  if (args.positional.length > 0 || args.from !== undefined || args.to !== undefined) usageError("herald rekey takes only --new-key-file and --config");
  const { config } = load(args.config);
  let made = false;
  try {
    if (!existsSync(file)) {
      createKeyFile(file);
      made = true;
    }
    const next = readKeyFile(file, "--new-key-file");
    const store = await openStore(config.storage, { env: process.env });
    let sealed: number;
    const current = store.sealing.keyring.currentId;
    try {
      if (next.id === current) throw new SealingError(`the new key is the one in use (key id ${current}): make another (\`openssl rand -base64 32\`)`);
      sealed = await store.sealing.reseal(store.sealing.keyring.toward(next), (done) => process.stderr.write(`${done} destinations\n`));
    } finally {
      await store.close();
    }
    const where = config.storage.encryption_key_file !== undefined ? "storage.encryption_key_file"
      : process.env.HERALD_ENCRYPTION_KEY ? "HERALD_ENCRYPTION_KEY" : `the key file beside the database (${config.storage.path}.key)`;
    console.log(
      [
        `${made ? `wrote a new key to ${file} (mode 0600); ` : ""}sealed ${sealed} destinations' secrets and headers again under key id ${next.id}`,
        `(and still under key id ${current}, so instances running now keep working).`,
        "Now switch every instance to the new key and restart it:",
        `  1. set storage.encryption_key_file: ${file} (or HERALD_ENCRYPTION_KEY to its content), in place of ${where};`,
        `  2. set storage.previous_encryption_key_file (or HERALD_ENCRYPTION_KEY_PREVIOUS) to the old key (id ${current}),`,
        "     so that what was written between this rekey and the restart still opens;",
        "  3. restart; once every instance runs on the new key, remove the previous key and restart again:",
        `     that start removes the copies sealed under key id ${current}. Back the new key up, apart from the database.`,
      ].join("\n"),
    );
  } catch (error) {
    if (!(error instanceof SealingError)) throw error;
    process.stderr.write(`herald rekey: ${error.message}\n`);
    process.exit(1);
  }
}

const HEALTHCHECK_USAGE = `Usage: herald healthcheck [--url URL] [--config FILE]

Asks a running Herald whether it is ready (GET URL/readyz) and exits 0 when it
is, 1 when it is not or cannot be reached, with a one-line reason. URL defaults
to http://127.0.0.1:PORT, PORT being HERALD_PORT or the config's server.port.
A container's HEALTHCHECK runs it.`;

async function healthcheck(args: Args): Promise<void> {
  let url: string | undefined;
  for (let i = 0; i < args.positional.length; i++) {
    const arg = args.positional[i]!;
    if (arg === "--help" || arg === "-h") {
      console.log(HEALTHCHECK_USAGE);
      return;
    }
    const option = arg.match(/^--url(?:=(.*))?$/s);
    if (option) url = option[1] ?? args.positional[++i] ?? "";
    else {
      process.stderr.write(`herald healthcheck: unknown argument "${arg}"\n${HEALTHCHECK_USAGE}\n`);
      process.exit(2);
    }
  }
  if (url === undefined) url = localUrl(load(args.config).config.server, process.env);
  else if (!/^https?:\/\/./.test(url) || !URL.canParse(url)) {
    process.stderr.write(`herald healthcheck: --url must be a URL such as http://127.0.0.1:8080\n`);
    process.exit(2);
  }
  const { ready, reason } = await checkReadiness(url);
  console.log(reason);
  process.exit(ready ? 0 : 1);
}

async function serve(configPath: string | undefined): Promise<void> {
  const { config, source } = load(configPath);
  const log = createLogger(config.log.level);
  const herald = await createApp(config, {
    env: process.env,
    log,
    onGeneratedToken: (token) =>
      console.log(`\nNo API token is configured, so Herald made an admin token. It is shown only this once:\n\n  ${token}\n\nOnly its SHA-256 is stored. Put tokens in auth.tokens to manage them yourself.\n`),
  });
  const { url } = await herald.start();
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
    herald.reload(result.config).then(
      (report) => log.info("config reloaded", { ...report }),
      (error) => log.error("config reload failed", { error: errorMessage(error) }),
    );
  });
}

/** Where the state is, for the log: the SQLite file, or the PostgreSQL server and database without the password. */
function describeStorage(storage: Config["storage"]): string {
  return storage.driver === "sqlite" ? storage.path : describeTarget(storage.url ?? "");
}

main().catch((error) => {
  process.stderr.write(`herald: ${errorMessage(error)}\n`);
  process.exit(1);
});
