// `bun bench/batch-layers.ts [ROUNDS]`: what a batch publish of 1,000 events
// costs at two depths of this tree's Herald, in one process (the destination
// disabled, so nothing is sent; `synchronous: full`): the whole HTTP route
// through `app.http.handle` (no socket: the body's parse, the checks, the
// publish, the answer), and the engine's `publisher.publishMany` called
// directly for the same 1,000 inputs, as the route calls it (the fan-out, the
// ids, the store's group commit).
// Their difference is the HTTP layer's share; `bun bench/row-writes.ts` gives
// the store's rows alone, and the publisher's JavaScript is what is left.
// Prints CPU µs per event (the whole process: the WAL sync's thread too).
import { orderEvent, startTree, TOKEN, TYPE } from "./publish-trees.ts";

const rounds = Number(process.argv[2] ?? 2);
const PER_BATCH = 1_000;
const BATCHES = 40;
const tree = await startTree(process.cwd(), { max_body: "8MiB" });
const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

async function throughHttp(): Promise<void> {
  const body = JSON.stringify({ events: Array.from({ length: PER_BATCH }, (_, i) => orderEvent(i)) });
  const response = await tree.app.http.handle(new Request(`${tree.url}/v1/events/batch`, { method: "POST", headers, body }));
  if (response.status !== 202) throw new Error(`batch answered ${response.status}: ${await response.text()}`);
  await response.arrayBuffer();
}

async function throughPublisher(): Promise<void> {
  const inputs = Array.from({ length: PER_BATCH }, (_, i) => ({ type: TYPE, data: orderEvent(i).data, tenant: "default" }));
  const outcomes = await tree.app.engine.publisher.publishMany(inputs);
  if (!outcomes.every((o: { ok: boolean; created?: boolean }) => o.ok && o.created)) throw new Error("a publish was refused");
}

async function cpuPerEvent(run: () => Promise<void>): Promise<number> {
  for (let i = 0; i < 5; i++) await run(); // warm: compiled code, the statement cache
  const started = process.cpuUsage();
  for (let i = 0; i < BATCHES; i++) await run();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / (BATCHES * PER_BATCH);
}

try {
  for (let round = 0; round < rounds; round++) {
    const http = await cpuPerEvent(throughHttp);
    const publisher = await cpuPerEvent(throughPublisher);
    console.log(`round ${round + 1}: HTTP route ${http.toFixed(2)} µs an event, publisher.publishMany ${publisher.toFixed(2)} µs an event`);
  }
} finally {
  await tree.stop();
}
