// Loads the config for a command, or prints its problems and exits 1.
import { formatConfigErrors, loadConfig } from "../config/load.ts";
import { flag, type ParsedArgs } from "./flags.ts";

export function loadOrExit(args: ParsedArgs) {
  const path = flag(args, "config");
  const result = loadConfig({ path, env: process.env, cwd: process.cwd() });
  if (!result.ok) {
    process.stderr.write(formatConfigErrors(result.errors) + "\n");
    process.exit(1);
  }
  return result;
}
