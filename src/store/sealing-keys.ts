// Where the sealing keys come from (sealing.ts): HERALD_ENCRYPTION_KEY or
// storage.encryption_key_file, and during a key change the previous key. With
// neither on SQLite, a key file beside the database (`<db>.key`, mode 0600,
// made on first start and never overwritten); on PostgreSQL no such place
// exists (several instances must share one key), so Herald refuses to start.
import { chmodSync, existsSync, linkSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { Keyring, keyOf, newKeyText, parseKey, SealingError, type SealingKey } from "./sealing.ts";
import { randomBytes } from "node:crypto";

/**
 * A store's keys, asked for once the database has said under which key ids it
 * is sealed (null: nothing sealed yet), so that a missing key file is made
 * only for a database that never had one.
 */
export type KeySource = (sealedWith: readonly string[] | null) => Keyring;

/** Told once at start where the key file beside the database is (an operator must back it up apart). */
export type KeyNotice = (message: string, fields: Record<string, unknown>) => void;

export interface KeySettings {
  driver: "sqlite" | "postgres";
  path: string;
  encryption_key_file?: string;
  previous_encryption_key_file?: string;
}

/** The keys the config and environment name; read now, so a missing or malformed key fails before the database is opened. */
export function configuredKeys(storage: KeySettings, env: Record<string, string | undefined>, notice: KeyNotice = () => {}): KeySource {
  const fromEnv = env.HERALD_ENCRYPTION_KEY || undefined;
  if (fromEnv !== undefined && storage.encryption_key_file !== undefined) {
    throw new SealingError("both HERALD_ENCRYPTION_KEY and storage.encryption_key_file are set: keep one");
  }
  const previousEnv = env.HERALD_ENCRYPTION_KEY_PREVIOUS || undefined;
  if (previousEnv !== undefined && storage.previous_encryption_key_file !== undefined) {
    throw new SealingError("both HERALD_ENCRYPTION_KEY_PREVIOUS and storage.previous_encryption_key_file are set: keep one");
  }
  const previous =
    previousEnv !== undefined
      ? parseKey(previousEnv, "HERALD_ENCRYPTION_KEY_PREVIOUS")
      : storage.previous_encryption_key_file !== undefined
        ? readKeyFile(storage.previous_encryption_key_file, "storage.previous_encryption_key_file")
        : null;
  const current =
    fromEnv !== undefined
      ? parseKey(fromEnv, "HERALD_ENCRYPTION_KEY")
      : storage.encryption_key_file !== undefined
        ? readKeyFile(storage.encryption_key_file, "storage.encryption_key_file")
        : null;
  if (current) return () => Keyring.of(current, previous);
  if (storage.driver === "postgres") {
    throw new SealingError(
      "no encryption key: on PostgreSQL set HERALD_ENCRYPTION_KEY or storage.encryption_key_file " +
        "(every instance sharing the database needs the same key; `openssl rand -base64 32` makes one)",
    );
  }
  const beside = keyFileBeside(storage.path, notice);
  return (sealedWith) => Keyring.of(beside(sealedWith), previous);
}

/**
 * SQLite's default: the key in `<db>.key`, made on first start. A database
 * that is already sealed never gets a new key file: that key could not open
 * it, and the error says to restore the one it was sealed with. An in-memory
 * database gets a key that lives as long as it does.
 */
export function keyFileBeside(dbPath: string, notice: KeyNotice = () => {}): (sealedWith: readonly string[] | null) => SealingKey {
  return (sealedWith) => {
    if (dbPath === ":memory:") return keyOf(randomBytes(32));
    const file = `${dbPath}.key`;
    const note = (created: boolean) =>
      notice("the encryption key of this database's secrets is in the key file beside it: a backup of the database alone does not hold the key, so back the key file up too (and keep it apart)", { key_file: file, created });
    if (existsSync(file)) {
      const key = readKeyFile(file, file);
      note(false);
      return key;
    }
    if (sealedWith !== null) {
      throw new SealingError(
        `the database is sealed (key id ${sealedWith.join(" or ")}) but no encryption key is configured and ${file} does not exist: ` +
          "restore that key file beside the database, or set HERALD_ENCRYPTION_KEY or storage.encryption_key_file",
      );
    }
    createKeyFile(file);
    note(true);
    return readKeyFile(file, file);
  };
}

/**
 * Writes a new key to `file` unless one is there: written whole to a private
 * temp file (0600) and then linked into place, which fails if `file` exists,
 * so two processes starting at once agree on one key and nobody reads half of one.
 */
export function createKeyFile(file: string): void {
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(temp, newKeyText() + "\n", { mode: 0o600, flag: "wx" });
  try {
    chmodSync(temp, 0o600);
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    unlinkSync(temp);
  }
}

/** A key file's key; `what` names it in errors (never its content). */
export function readKeyFile(file: string, what: string): SealingKey {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new SealingError(code === "ENOENT" ? `${what}: ${file} does not exist` : `${what}: ${file} cannot be read (${code ?? String(error)})`);
  }
  return parseKey(text, what === file ? `the key file ${file}` : `${what} (${file})`);
}
