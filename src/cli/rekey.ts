// `herald rekey --new-key-file F`: seals the stored secrets under a new key, online.
import { existsSync } from "node:fs";
import { openStore } from "../store/open-store.ts";
import { createKeyFile, readKeyFile } from "../store/sealing-keys.ts";
import { SealingError } from "../store/sealing.ts";
import { flag, UsageError, type ParsedArgs } from "./flags.ts";
import { loadOrExit } from "./load-config.ts";

/**
 * `herald rekey`: seals every stored secret under the new key (and, until the
 * restart, the current one too: instances still running read on), then says
 * how to switch. Safe to run again after an interruption.
 */
export async function run(args: ParsedArgs): Promise<void> {
  const file = flag(args, "new-key-file");
  if (!file) throw new UsageError("herald rekey needs --new-key-file F");
  const { config } = loadOrExit(args);
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

