// Destination operations end to end: secret rotation (checked by two
// independent verifiers), test sends, recovery of failed deliveries, and
// Herald's own operational events.
import { afterEach, describe, expect, it } from "bun:test";
import { Webhook } from "standardwebhooks";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, verifyWithStandardWebhooks, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

describeOnEachStore("operations", () => {
  let herald: TestHerald;
  const receivers: Receiver[] = [];
  const receiver = (...args: Parameters<typeof startReceiver>) => {
    const r = startReceiver(...args);
    receivers.push(r);
    return r;
  };
  afterEach(async () => {
    await herald?.stop();
    for (const r of receivers.splice(0)) await r.stop();
  });

  async function start(extra: Record<string, unknown> = {}) {
    herald = await startHerald(testConfig({ event_types: [{ name: "order.paid", example: { order: 1 } }], ...extra }));
    return herald;
  }

  async function createDestination(url: string, extra: Record<string, unknown> = {}) {
    const res = await herald.api("POST", "/v1/destinations", { url, ...extra });
    expect(res.status).toBe(201);
    const sub = await herald.api("POST", "/v1/subscriptions", { destination_id: res.body.id, event_types: ["order.*"] });
    expect(sub.status).toBe(201);
    return res.body as { id: string; secret: string };
  }

  describe("secret rotation", () => {
    it("signs with both secrets during the grace period, then only the new one", async () => {
      const r = receiver();
      await start();
      const { id, secret: oldSecret } = await createDestination(r.url);
      const rotated = await herald.api("POST", `/v1/destinations/${id}/rotate-secret`, { grace_period: "1h" });
      expect(rotated.status).toBe(200);
      const newSecret = rotated.body.secret as string;
      expect(newSecret).not.toBe(oldSecret);
      expect((await herald.api("GET", `/v1/destinations/${id}/secret`)).body.secret).toBe(newSecret);

      await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 1 } });
      const [during] = await r.waitFor(1);
      expect(during!.headers["webhook-signature"]!.split(" ").length).toBe(2);
      // A receiver holding either secret verifies the message.
      expect(verifyWithStandardWebhooks(oldSecret, during!)).toMatchObject({ data: { n: 1 } });
      expect(verifyWithStandardWebhooks(newSecret, during!)).toMatchObject({ data: { n: 1 } });

      herald.clock.advance(3_600_001);
      await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 2 } });
      const after = (await r.waitFor(2))[1]!;
      expect(after.headers["webhook-signature"]!.split(" ").length).toBe(1);
      expect(verifyWithStandardWebhooks(newSecret, after)).toMatchObject({ data: { n: 2 } });
      expect(() => verifyWithStandardWebhooks(oldSecret, after)).toThrow();
    });

    it("accepts a given secret, refuses a grace period over 7 days", async () => {
      await start();
      const { id } = await createDestination("http://127.0.0.1:9/");
      const mine = "whsec_" + Buffer.alloc(32, 7).toString("base64");
      expect((await herald.api("POST", `/v1/destinations/${id}/rotate-secret`, { secret: mine })).body.secret).toBe(mine);
      const tooLong = await herald.api("POST", `/v1/destinations/${id}/rotate-secret`, { grace_period: "8d" });
      expect(tooLong.status).toBe(400);
      expect(tooLong.body.details[0].path).toBe("grace_period");
    });
  });

  describe("test sends", () => {
    it("sends the event type's example now and answers with the attempt", async () => {
      const r = receiver([{ status: 201, body: "thanks" }]);
      await start();
      const { id, secret } = await createDestination(r.url);
      const res = await herald.api("POST", `/v1/destinations/${id}/test`, {});
      expect(res.status).toBe(200);
      expect(res.body.ok).toBe(true);
      expect(res.body.attempt.response.status).toBe(201);
      expect(res.body.attempt.response.body).toBe("thanks");
      expect(verifyWithStandardWebhooks(secret, r.requests[0]!)).toMatchObject({ type: "order.paid", data: { order: 1 } });
      // Test sends stay out of the delivery log.
      expect((await herald.api("GET", "/v1/deliveries")).body.data).toEqual([]);
    });

    it("reports a failing endpoint's answer", async () => {
      const r = receiver([{ status: 500, body: "boom" }]);
      await start();
      const { id } = await createDestination(r.url);
      const res = await herald.api("POST", `/v1/destinations/${id}/test`, { data: { custom: true } });
      expect(res.body.ok).toBe(false);
      expect(res.body.attempt.response.status).toBe(500);
      expect(JSON.parse(r.requests[0]!.body).data).toEqual({ custom: true });
    });
  });

  describe("recovery", () => {
    it("re-queues only the failed deliveries inside the window, keeping their webhook-id", async () => {
      const r = receiver([], { status: 500 });
      await start({ delivery: { retry_schedule: [] } });
      const { id } = await createDestination(r.url);
      const early = (await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: "early" } })).body.id;
      await herald.app.engine.idle();
      herald.clock.advance(60 * 60_000);
      const windowStart = new Date(herald.clock.now()).toISOString();
      const late = (await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: "late" } })).body.id;
      await herald.app.engine.idle();
      expect((await herald.api("GET", `/v1/deliveries?status=failed`)).body.data.length).toBe(2);

      const sent = r.requests.length;
      const res = await herald.api("POST", `/v1/destinations/${id}/recover`, { since: windowStart });
      expect(res.body.requeued).toBe(1);
      await herald.app.engine.sweeper.runOnce(herald.clock.now());
      await r.waitFor(sent + 1);
      await herald.app.engine.idle();
      expect(r.requests.at(-1)!.headers["webhook-id"]).toBe(late);
      expect(r.requests.filter((q) => q.headers["webhook-id"] === early).length).toBe(1);
    });

    it("enabling a destination resumes its pending deliveries", async () => {
      const r = receiver();
      await start();
      const { id } = await createDestination(r.url);
      await herald.api("POST", `/v1/destinations/${id}/disable`);
      await herald.api("POST", "/v1/events", { type: "order.paid", data: {} });
      await herald.app.engine.idle();
      expect(r.requests.length).toBe(0);
      await herald.api("POST", `/v1/destinations/${id}/enable`);
      await r.waitFor(1);
    });
  });

  describe("operational events", () => {
    it("a 410 publishes herald.destination.disabled to its subscribers", async () => {
      const gone = receiver([{ status: 410 }]);
      const ops = receiver();
      await start();
      const { id } = await createDestination(gone.url);
      const watcher = await herald.api("POST", "/v1/destinations", { url: ops.url });
      await herald.api("POST", "/v1/subscriptions", { destination_id: watcher.body.id, event_types: ["herald.destination.*"] });
      await herald.api("POST", "/v1/events", { type: "order.paid", data: {} });
      const [message] = await ops.waitFor(1);
      const body = new Webhook(watcher.body.secret).verify(message!.body, message!.headers as never) as any;
      expect(body.type).toBe("herald.destination.disabled");
      expect(body.data).toMatchObject({ destination_id: id, reason: expect.stringContaining("410") });
    });

    it("publishes herald.delivery.exhausted when the schedule runs out", async () => {
      const down = receiver([], { status: 500 });
      const ops = receiver();
      await start({ delivery: { retry_schedule: ["1s"] } });
      await createDestination(down.url);
      const watcher = await herald.api("POST", "/v1/destinations", { url: ops.url });
      await herald.api("POST", "/v1/subscriptions", { destination_id: watcher.body.id, event_types: ["herald.delivery.exhausted"] });
      const event = (await herald.api("POST", "/v1/events", { type: "order.paid", data: {} })).body.id;
      await herald.app.engine.idle();
      await herald.app.engine.sweeper.runOnce(herald.clock.advance(1_000));
      const [message] = await ops.waitFor(1);
      expect(JSON.parse(message!.body)).toMatchObject({ type: "herald.delivery.exhausted", data: { event_id: event, attempts: 2, last_error: "HTTP 500" } });
    });

    it("publishes failing on the 4th failure and recovered after a late success", async () => {
      const flaky = receiver([{ status: 500 }, { status: 500 }, { status: 500 }, { status: 500 }, { status: 200 }]);
      const ops = receiver();
      await start({ delivery: { retry_schedule: ["1s", "1s", "1s", "1s", "1s"] } });
      await createDestination(flaky.url);
      const watcher = await herald.api("POST", "/v1/destinations", { url: ops.url });
      await herald.api("POST", "/v1/subscriptions", { destination_id: watcher.body.id, event_types: ["herald.delivery.*"] });
      await herald.api("POST", "/v1/events", { type: "order.paid", data: {} });
      await herald.app.engine.idle();
      for (let i = 0; i < 4; i++) {
        await herald.app.engine.sweeper.runOnce(herald.clock.advance(1_000));
        await herald.app.engine.idle();
      }
      await ops.waitFor(2);
      await herald.app.engine.idle();
      const types = ops.requests.map((q) => JSON.parse(q.body).type);
      expect(types).toEqual(["herald.delivery.failing", "herald.delivery.recovered"]);
    });

    it("a * subscription does not receive Herald's own events", async () => {
      const all = receiver();
      await start();
      const res = await herald.api("POST", "/v1/destinations", { url: all.url });
      await herald.api("POST", "/v1/subscriptions", { destination_id: res.body.id, event_types: ["*"] });
      await herald.api("POST", "/v1/destinations", { url: "http://127.0.0.1:9/" }); // herald.destination.created
      await herald.api("POST", "/v1/events", { type: "order.paid", data: {} });
      await all.waitFor(1);
      await herald.app.engine.idle();
      expect(all.requests.map((q) => JSON.parse(q.body).type)).toEqual(["order.paid"]);
    });
  });

  describe("payload filters", () => {
    it("delivers only the events whose payload matches the subscription's filter", async () => {
      const r = receiver();
      await start({ event_types: [{ name: "sync.completed" }] });
      const d = await herald.api("POST", "/v1/destinations", { url: r.url });
      const sub = await herald.api("POST", "/v1/subscriptions", {
        destination_id: d.body.id,
        event_types: ["sync.*"],
        filter: { type: "sync.completed", "data.status": "failed", "data.rows": { $gte: 10 } },
      });
      expect(sub.status).toBe(201);
      for (const data of [{ status: "ok", rows: 50 }, { status: "failed", rows: 5 }, { status: "failed", rows: 12 }]) {
        await herald.api("POST", "/v1/events", { type: "sync.completed", data });
      }
      await herald.app.engine.idle();
      expect(r.requests.map((q) => JSON.parse(q.body).data)).toEqual([{ status: "failed", rows: 12 }]);
    });
  });
});
