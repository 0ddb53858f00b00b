// `bun bench/send-ab.ts N TREE...`: the webhook send alone — the `send()` of
// several source trees (checkouts of other commits, node_modules linked), and a
// plain Bun fetch loop as the yardstick — against the bench receiver in its own
// process, 64 sends at once, rounds of 2,000 interleaved with the order turned
// every round (as store-ab.ts does for the store). Prints CPU µs per send (the
// whole process: JavaScript thread and Bun's HTTP thread) and sends/s per
// variant. Only the send is measured: no store, no dispatcher. A tree that has
// src/engine/http-client.ts sends through that client, as its engine does.
import { join, resolve } from "node:path";
import { startReceiver } from "./harness.ts";
import { BASELINE_CONCURRENCY, plainSend, webhookBody } from "./yardstick.ts";
import { interleavedRounds, type Contender } from "./interleaved-rounds.ts";

const total = Number(process.argv[2] ?? 40_000);
const trees = process.argv.slice(3).map((t) => resolve(t));
if (trees.length === 0) throw new Error("usage: bun bench/send-ab.ts N TREE...");
const ROUND = 2_000;
const AT_ONCE = BASELINE_CONCURRENCY;

const receiver = await startReceiver();
const url = `${receiver.url}/hooks`;
const now = Date.now();
const destination = {
  id: "dst_bench", tenant: "default", url, description: "", secrets: [{ secret: "whsec_" + Buffer.alloc(24, 7).toString("base64"), expires_at: null }],
  headers: {}, client_tls: null, timeout_ms: null, rate_limit: null, max_in_flight: null, ordered: false, enabled: true,
  disabled_reason: null, metadata: {}, failing_since: null, managed_by: "api", created_at: now, updated_at: now,
};
const data = JSON.stringify({ order_id: 1, customer: "c-1", amount: 4200, sent_at: now });

interface Variant extends Contender {
  name: string;
  /** Sends delivery `i`; throws unless it was delivered. */
  one(i: number): Promise<void>;
}

// The yardstick: what the bench's baseline does, one request per delivery.
const plainBody = webhookBody("bench.event", data, now);
const clients: { close(): void }[] = [];
const variants: Variant[] = [{ name: "plain fetch", one: (i) => plainSend(url, plainBody, i), cpuMs: 0, mainMs: 0, wallMs: 0, done: 0 }];
for (const [k, tree] of trees.entries()) {
  const { send } = await import(join(tree, "src/engine/sender.ts"));
  const { createAddressGuard } = await import(join(tree, "src/engine/address-guard.ts"));
  // A tree with the keep-alive client (issue 17) sends through it, as its engine does.
  const clientModule = join(tree, "src/engine/http-client.ts");
  const client = (await Bun.file(clientModule).exists()) ? new (await import(clientModule)).HttpClient() : undefined;
  if (client) clients.push(client);
  // A tree with the client on a worker thread is measured both ways.
  const workerModule = join(tree, "src/engine/worker-http-client.ts");
  const workerClient = (await Bun.file(workerModule).exists()) ? new (await import(workerModule)).WorkerHttpClient() : undefined;
  if (workerClient) clients.push(workerClient);
  for (const [name, c] of [[tree, client], ...(workerClient ? [[`${tree} (worker client)`, workerClient]] : [])] as const) {
    const options = {
      ...(c ? { client: c } : {}),
      fetch, now: Date.now, guard: createAddressGuard({ https_only: false, allow_private_networks: false, allow_hosts: ["127.0.0.1"] }),
      timeout_ms: 10_000, keep_response_bytes: 4096, user_agent: "Herald/bench",
    };
    const prefix = `evt_${variants.length}_`;
    variants.push({
      name,
      async one(i) {
        const t = Date.now();
        // A fresh event object per send, as the store hands them (one per claimed event).
        const result = await send({ id: `${prefix}${i}`, type: "bench.event", created_at: t, data_json: data }, destination, options);
        if (!result.ok) throw new Error(`send failed: ${result.attempt.error}`);
      },
      cpuMs: 0, mainMs: 0, wallMs: 0, done: 0,
    });
  }
}

try {
  const n = await interleavedRounds(variants, (v, i) => v.one(i), { total, round: ROUND, atOnce: AT_ONCE });
  for (const v of variants) {
    console.log(`${v.name}: ${((v.cpuMs * 1000) / n).toFixed(1)} µs CPU per send (${((v.mainMs * 1000) / n).toFixed(1)} on the JavaScript thread), ${Math.round((n / v.wallMs) * 1000)} sends/s`);
  }
  const stats = await receiver.stats();
  if (stats.unique < (n + ROUND) * variants.length) throw new Error(`the receiver counted ${stats.unique} distinct deliveries`);
} finally {
  for (const c of clients) c.close();
  await receiver.stop();
}
