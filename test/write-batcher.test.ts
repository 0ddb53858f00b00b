// Group commit on a real SQLite file: writes submitted in one turn share one
// transaction, a failing write fails alone, and nothing settles before the commit.
import { afterEach, describe, expect, it } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { openDatabase } from "../src/store/database.ts";
import { WriteBatcher } from "../src/store/write-batcher.ts";
import { WalSync } from "../src/store/wal-sync.ts";
import { SqliteStore } from "../src/store/sqlite-store.ts";
import { tempDir } from "./support/herald.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function open() {
  dir = tempDir("herald-batcher-");
  const path = join(dir, "herald.db");
  const db = openDatabase(path, "full");
  db.run("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  return { db, path, batcher: new WriteBatcher(db) };
}

/** Rows of `table` as another connection sees them: only what was committed. */
function committedRows(path: string, table: string): number {
  const other = new Database(path, { readonly: true });
  try {
    return (other.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
  } finally {
    other.close();
  }
}

const insert = (db: Database, id: number, v = "x") => () => db.query("INSERT INTO t (id, v) VALUES (?, ?)").run(id, v).changes;

describe("write batcher", () => {
  it("gathers the writes of one turn and commits them before any of them settles", async () => {
    const { db, path, batcher } = open();
    const writes = [1, 2, 3].map((id) => batcher.submit(insert(db, id)));
    expect(batcher.pending).toBe(3);
    await Promise.all(writes);
    // Another connection sees all three rows: they were committed before the promises settled.
    expect(committedRows(path, "t")).toBe(3);
    db.close();
  });

  it("fails a write that throws on its own and still commits the rest of the batch", async () => {
    const { db, batcher } = open();
    await batcher.submit(insert(db, 1));
    // Two statements in one write: its first insert must be undone with it.
    const twoStep = () => {
      db.query("INSERT INTO t (id, v) VALUES (10, 'half')").run();
      return insert(db, 1)(); // duplicate primary key
    };
    const results = await Promise.allSettled([batcher.submit(insert(db, 2)), batcher.submit(twoStep), batcher.submit(insert(db, 3))]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((results[1] as PromiseRejectedResult).reason.message).toContain("UNIQUE");
    const ids = (db.query("SELECT id FROM t ORDER BY id").all() as { id: number }[]).map((r) => r.id);
    expect(ids).toEqual([1, 2, 3]);
    expect(db.inTransaction).toBe(false);
    db.close();
  });

  it("with synchronous full, commits on a NORMAL connection and settles after syncing the WAL aside", async () => {
    dir = tempDir("herald-batcher-");
    const path = join(dir, "herald.db");
    const store = new SqliteStore(path, "full");
    // 1 = NORMAL: COMMIT no longer waits for the disk on the event loop.
    expect((store.db.query("PRAGMA synchronous").get() as { synchronous: number }).synchronous).toBe(1);
    // Three publishes through the store's own group commit and WAL sync.
    const published = await Promise.all(
      ["evt_1", "evt_2", "evt_3"].map((id) =>
        store.publish({
          event: { id, type: "order.created", tenant: "default", data: null, created_at: 1 },
          data_json: "null", idempotency_key: null, request_hash: "h", deliveries: [],
        }),
      ),
    );
    expect(published.map((p) => p.created)).toEqual([true, true, true]);
    expect(committedRows(path, "events")).toBe(3);
    store.close();
  });

  it("holds the writes made while a batch's sync runs, and commits them together when it ends", async () => {
    const { db, path } = open();
    // The sync is ours to end, so the test decides when the disk "answers".
    const syncs: (() => void)[] = [];
    const batcher = new WriteBatcher(db, () => new Promise<void>((resolve) => syncs.push(resolve)));
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    let settled = 0;
    const first = batcher.submit(insert(db, 1)).then(() => settled++);
    await turn();
    expect(syncs.length).toBe(1); // committed, syncing
    const others = [2, 3].map((id) => batcher.submit(insert(db, id)).then(() => settled++));
    await turn();
    await turn();
    expect(batcher.pending).toBe(2); // waiting for the sync, not committed
    expect(settled).toBe(0); // nothing answers before its sync
    expect(committedRows(path, "t")).toBe(1);
    syncs[0]!();
    await first;
    await turn();
    expect(syncs.length).toBe(2); // rows 2 and 3: one commit, one sync
    expect(batcher.pending).toBe(0);
    expect(committedRows(path, "t")).toBe(3);
    expect(settled).toBe(1);
    syncs[1]!();
    await Promise.all(others);
    expect(settled).toBe(3);
    db.close();
  });

  it("closes the WAL file only after the syncs under way", async () => {
    dir = tempDir("herald-batcher-");
    const openFiles = () => readdirSync("/proc/self/fd").length;
    const before = openFiles();
    const walSync = new WalSync(join(dir, "herald.db-wal"));
    expect(openFiles()).toBe(before + 1);
    const syncs = [walSync.sync(), walSync.sync()];
    walSync.close();
    expect(openFiles()).toBe(before + 1); // still syncing: the file stays open
    await Promise.all(syncs);
    expect(openFiles()).toBe(before);
  });
});
