// Group commit on a real SQLite file: writes submitted in one turn share one
// transaction, a failing write fails alone, and nothing settles before the commit.
import { afterEach, describe, expect, it } from "bun:test";
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { openDatabase } from "../src/store/sqlite/database.ts";
import { type DeferredRows, WriteBatcher } from "../src/store/sqlite/write-batcher.ts";
import { WalSync } from "../src/store/sqlite/wal-sync.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { StoreUnavailableError } from "../src/store/unavailable.ts";
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

/** Caps this connection's file at its present size: the next page it needs fails with SQLITE_FULL, as on a full disk. */
function capFileSize(db: Database): void {
  const pages = (db.query("PRAGMA page_count").get() as { page_count: number }).page_count;
  db.run(`PRAGMA max_page_count = ${pages}`);
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
        store.queue.publish({
          event: { id, type: "order.created", tenant: "default", data: null, created_at: 1 },
          data_json: "null", idempotency_key: null, request_hash: "h", deliveries: [],
        }),
      ),
    );
    expect(published.map((p) => p.created)).toEqual([true, true, true]);
    expect(committedRows(path, "events")).toBe(3);
    await store.close();
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

  it("a failing COMMIT rejects every write of its batch, keeps none of them, and the batcher commits the next batch", async () => {
    const { db, path, batcher } = open();
    // A deferred foreign key is checked by COMMIT itself: a real failing COMMIT.
    db.run("CREATE TABLE parent (id INTEGER PRIMARY KEY)");
    db.run("CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)");
    const orphan = () => db.query("INSERT INTO child (id, parent) VALUES (1, 99)").run().changes;
    const results = await Promise.allSettled([batcher.submit(insert(db, 1)), batcher.submit(orphan), batcher.submit(insert(db, 2))]);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
    }
    expect(batcher.failing).toBeInstanceOf(StoreUnavailableError);
    expect(db.inTransaction).toBe(false);
    expect(committedRows(path, "t")).toBe(0);
    // Still usable: the next batch commits and the failure is over.
    await batcher.submit(insert(db, 3));
    expect(committedRows(path, "t")).toBe(1);
    expect(batcher.failing).toBeNull();
    db.close();
  });

  it("a full database fails the whole batch with StoreUnavailableError, commits none of it, and writes again once there is room", async () => {
    const { db, path, batcher } = open();
    await batcher.submit(insert(db, 1));
    capFileSize(db);
    const big = "x".repeat(64 * 1024);
    const results = await Promise.allSettled([batcher.submit(insert(db, 2)), batcher.submit(insert(db, 3, big)), batcher.submit(insert(db, 4))]);
    for (const result of results) {
      expect(result.status).toBe("rejected");
      const reason = (result as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(StoreUnavailableError);
      expect(reason.reason).toBe("SQLITE_FULL");
    }
    expect(db.inTransaction).toBe(false);
    // Nothing of the failed batch slipped in outside its transaction.
    expect(committedRows(path, "t")).toBe(1);
    db.run("PRAGMA max_page_count = 1000000");
    await Promise.all([batcher.submit(insert(db, 2)), batcher.submit(insert(db, 3, big))]);
    expect(committedRows(path, "t")).toBe(3);
    expect(batcher.failing).toBeNull();
    db.close();
  });

  it("a write lock held past busy_timeout fails the batch as unavailable, and the batch after the lock goes commits", async () => {
    const { db, path, batcher } = open();
    db.run("PRAGMA busy_timeout = 20");
    const other = new Database(path);
    other.run("BEGIN IMMEDIATE");
    const failed = await batcher.submit(insert(db, 1)).catch((error) => error);
    expect(failed).toBeInstanceOf(StoreUnavailableError);
    expect(failed.reason).toStartWith("SQLITE_BUSY");
    other.run("ROLLBACK");
    other.close();
    await batcher.submit(insert(db, 1));
    expect(committedRows(path, "t")).toBe(1);
    db.close();
  });

  it("a failing WAL sync rejects the batch's writes: nothing is acknowledged that may not be on disk", async () => {
    const { db } = open();
    const enospc = Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    let failSync = true;
    const batcher = new WriteBatcher(db, () => (failSync ? Promise.reject(enospc) : Promise.resolve()));
    const failed = await batcher.submit(insert(db, 1)).catch((error) => error);
    expect(failed).toBeInstanceOf(StoreUnavailableError);
    expect(failed.reason).toBe("ENOSPC");
    expect(batcher.failing).not.toBeNull();
    failSync = false;
    await batcher.submit(insert(db, 2));
    expect(batcher.failing).toBeNull();
    db.close();
  });

  describe("rows a write leaves for later (defer)", () => {
    /** Gathers ids for table t and writes them in one multi-row INSERT, as PublishRows does. */
    class GatheredIds implements DeferredRows {
      ids: number[] = [];
      flushes = 0;
      constructor(private readonly db: Database) {}
      flush(): void {
        const ids = this.ids;
        this.ids = [];
        this.flushes++;
        if (ids.length) this.db.query(`INSERT INTO t (id, v) VALUES ${ids.map(() => "(?, 'g')").join(", ")}`).run(...ids);
      }
      discard(): void {
        this.ids = [];
      }
    }
    /** A write that gathers its row while the batcher allows it, and inserts it itself otherwise (the replay). */
    const gathering = (db: Database, batcher: WriteBatcher, rows: GatheredIds, id: number) => () => {
      if (!batcher.deferring) return insert(db, id)();
      batcher.defer(rows);
      rows.ids.push(id);
      return 1;
    };
    const count = (db: Database) => (db.query("SELECT count(*) AS n FROM t").get() as { n: number }).n;

    it("writes gathered rows once, in the same commit, before a write that does not defer reads the table", async () => {
      const { db, path, batcher } = open();
      const rows = new GatheredIds(db);
      let seen = -1;
      const results = await Promise.all([
        batcher.submit(gathering(db, batcher, rows, 1), true),
        batcher.submit(gathering(db, batcher, rows, 2), true),
        batcher.submit(() => (seen = count(db))),
        batcher.submit(gathering(db, batcher, rows, 3), true),
      ]);
      expect(results).toEqual([1, 1, 2, 1]);
      expect(seen).toBe(2); // rows 1 and 2 were written before the reader ran
      expect(committedRows(path, "t")).toBe(3); // row 3 before COMMIT
      expect(rows.flushes).toBe(2);
      expect((db.query("SELECT v FROM t WHERE id = 3").get() as { v: string }).v).toBe("g"); // gathered, not written alone
      expect(batcher.deferring).toBe(false);
      db.close();
    });

    it("forgets what a rolled-back run gathered: the replay writes each row once, and a failing write fails alone", async () => {
      const { db, path, batcher } = open();
      await batcher.submit(insert(db, 9));
      const rows = new GatheredIds(db);
      const results = await Promise.allSettled([
        batcher.submit(gathering(db, batcher, rows, 1), true),
        batcher.submit(insert(db, 9), true), // duplicate: the first run is rolled back
        batcher.submit(gathering(db, batcher, rows, 2), true),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect(committedRows(path, "t")).toBe(3);
      expect(rows.ids).toEqual([]);
      db.close();
    });

    it("a full database fails the whole batch, and the rows it had gathered are never written later", async () => {
      const { db, path, batcher } = open();
      await batcher.submit(insert(db, 1));
      capFileSize(db);
      const rows = new GatheredIds(db);
      const big = "x".repeat(64 * 1024);
      const results = await Promise.allSettled([
        batcher.submit(gathering(db, batcher, rows, 100), true),
        batcher.submit(gathering(db, batcher, rows, 101), true),
        batcher.submit(insert(db, 3, big), true), // SQLITE_FULL while rows 100 and 101 wait, gathered
      ]);
      for (const result of results) expect((result as PromiseRejectedResult).reason).toBeInstanceOf(StoreUnavailableError);
      expect(committedRows(path, "t")).toBe(1);
      db.run("PRAGMA max_page_count = 1000000");
      await batcher.submit(insert(db, 2));
      expect((db.query("SELECT id FROM t ORDER BY id").all() as { id: number }[]).map((r) => r.id)).toEqual([1, 2]);
      expect(rows.flushes).toBe(0);
      db.close();
    });

    it("gathered rows that cannot be written are replayed with savepoints, failing only the write whose row it was", async () => {
      const { db, path, batcher } = open();
      await batcher.submit(insert(db, 5));
      const rows = new GatheredIds(db);
      const results = await Promise.allSettled([4, 5, 6].map((id) => batcher.submit(gathering(db, batcher, rows, id), true)));
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect((db.query("SELECT id FROM t ORDER BY id").all() as { id: number }[]).map((r) => r.id)).toEqual([4, 5, 6]);
      expect(committedRows(path, "t")).toBe(3);
      db.close();
    });
  });
});
