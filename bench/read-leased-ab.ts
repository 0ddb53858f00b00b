// `bun bench/read-leased-ab.ts ROWS ROUNDS TREE...`: the SQLite read-back of
// leases waiting on disk (store.queue.readLeased) alone, in several source
// trees (checkouts of other commits, node_modules linked) in ONE process, as
// claim-ab.ts does for the claim. Each tree's store gets ROWS deliveries
// written leased at publish (as a publish past the in-memory queue writes
// them, through the tree's PublishRows; published-event.ts), then reads them all back, 1,000 a
// call, each round; the order of the trees is turned every round and a first
// round is not counted. Prints wall µs a row (the store runs on this thread)
// and checks that every row came back.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { LEASE_OWNER, publishedEvent } from "./published-event.ts";

const [total, rounds] = process.argv.slice(2, 4).map(Number) as [number, number];
const trees = process.argv.slice(4).map((t) => resolve(t));
if (!(total >= 1000 && rounds >= 2) || trees.length === 0) throw new Error("usage: bun bench/read-leased-ab.ts ROWS ROUNDS TREE...");
const PER_CALL = 1000;

const dir = mkdtempSync(join(tmpdir(), "herald-read-leased-ab-"));
const setups = [];
try {
  for (const [t, tree] of trees.entries()) {
    const { SqliteStore } = await import(join(tree, "src/store/sqlite/sqlite-store.ts"));
    const { PublishRows } = await import(join(tree, "src/store/sqlite/publish-rows.ts"));
    const store = new SqliteStore(join(dir, `tree-${t}.db`), "full");
    const rows = new PublishRows(store.db);
    const leases: [string, number][] = [];
    for (let written = 0; written < total; written += PER_CALL) {
      store.db.transaction(() => {
        for (let i = 0; i < PER_CALL; i++) {
          const { item, delivery } = publishedEvent(Date.now(), false);
          rows.addEvent(item, item.event.id);
          rows.addDelivery(delivery, false);
          leases.push([delivery.id, delivery.lease_until!]);
        }
        rows.flush();
      })();
    }
    setups.push({ tree, store, leases, us: [] as number[] });
  }
  for (let round = 0; round < rounds; round++) {
    for (const setup of round % 2 === 0 ? setups : [...setups].reverse()) {
      let read = 0;
      const started = performance.now();
      for (let i = 0; i < total; i += PER_CALL) read += (await setup.store.queue.readLeased(LEASE_OWNER, new Map(setup.leases.slice(i, i + PER_CALL)))).length;
      if (read !== total) throw new Error(`${setup.tree}: ${read} of ${total} leases read back`);
      if (round > 0) setup.us.push(((performance.now() - started) * 1000) / total);
    }
  }
  for (const { tree, us } of setups) console.log(`${tree}: ${us.map((u) => u.toFixed(2)).join(", ")} µs a row`);
} finally {
  for (const { store } of setups) store.closeNow();
  rmSync(dir, { recursive: true, force: true });
}
