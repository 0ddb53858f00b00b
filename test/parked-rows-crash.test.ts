// A move of parked rows cut short: Herald is killed (SIGKILL) with a large
// parked backlog of a disabled destination, the database is left as an enable
// whose move was cut after its first chunk leaves it, and Herald restarts on
// it; every delivery arrives (no row is left parked for a destination that is
// not held).
import { Database } from "bun:sqlite";
import { afterAll, expect, it } from "bun:test";
import { join } from "node:path";
import { missingWebhookIds, startReceiver } from "./support/receiver.ts";
import { SOURCE_SERVE, spawnHerald, spawnSourceHerald } from "./support/process.ts";
import { ADMIN_TOKEN, removeDir, tempDir } from "./support/herald.ts";

const dir = tempDir("herald-park-crash-");
afterAll(() => removeDir(dir));

it("delivers a whole backlog after a restart on a move out of the parked rows cut short (Herald killed with SIGKILL, the move left half done)", async () => {
  const receiver = startReceiver();
  const first = await spawnSourceHerald(dir, ADMIN_TOKEN, { resources: "event_types: [ { name: job.done } ]\n" });
  const api = (url: string, method: string, path: string, body?: unknown) =>
    fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  // Made through the API (not the config, which a restart would apply again): it stays as the API left it.
  expect((await api(first.url, "POST", "/v1/destinations", { id: "sink", url: receiver.url })).status).toBe(201);
  expect((await api(first.url, "POST", "/v1/subscriptions", { id: "all", destination_id: "sink", event_types: ["*"] })).status).toBe(201);
  expect((await api(first.url, "POST", "/v1/destinations/sink/disable", { reason: "paused" })).status).toBe(200);
  // Five settle chunks' worth (2,000 rows each).
  const EVENTS = 10_000;
  const published: string[] = [];
  for (let i = 0; i < EVENTS; i += 500) {
    const events = Array.from({ length: 500 }, (_, k) => ({ type: "job.done", data: { i: i + k } }));
    const res = await api(first.url, "POST", "/v1/events/batch", { events });
    expect(res.status).toBe(202);
    for (const e of (await res.json()).data) published.push(e.id);
  }
  // Killed, then enabled in the file as the enable's own transaction writes it
  // (its trigger starts the move: park_state 3) with the first chunk moved, as
  // a kill in the middle of the move leaves it. Written by hand rather than
  // killed during a live move, which a fast machine could finish first.
  first.proc.kill("SIGKILL");
  await first.proc.exited;
  const db = new Database(join(dir, "herald.db"));
  db.transaction(() => {
    db.query("UPDATE destinations SET enabled = 1, disabled_reason = NULL, failing_since = NULL WHERE id = 'sink'").run();
    db.query(
      `UPDATE deliveries SET parked = 0 WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_parked
         WHERE destination_id = 'sink' AND status = 'pending' AND parked = 1 ORDER BY next_attempt_at, id LIMIT 2000)`,
    ).run();
  })();
  const state = db.query("SELECT park_state FROM destinations WHERE id = 'sink'").get() as { park_state: number };
  const left = (db.query("SELECT count(*) AS n FROM deliveries WHERE parked = 1 AND status = 'pending'").get() as { n: number }).n;
  db.close();
  // Every row was written parked (the destination was disabled at publish); the move is left to do.
  expect({ state: state.park_state, left }).toEqual({ state: 3, left: EVENTS - 2000 });

  const second = await spawnHerald(SOURCE_SERVE, dir);
  try {
    expect(await missingWebhookIds(receiver, published, 60_000)).toEqual([]);
  } finally {
    second.proc.kill("SIGTERM");
    await second.proc.exited;
    await receiver.stop();
  }
}, 120_000);
