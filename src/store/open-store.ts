// The one way to open a store: the storage settings choose the implementation.
// app.ts and main.ts call only this; nothing above the store names SQLite.
import type { Synchronous } from "./sqlite/database.ts";
import { SqliteStore } from "./sqlite/sqlite-store.ts";
import type { Store } from "./store.ts";

/** `storage` from the config: the driver and its own settings. */
export interface StorageOptions {
  driver: "sqlite";
  path: string;
  synchronous: Synchronous;
}

export async function openStore(storage: StorageOptions): Promise<Store> {
  switch (storage.driver) {
    case "sqlite":
      return new SqliteStore(storage.path, storage.synchronous);
  }
}
