// Retention: finished events older than `retention.keep` go, with their
// deliveries and attempts; anything still pending stays, whatever its age.
import { afterAll, expect, it } from "bun:test";
import { startReceiver } from "./support/receiver.ts";
import { sqliteOf, startHerald, testConfig } from "./support/herald.ts";

const up = startReceiver();
const herald = await startHerald(
  testConfig({
    retention: { keep: "1d" },
    event_types: [{ name: "t" }],
    destinations: [
      { id: "up", url: up.url },
      { id: "paused", url: up.url, enabled: false },
    ],
    subscriptions: [
      { id: "up", destination: "up", event_types: ["t"] },
      { id: "paused", destination: "paused", event_types: ["t"], enabled: false },
    ],
  }),
);
afterAll(async () => {
  await herald.stop();
  await up.stop();
});

it("deletes finished events older than keep, and keeps unfinished ones", async () => {
  const old = (await herald.api("POST", "/v1/events", { type: "t", data: { age: "old" } })).body.id;
  await herald.app.engine.idle();
  // An old event whose delivery is still pending must survive.
  await herald.app.store.catalog.saveSubscription({ ...(await herald.app.store.catalog.getSubscription("paused"))!, enabled: true });
  await herald.app.engine.catalog.reload();
  const stuck = (await herald.api("POST", "/v1/events", { type: "t", data: { age: "old, pending" } })).body.id;
  await herald.app.engine.idle();
  herald.clock.advance(2 * 86_400_000);
  const fresh = (await herald.api("POST", "/v1/events", { type: "t", data: { age: "new" } })).body.id;
  await herald.app.engine.idle();

  const deleted = await herald.app.engine.retention.runOnce(herald.clock.now());
  expect(deleted).toBe(1);
  expect((await herald.api("GET", `/v1/events/${old}`)).status).toBe(404);
  expect((await herald.api("GET", `/v1/events/${stuck}`)).status).toBe(200);
  expect((await herald.api("GET", `/v1/events/${fresh}`)).status).toBe(200);
  const orphans = sqliteOf(herald.app).query("SELECT count(*) AS n FROM attempts WHERE delivery_id NOT IN (SELECT id FROM deliveries)").get() as { n: number };
  expect(orphans.n).toBe(0);
});
