// The one way to open a store: the storage settings choose the implementation.
// app.ts and main.ts call only this; nothing above the store names SQLite or PostgreSQL.
import type { Synchronous } from "./database.ts";
import { openPostgresStore } from "./postgres/postgres-store.ts";
import { SqliteStore } from "./sqlite-store.ts";
import type { Store } from "./store.ts";

/** `storage` from the config: the driver and its own settings. */
export type StorageOptions =
  | { driver: "sqlite"; path: string; synchronous: Synchronous }
  /** Several instances may share one PostgreSQL database (DESIGN §7). */
  | { driver: "postgres"; url: string; pool_size?: number };

export async function openStore(storage: StorageOptions): Promise<Store> {
  switch (storage.driver) {
    case "sqlite":
      return new SqliteStore(storage.path, storage.synchronous);
    case "postgres":
      return openPostgresStore({ url: storage.url, pool_size: storage.pool_size });
  }
}
