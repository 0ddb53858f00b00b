// `bun bench/large-events.ts [CHARS] [EVENTS] [ANSWER_MS]`: Herald's memory with
// large events and a slow receiver. Publishes EVENTS single events (8 at once)
// whose data holds a string of CHARS characters (default 200,000, under
// server.max_string) to one destination whose receiver (in this process) takes
// ANSWER_MS (default 3,000) to answer each, then waits 10 s more; prints the
// largest RSS seen (sampled every 200 events and every second after) and how
// many requests the receiver got. The build is dist/herald or
// HERALD_BENCH_BINARY, as for `npm run bench`. What the deliveries waiting in
// memory may hold is bounded by QUEUED_DATA_CHARS (src/engine/dispatcher.ts);
// before it, only by their count (bench/README.md).
import { benchDir, removeDir, startHerald, TOKEN } from "./harness.ts";

const chars = Number(process.argv[2] ?? 200_000);
const events = Number(process.argv[3] ?? 6_000);
const answerMs = Number(process.argv[4] ?? 3_000);

let received = 0;
const receiver = Bun.serve({
  port: 0,
  async fetch(request) {
    await request.arrayBuffer();
    received++;
    await Bun.sleep(answerMs);
    return new Response("ok");
  },
});
const dir = benchDir();
const herald = await startHerald(dir, {
  event_types: ["large.event"],
  destinations: [{ id: "slow", url: `http://127.0.0.1:${receiver.port}/hook` }],
  subscriptions: [{ id: "to-slow", destination: "slow", event_types: ["large.event"] }],
});
let peak = 0;
const sample = async () => void (peak = Math.max(peak, (await herald.memory()).rss));
try {
  const blob = "x".repeat(chars);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < events) {
        const n = next++;
        const response = await fetch(`${herald.url}/v1/events`, {
          method: "POST",
          headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
          body: JSON.stringify({ type: "large.event", data: { n, blob } }),
        });
        if (response.status !== 202) throw new Error(`publish ${n}: ${response.status} ${await response.text()}`);
        await response.arrayBuffer();
        if (n % 200 === 0) await sample();
      }
    }),
  );
  for (let i = 0; i < 10; i++) {
    await Bun.sleep(1_000);
    await sample();
  }
  console.log(`${events} events of ${chars} characters, answers after ${answerMs} ms: peak RSS ${peak.toFixed(0)} MiB; the receiver got ${received} requests`);
} finally {
  await herald.stop();
  receiver.stop(true);
  removeDir(dir);
}
