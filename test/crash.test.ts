// At-least-once across a crash: Herald is killed (SIGKILL) while deliveries are
// in flight and restarted on the same database; every acknowledged event arrives.
import { afterAll, expect, it } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { missingWebhookIds, startReceiver, type Receiver } from "./support/receiver.ts";
import { SOURCE_SERVE, spawnHerald, spawnSourceHerald } from "./support/process.ts";
import { ADMIN_TOKEN, removeDir, tempDir } from "./support/herald.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(removeDir));

/**
 * Starts Herald from source on a fresh directory with one destination (the
 * receiver), publishes `count` events in batches of `batch`, and SIGKILLs it
 * once `received` requests have arrived. Answers the directory and the ids published.
 */
async function publishThenKill(receiver: Receiver, delivery: string, count: number, batch: number, received: number) {
  const dir = tempDir("herald-crash-");
  dirs.push(dir);
  const first = await spawnSourceHerald(dir, ADMIN_TOKEN, {
    delivery,
    resources: `event_types: [ { name: job.done } ]
destinations: [ { id: sink, url: "${receiver.url}" } ]
subscriptions: [ { id: all, destination: sink, event_types: ["*"] } ]
`,
  });
  const published: string[] = [];
  const events = Array.from({ length: count }, (_, i) => ({ type: "job.done", data: { i } }));
  for (let i = 0; i < events.length; i += batch) {
    const res = await fetch(`${first.url}/v1/events/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ events: events.slice(i, i + batch) }),
    });
    expect(res.status).toBe(202);
    for (const e of (await res.json()).data) published.push(e.id);
  }
  await receiver.waitFor(received);
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  return { dir, published };
}

/** Restarts Herald on `dir` and expects every published event at the receiver within `ms`. */
async function restartAndExpectAll(dir: string, receiver: Receiver, published: string[], ms: number): Promise<void> {
  const second = await spawnHerald(SOURCE_SERVE, dir);
  try {
    expect(await missingWebhookIds(receiver, published, ms)).toEqual([]);
  } finally {
    second.proc.kill("SIGTERM");
    await second.proc.exited;
    await receiver.stop();
  }
}

it("delivers every acknowledged event after a SIGKILL and a restart", async () => {
  // Slow answers keep many deliveries in flight when the process dies.
  const receiver = startReceiver([], { status: 200, delay_ms: 200 });
  const { dir, published } = await publishThenKill(receiver, "concurrency: 16", 300, 100, 5);
  const beforeRestart = new Set(receiver.requests.map((r) => r.headers["webhook-id"]));
  expect(beforeRestart.size).toBeLessThan(published.length); // it really died mid-way
  await restartAndExpectAll(dir, receiver, published, 25_000);
}, 60_000);

it("delivers every acknowledged event after a SIGKILL with leases waiting on disk, and a restart", async () => {
  // One sender and a burst past its in-memory queue (1,024): the next 1,024 are
  // leased on disk, the rest pending, when the process dies.
  const receiver = startReceiver(Array.from({ length: 20 }, () => ({ status: 200, delay_ms: 200 })));
  const { dir, published } = await publishThenKill(receiver, "concurrency: 1", 2_500, 500, 3);
  expect(new Set(receiver.requests.map((r) => r.headers["webhook-id"])).size).toBeLessThan(20);
  // Leased past the in-memory queue when it died (memory's 1,024 and the send under way, then on disk).
  const db = new Database(join(dir, "herald.db"), { readonly: true });
  const leased = (db.query("SELECT count(*) AS n FROM deliveries WHERE status = 'delivering'").get() as { n: number }).n;
  db.close();
  expect(leased).toBeGreaterThan(1_025);
  await restartAndExpectAll(dir, receiver, published, 40_000);
}, 90_000);
