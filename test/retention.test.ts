// Retention: finished events older than `retention.keep` go, with their
// deliveries and attempts; anything still pending stays, whatever its age.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

describeOnEachStore("retention", () => {
  let up: Receiver;
  let herald: TestHerald;
  beforeAll(async () => {
    up = startReceiver();
    herald = await startHerald(
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
  });
  afterAll(async () => {
    await herald.stop();
    await up.stop();
  });

  it("deletes finished events older than keep, and keeps unfinished ones", async () => {
    const old = (await herald.api("POST", "/v1/events", { type: "t", data: { age: "old" } })).body.id;
    await herald.app.engine.idle();
    const [oldDelivery] = (await herald.api("GET", `/v1/events/${old}`)).body.deliveries;
    expect((await herald.app.store.log.attemptsOf(oldDelivery.id)).length).toBe(1);
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
    // Its delivery and that delivery's attempts went with it.
    expect(await herald.app.store.log.getDelivery(oldDelivery.id)).toBeNull();
    expect(await herald.app.store.log.attemptsOf(oldDelivery.id)).toEqual([]);
  });
});
