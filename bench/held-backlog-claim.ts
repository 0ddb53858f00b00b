// `bun bench/held-backlog-claim.ts [N]`: what one claim costs while N due
// deliveries wait for a disabled destination and nothing else is due. Both
// stores exclude a held destination's rows in the claim's query, not by index,
// so each claim walks past all of them (bench/README.md, issue 17: "Found and left").
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../src/store/open-store.ts";
import { destination, lease, newEvent, T0 } from "../test/store/records.ts";

const waiting = Number(process.argv[2] ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), "herald-held-"));
const store = await openStore(
  { driver: "sqlite", path: join(dir, "herald.db"), synchronous: "normal" },
  { env: { HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") } },
);
try {
  await store.catalog.saveDestination(destination({ id: "held" }));
  await store.catalog.setDestinationEnabled("held", false, "paused", T0);
  let writes: Promise<unknown>[] = [];
  for (let i = 0; i < waiting; i++) {
    writes.push(store.queue.publish(newEvent({ to: ["held"], at: T0 + i })));
    if (writes.length === 5_000) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    const jobs = await store.queue.claimDue(T0 + waiting, lease(T0 + waiting + 60_000), 1_000);
    console.log(`claim, ${waiting} rows of a disabled destination waiting: ${jobs.length} leased in ${(performance.now() - started).toFixed(1)} ms`);
  }
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
