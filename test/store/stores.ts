// The stores the contract suite runs against: every name in HERALD_TEST_STORES
// (comma-separated; default "sqlite"). Each test opens a fresh, empty store of
// its own. A new store joins the suite by adding its opener here: no test changes.
// Which stores, and PostgreSQL's server: test/support/test-stores.ts.
import { afterEach, beforeEach, describe } from "bun:test";
import { join } from "node:path";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../../src/store/store.ts";
import { removeDir, tempDir } from "../support/herald.ts";
import { configuredKeys } from "../../src/store/sealing-keys.ts";
import { holdTableLock, postgresSchema, STORE_NAMES, TEST_KEY_ENV, type StoreName } from "../support/test-stores.ts";

export { holdTableLock, postgresSchema, STORE_NAMES };

/** A fresh store, and how to put it away when the test is done. */
export interface OpenedStore {
  store: Store;
  /** Another store on the same database, as a second Herald instance would open it (closed with this one). */
  another(): Promise<Store>;
  close(): Promise<void>;
}

const OPENERS: Record<string, () => Promise<OpenedStore>> = {
  /** A new SQLite file in its own temp folder, synchronous: full as in production. */
  sqlite: async () => {
    const dir = tempDir("herald-store-");
    const path = join(dir, "herald.db");
    const opened = [new SqliteStore(path, "full")];
    return {
      store: opened[0]!,
      async another() {
        const store = new SqliteStore(path, "full");
        opened.push(store);
        return store;
      },
      async close() {
        for (const store of opened.reverse()) await store.close();
        removeDir(dir);
      },
    };
  },

  /**
   * A schema of its own in the server's database, named in each connection's
   * search_path, migrated by the store's own open and dropped after the test.
   * Measured against a database per test (CREATE DATABASE … TEMPLATE a migrated
   * one, DROP DATABASE … WITH (FORCE)): 92 ms a test against 209 ms (20 opens
   * and closes each, on the CI cluster's settings), because CREATE DATABASE
   * copies the template's files and checkpoints.
   */
  postgres: async () => {
    const schema = await postgresSchema();
    // Small pools: a test needs a few connections, and many tests run one after another.
    const keys = configuredKeys({ driver: "postgres", path: "" }, TEST_KEY_ENV);
    const open = () => openPostgresStore({ url: schema.url, pool_size: 4, keys });
    const opened = [await open()];
    return {
      store: opened[0]!,
      async another() {
        const store = await open();
        opened.push(store);
        return store;
      },
      async close() {
        for (const store of opened.reverse()) await store.close();
        await schema.drop();
      },
    };
  },
};

for (const name of STORE_NAMES) {
  if (!OPENERS[name]) throw new Error(`HERALD_TEST_STORES names "${name}", which the contract suite has no opener for`);
}

/** What a contract test works on: a fresh store of its own, opened before it and closed after it. */
export interface StoreUnderTest {
  /** Which store this is, for the few behaviours a store documents as its own. */
  readonly name: StoreName;
  readonly store: Store;
  /** Another store on the same database, as a second Herald instance would open it. */
  another(): Promise<Store>;
}

/** Declares `body` once per store under test; each of its tests gets a fresh store. */
export function describeEachStore(title: string, body: (current: StoreUnderTest) => void): void {
  for (const name of STORE_NAMES) {
    describe(`${title} [${name}]`, () => {
      let opened: OpenedStore | null = null;
      beforeEach(async () => {
        opened = await OPENERS[name]!();
      });
      afterEach(async () => {
        await opened?.close();
        opened = null;
      });
      body({
        name,
        get store() {
          return opened!.store;
        },
        another: () => opened!.another(),
      });
    });
  }
}
