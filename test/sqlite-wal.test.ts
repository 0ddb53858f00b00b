// How large the SQLite store lets its WAL grow before copying it into the
// database file: a real file, written in transactions on the store's own
// connection (the pragmas are the connection's, whoever commits).
import { afterEach, expect, it } from "bun:test";
import { rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { tempDir } from "./support/herald.ts";

let dir = "";
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A WAL frame: a 24-byte header and a 4 KiB page. */
const FRAME = 24 + 4096;

it("checkpoints the WAL every 10,000 pages, not at SQLite's 1,000, and cuts a larger one back to 64 MiB", async () => {
  dir = tempDir("herald-wal-");
  const path = join(dir, "herald.db");
  const store = new SqliteStore(path, "full");
  const { db } = store;
  db.run("CREATE TABLE filler (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  const wal = () => statSync(`${path}-wal`).size / FRAME;
  // A page a row: each row is too long to share one.
  const commit = (pages = 100) => db.transaction(() => {
    for (let i = 0; i < pages; i++) db.query("INSERT INTO filler (v) VALUES (?)").run("x".repeat(3000));
  })();
  for (let i = 0; i < 40 && wal() < 3000; i++) commit();
  // At SQLite's default the WAL would have started over from its beginning near 1,000 frames.
  expect(wal()).toBeGreaterThan(3000);
  // Past 10,000 the commit that crosses the mark checkpoints, and the next starts the file over.
  let high = 0;
  let commits = 0;
  while (commits++ < 200) {
    commit();
    high = Math.max(high, wal());
  }
  expect(high).toBeGreaterThan(10_000);
  expect(high).toBeLessThan(10_200);
  // One commit of ~70 MiB takes the file past 64 MiB; once the WAL starts over it is cut back to that.
  commit(17_000);
  expect(statSync(`${path}-wal`).size).toBeGreaterThan(64 * 1024 * 1024);
  commit(1);
  expect(statSync(`${path}-wal`).size).toBeLessThanOrEqual(64 * 1024 * 1024);
  await store.close();
});
