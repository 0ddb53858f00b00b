// The stores the contract suite runs against: every name in HERALD_TEST_STORES
// (comma-separated; default "sqlite"). Each test opens a fresh, empty store of
// its own. A new store joins the suite by adding its opener here: no test changes.
import { describe } from "bun:test";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite-store.ts";
import type { Store } from "../../src/store/store.ts";
import { removeDir, tempDir } from "../support/herald.ts";

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
        for (const store of opened.reverse()) store.close();
        removeDir(dir);
      },
    };
  },
};

export const STORE_NAMES = (process.env.HERALD_TEST_STORES ?? "sqlite")
  .split(",")
  .map((name) => name.trim())
  .filter(Boolean);

for (const name of STORE_NAMES) {
  if (!OPENERS[name]) throw new Error(`HERALD_TEST_STORES names "${name}", which is not a store the suite knows (${Object.keys(OPENERS).join(", ")})`);
}

/**
 * Declares `body` once per store under test: `open` gives a test a fresh
 * store; the test closes it when done.
 */
export function describeEachStore(title: string, body: (open: () => Promise<OpenedStore>) => void): void {
  for (const name of STORE_NAMES) describe(`${title} [${name}]`, () => body(OPENERS[name]!));
}
