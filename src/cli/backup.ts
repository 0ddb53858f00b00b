// `herald backup FILE`: an online, consistent copy of the database.
import { openStore } from "../store/open-store.ts";
import type { ParsedArgs } from "./flags.ts";
import { loadOrExit } from "./load-config.ts";

export async function run(args: ParsedArgs): Promise<void> {
  const target = args.positional[0]!;
  const { config } = loadOrExit(args);
  // The key file's notice goes with the backup: the copy does not hold the key.
  const store = await openStore(config.storage, { env: process.env, notice: (message, fields) => process.stderr.write(`${message}: ${fields.key_file}\n`) });
  try {
    await store.admin.backup(target);
  } finally {
    await store.close();
  }
  console.log(`backup written to ${target}`);
}
