// `bun bench/held-backlog-claim.ts [N] [sqlite|postgres]`: what one claim costs
// while N due deliveries wait for a disabled destination (and, for comparison,
// with none waiting), and where the store parks held rows (migration 21 / 16),
// what moving them costs: the settle chunks that unpark them on an enable and
// park them again on a disable. postgres: a fresh schema on the server named by
// HERALD_TEST_POSTGRES_URL (test/support/postgres-cluster.ts start). Runs on a
// tree without parked rows too (the "before" of bench/README.md): the settle
// part is then skipped. Last, the drain after an enable as the dispatcher runs
// it (a settle chunk, then a claim of 1,000, until neither finds more): CPU
// per row, the move and the claim together.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore } from "../src/store/open-store.ts";
import type { Store } from "../src/store/store.ts";
import { destination, lease, newEvent, T0 } from "../test/store/records.ts";
import { postgresSchema } from "../test/support/test-stores.ts";

const waiting = Number(process.argv[2] ?? 200_000);
const driver = process.argv[3] ?? "sqlite";
const CHUNK = 2_000;
const env = { HERALD_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") };

const dir = mkdtempSync(join(tmpdir(), "herald-held-"));
const schema = driver === "postgres" ? await postgresSchema() : null;
const store: Store = await openStore(
  { driver: schema ? "postgres" : "sqlite", path: join(dir, "herald.db"), synchronous: "normal", url: schema?.url, pool_size: 4 },
  { env },
);
type Settle = (budget: number, verify: boolean, now: number) => Promise<{ moved: number; more: boolean }>;
/** A settle's time before any row here is due: the whole move, due rows included (a store may leave those to the claim). */
const BEFORE_DUE = T0 - 1;
const settle = (store.queue as unknown as { settleParking?: Settle }).settleParking?.bind(store.queue);

async function claimTimes(label: string, at: number): Promise<void> {
  const times: string[] = [];
  let leased = 0;
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    // Nothing is leased for the held destination: the same claim each round.
    leased = (await store.queue.claimDue(at, lease(at + 60_000), 1_000)).length;
    times.push((performance.now() - started).toFixed(2));
  }
  console.log(`${driver}: claim, ${label}: ${leased} leased; ms per claim ${times.join(", ")}`);
}

/** Settles until nothing is left to move; the time of each chunk. */
async function settleAll(label: string): Promise<void> {
  if (!settle) return;
  const chunks: number[] = [];
  let moved = 0;
  for (;;) {
    const started = performance.now();
    const step = await settle(CHUNK, false, BEFORE_DUE);
    chunks.push(performance.now() - started);
    moved += step.moved;
    if (!step.more) break;
  }
  const sorted = [...chunks].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(
    `${driver}: settle (${label}): ${moved} rows walked in ${chunks.length} chunks of ≤ ${CHUNK}; ms per chunk median ${median.toFixed(1)}, max ${sorted.at(-1)!.toFixed(1)}, total ${chunks.reduce((a, b) => a + b, 0).toFixed(0)}`,
  );
}

/** The dispatcher's loop after an enable: a settle chunk, then a claim, until both are done; CPU µs per row. */
async function drainTimes(at: number): Promise<void> {
  if (!settle) return;
  const cpu = process.cpuUsage();
  const started = performance.now();
  let claimed = 0;
  for (let more = true; ; ) {
    if (more) more = (await settle(CHUNK, false, at)).more;
    const got = (await store.queue.claimDue(at, lease(at + 60_000), 1_000)).length;
    claimed += got;
    if (got === 0 && !more) break;
  }
  const used = process.cpuUsage(cpu);
  console.log(
    `${driver}: drain after an enable: ${claimed} rows claimed in ${(performance.now() - started).toFixed(0)} ms, ${(((used.user + used.system) / claimed)).toFixed(2)} µs CPU per row`,
  );
}

try {
  await store.catalog.saveDestination(destination({ id: "held" }));
  await store.catalog.saveDestination(destination({ id: "other" }));
  await claimTimes("nothing waiting", T0 + waiting);
  await store.catalog.setDestinationEnabled("held", false, "paused", T0);
  let writes: Promise<unknown>[] = [];
  for (let i = 0; i < waiting; i++) {
    writes.push(store.queue.publish(newEvent({ to: ["held"], at: T0 + i })));
    if (writes.length === 5_000) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  await settleAll("disabled before the publishes: rows written parked, the walk confirms");
  await claimTimes(`${waiting} rows of a disabled destination waiting`, T0 + waiting);
  if (settle) {
    await store.catalog.setDestinationEnabled("held", true, null, T0);
    await settleAll("enabled: unpark");
    await store.catalog.setDestinationEnabled("held", false, "paused", T0);
    await settleAll("disabled again: park");
    await claimTimes(`${waiting} rows parked again`, T0 + waiting);
    await store.catalog.setDestinationEnabled("held", true, null, T0);
    await drainTimes(T0 + waiting);
  }
} finally {
  await store.close();
  await schema?.drop();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
