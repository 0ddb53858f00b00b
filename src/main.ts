#!/usr/bin/env bun
// Herald's command line: argv → command. Each command's code is loaded only when it
// runs (src/cli/), so `healthcheck` and `--help` stay quick.
import "./arktype-settings.ts";
import { COMMANDS, findCommand, overview } from "./cli/commands.ts";
import { parseFlags, usage, UsageError } from "./cli/flags.ts";

async function main(argv: string[]): Promise<void> {
  const [name = "serve", ...rest] = argv;
  if (name === "help" || name === "--help" || name === "-h") {
    const about = rest[0] === undefined ? undefined : findCommand(rest[0]);
    console.log(about ? usage(about) : overview());
    return;
  }
  const command = findCommand(name === "--version" ? "version" : name);
  if (!command) {
    process.stderr.write(`herald: unknown command "${name}" (one of ${COMMANDS.map((c) => c.name).join(", ")})\n\n${overview()}\n`);
    process.exit(2);
  }
  try {
    const args = parseFlags(command, rest);
    if (args.help) {
      console.log(usage(command));
      return;
    }
    // Only `serve` keeps the executable's raised JIT thresholds through its start (serve.ts).
    if (command.name !== "serve") Bun.unsafe.setJITPolicy(1);
    await (await command.load()).run(args);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n\n${usage(command)}\n`);
    process.exit(2);
  }
}

main(process.argv.slice(2)).catch((error) => {
  process.stderr.write(`herald: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
