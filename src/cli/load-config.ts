// Loads the config for a command, or prints its problems and exits 1.
import { formatConfigErrors, loadConfig } from "../config/load.ts";
import type { ParsedArgs } from "./flags.ts";

export function loadOrExit(args: ParsedArgs) {
  const path = typeof args.flags.config === "string" ? args.flags.config : undefined;
  const result = loadConfig({ path, env: process.env, cwd: process.cwd() });
  if (!result.ok) {
    process.stderr.write(formatConfigErrors(result.errors) + "\n");
    process.exit(1);
  }
  return result;
}

/** A flag's value as a string (flags with a value are never `true`). */
export function flag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags[name];
  return typeof value === "string" ? value : undefined;
}
