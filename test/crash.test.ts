// At-least-once across a crash: Herald is killed (SIGKILL) while deliveries are
// in flight and restarted on the same database; every acknowledged event arrives.
import { afterAll, expect, it } from "bun:test";
import { missingWebhookIds, startReceiver } from "./support/receiver.ts";
import { SOURCE_SERVE, spawnHerald, spawnSourceHerald } from "./support/process.ts";
import { ADMIN_TOKEN, removeDir, tempDir } from "./support/herald.ts";

const dir = tempDir("herald-crash-");
afterAll(() => removeDir(dir));

it("delivers every acknowledged event after a SIGKILL and a restart", async () => {
  // Slow answers keep many deliveries in flight when the process dies.
  const receiver = startReceiver([], { status: 200, delay_ms: 200 });
  const first = await spawnSourceHerald(dir, ADMIN_TOKEN, {
    delivery: "concurrency: 16",
    resources: `event_types: [ { name: job.done } ]
destinations: [ { id: sink, url: "${receiver.url}" } ]
subscriptions: [ { id: all, destination: sink, event_types: ["*"] } ]
`,
  });
  const published: string[] = [];
  const events = Array.from({ length: 300 }, (_, i) => ({ type: "job.done", data: { i } }));
  for (let i = 0; i < events.length; i += 100) {
    const res = await fetch(`${first.url}/v1/events/batch`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ events: events.slice(i, i + 100) }),
    });
    expect(res.status).toBe(202);
    for (const e of (await res.json()).data) published.push(e.id);
  }
  await receiver.waitFor(5);
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  const beforeRestart = new Set(receiver.requests.map((r) => r.headers["webhook-id"]));
  expect(beforeRestart.size).toBeLessThan(published.length); // it really died mid-way

  const second = await spawnHerald(SOURCE_SERVE, dir);
  try {
    expect(await missingWebhookIds(receiver, published, 25_000)).toEqual([]);
  } finally {
    second.proc.kill("SIGTERM");
    await second.proc.exited;
    await receiver.stop();
  }
}, 60_000);
