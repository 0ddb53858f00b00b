// `bun bench/ingest-ab.ts ROUNDS TREE...`: the whole publish path (HTTP, checks,
// fan-out, the store's group commit with `synchronous: full`) of several source
// trees (checkouts of other commits, node_modules linked) in ONE process, their
// rounds interleaved and the order turned every round, as store-ab.ts does for
// the store alone. Each tree's Herald listens on its own port; a round posts
// 8 batches of 1,000 events (4 at once) and 2,000 single events (64 at once) to
// it, the destination disabled so nothing is sent. Prints CPU µs per event of
// the whole process (Herald and this load generator: the same load for every
// tree, so differences are Herald's) per kind of publish. On the shared
// two-core machine whole-process runs of `npm run bench` spread by ±20 %;
// rounds a second apart see the same machine. A first round for each tree is
// not counted: it warms the JIT, the connections and the database.
import { resolve } from "node:path";
import { orderEvent, startTree, TOKEN } from "./publish-trees.ts";

const rounds = Number(process.argv[2] ?? 10);
const trees = process.argv.slice(3).map((t) => resolve(t));
if (trees.length === 0) throw new Error("usage: bun bench/ingest-ab.ts ROUNDS TREE...");
const BATCHES = 8;
const SINGLES = Number(process.env.INGEST_AB_SINGLES ?? 2_000);

const setups = await Promise.all(
  trees.map(async (tree) => ({ ...(await startTree(tree, { max_body: "8MiB" })), cpu: { batch: 0, single: 0 }, n: { batch: 0, single: 0 } })),
);
type Setup = (typeof setups)[number];

const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

async function post(url: string, body: unknown): Promise<void> {
  const response = await fetch(url, { method: "POST", headers, body: JSON.stringify(body) });
  if (response.status !== 202) throw new Error(`${url}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

async function measure(s: Setup, kind: "batch" | "single", events: number, run: () => Promise<unknown>): Promise<void> {
  const c0 = process.cpuUsage();
  await run();
  const c = process.cpuUsage(c0);
  s.cpu[kind] += (c.user + c.system) / 1000;
  s.n[kind] += events;
}

async function round(s: Setup): Promise<void> {
  await measure(s, "batch", BATCHES * 1000, async () => {
    for (let b = 0; b < BATCHES; b += 4) {
      await Promise.all([0, 1, 2, 3].map(() => post(`${s.url}/v1/events/batch`, { events: Array.from({ length: 1000 }, (_, i) => orderEvent(i)) })));
    }
  });
  await measure(s, "single", SINGLES, async () => {
    let next = 0;
    await Promise.all(Array.from({ length: 64 }, async () => {
      while (next < SINGLES) await post(`${s.url}/v1/events`, orderEvent(next++));
    }));
  });
}

// Warm-up, uncounted: the first round of a fresh process pays for compiling the
// publish path and filling caches, which would favour whichever tree came second.
for (const s of setups) {
  await round(s);
  s.cpu = { batch: 0, single: 0 };
  s.n = { batch: 0, single: 0 };
}
for (let r = 0; r < rounds; r++) for (const s of r % 2 === 0 ? setups : [...setups].reverse()) await round(s);
for (const s of setups) {
  console.log(`${s.tree} cpu: batch ${((s.cpu.batch * 1000) / s.n.batch).toFixed(1)} µs/event, single ${((s.cpu.single * 1000) / s.n.single).toFixed(1)} µs/event`);
  await s.stop();
}
