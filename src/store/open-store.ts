// The one way to open a store: the storage settings choose the implementation.
// app.ts and main.ts call only this; nothing above the store names SQLite or PostgreSQL.
import { openPostgresStore } from "./postgres/postgres-store.ts";
import type { Synchronous } from "./sqlite/database.ts";
import { configuredKeys, type KeyNotice } from "./sealing-keys.ts";
import { SqliteStore } from "./sqlite/sqlite-store.ts";
import type { Store } from "./store.ts";

/**
 * `storage` from the config: the driver and its settings (`path` and
 * `synchronous` for SQLite; `url` and `pool_size` for PostgreSQL, which several
 * instances may share: DESIGN §7).
 */
export interface StorageOptions {
  driver: "sqlite" | "postgres";
  path: string;
  synchronous: Synchronous;
  url?: string;
  pool_size?: number;
  /** The sealing key (else HERALD_ENCRYPTION_KEY; else, on SQLite only, `<path>.key`) and, during a key change, the previous one. */
  encryption_key_file?: string;
  previous_encryption_key_file?: string;
}

/** What opening a store reads beside the config: the environment (HERALD_ENCRYPTION_KEY …) and where to say where the key file is. */
export interface OpenOptions {
  env: Record<string, string | undefined>;
  notice?: KeyNotice;
}

export async function openStore(storage: StorageOptions, options: OpenOptions): Promise<Store> {
  // Keys first: a missing or malformed key is refused before the database is touched.
  const keys = configuredKeys(storage, options.env, options.notice);
  switch (storage.driver) {
    case "sqlite":
      return new SqliteStore(storage.path, storage.synchronous, keys);
    case "postgres":
      // The config check requires it; a caller that skipped the check learns here.
      if (!storage.url) throw new Error("storage.url is required when storage.driver is postgres");
      return openPostgresStore({ url: storage.url, pool_size: storage.pool_size, keys });
  }
}
