// `bun bench/publish-ab.ts N TREE...`: the per-request cost of a single publish
// (`POST /v1/events`, one event) in several source trees (checkouts of other
// commits, node_modules linked), without the network: each tree's Herald is
// built as ingest-ab.ts builds it (SQLite, `synchronous: full`, its one
// destination disabled) and given Requests through `app.http.handle` in-process,
// 64 at once, in rounds of 2,000 interleaved with the order turned every round.
// What it measures is Herald's JavaScript per request — Elysia's hooks,
// authentication, parse, validation, the publisher, the store's group commit —
// with neither a client nor Bun's HTTP server in the figure (ingest-ab.ts and
// `npm run bench -- ingest` have those). Prints CPU µs and wall µs per request.
import { resolve } from "node:path";
import { interleavedRounds } from "./interleaved-rounds.ts";
import { orderEvent, startTree, TOKEN } from "./publish-trees.ts";

const total = Number(process.argv[2] ?? 40_000);
const trees = process.argv.slice(3).map((t) => resolve(t));
if (trees.length === 0) throw new Error("usage: bun bench/publish-ab.ts N TREE...");
const ROUND = 2_000;
const AT_ONCE = 64;

const variants = await Promise.all(trees.map(async (tree) => ({ ...(await startTree(tree)), cpuMs: 0, mainMs: 0, wallMs: 0, done: 0 })));
type Variant = (typeof variants)[number];

const body = (i: number) => JSON.stringify(orderEvent(i));

async function one(v: Variant, i: number): Promise<void> {
  // What the bench's load generator sends (fetch adds content-length to a string body).
  const text = body(i);
  const request = new Request(`${v.url}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) },
    body: text,
  });
  const response = await v.app.http.handle(request);
  if (response.status !== 202) throw new Error(`${v.tree}: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

const n = await interleavedRounds(variants, one, { total, round: ROUND, atOnce: AT_ONCE });
for (const v of variants) {
  console.log(`${v.tree}: ${((v.cpuMs * 1000) / n).toFixed(1)} µs CPU (${((v.mainMs * 1000) / n).toFixed(1)} on the JavaScript thread), ${((v.wallMs * 1000) / n).toFixed(1)} µs wall per publish`);
  await v.stop();
}
