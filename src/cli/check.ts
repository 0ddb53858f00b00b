// `herald check`: validates the config file, printing every problem as `path: message`.
import type { ParsedArgs } from "./flags.ts";
import { loadOrExit } from "./load-config.ts";

export async function run(args: ParsedArgs): Promise<void> {
  const result = loadOrExit(args);
  console.log(`${result.source}: ok`);
}
