// The heart of Herald end to end: a signed webhook that fails, is retried on
// the schedule (driven by an injected clock), and succeeds.
import { afterEach, describe, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, secretOf, verifyWithStandardWebhooks, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

describeOnEachStore("retries", () => {
  let herald: TestHerald;
  let receiver: Receiver;
  afterEach(async () => {
    await herald?.stop();
    await receiver?.stop();
  });

  async function setup(script: Parameters<typeof startReceiver>[0], delivery: Record<string, unknown> = {}, fallback?: Parameters<typeof startReceiver>[1]) {
    receiver = startReceiver(script, fallback);
    herald = await startHerald(
      testConfig({
        delivery: { retry_schedule: ["5s", "5m", "30m"], ...delivery },
        event_types: [{ name: "order.created" }],
        destinations: [{ id: "shop", url: receiver.url, headers: { "x-auth-token": "s3cret-static" } }],
        subscriptions: [{ id: "shop-all", destination: "shop", event_types: ["order.*"] }],
      }),
    );
  }

  async function publish(data: unknown = { order: 1 }) {
    const res = await herald.api("POST", "/v1/events", { type: "order.created", data });
    expect(res.status).toBe(202);
    return res.body.id as string;
  }

  /** Moves the clock, runs the sweep as the timer would, and waits for the sends it starts. */
  async function sweepAt(msLater: number) {
    herald.clock.advance(msLater);
    await herald.app.engine.sweeper.runOnce(herald.clock.now());
    await herald.app.engine.idle();
  }

  describe("delivery with retries", () => {
    it("answers 500, 500, 200: three attempts on the schedule, then succeeded", async () => {
      await setup([{ status: 500 }, { status: 500 }, { status: 200 }]);
      const start = herald.clock.now();
      const eventId = await publish({ order: 42 });
      await receiver.waitFor(1);
      await herald.app.engine.idle();

      let [delivery] = (await herald.api("GET", `/v1/deliveries?status=pending`)).body.data;
      expect(delivery.event_id).toBe(eventId);
      expect(delivery.attempt_count).toBe(1);
      // random() = 0.5 means no jitter: the first retry is due exactly 5 s later.
      expect(Date.parse(delivery.next_attempt_at) - start).toBe(5_000);

      await sweepAt(4_000); // not yet due
      expect(receiver.requests.length).toBe(1);
      await sweepAt(1_000);
      expect(receiver.requests.length).toBe(2);
      await sweepAt(5 * 60_000 - 1);
      expect(receiver.requests.length).toBe(2);
      await sweepAt(1);
      expect(receiver.requests.length).toBe(3);

      const detail = (await herald.api("GET", `/v1/deliveries/${delivery.id}`)).body;
      expect(detail.status).toBe("succeeded");
      expect(detail.attempts.map((a: any) => a.response.status)).toEqual([500, 500, 200]);
      expect(detail.attempts.map((a: any) => a.number)).toEqual([1, 2, 3]);

      // Every request verifies with the independent library and carries the same webhook-id.
      const secret = await secretOf(herald, "shop");
      for (const request of receiver.requests) {
        expect(request.headers["webhook-id"]).toBe(eventId);
        expect(verifyWithStandardWebhooks(secret, request)).toEqual({ type: "order.created", timestamp: expect.any(String), data: { order: 42 } });
        expect(request.headers["x-auth-token"]).toBe("s3cret-static");
        expect(request.headers["content-type"]).toBe("application/json");
        expect(request.headers["user-agent"]).toMatch(/^Herald\//);
      }
      // Each attempt is signed at its own time.
      const stamps = receiver.requests.map((r) => Number(r.headers["webhook-timestamp"]));
      expect(stamps[2]! - stamps[0]!).toBe(305);
    });

    it("logs each attempt with its request, the response, and secrets redacted", async () => {
      await setup([{ status: 500, body: "x".repeat(10_000), headers: { "x-reason": "busy" } }], { keep_response_bytes: 100 });
      await publish();
      await receiver.waitFor(1);
      await herald.app.engine.idle();
      const [delivery] = (await herald.api("GET", "/v1/deliveries")).body.data;
      const [attempt] = (await herald.api("GET", `/v1/deliveries/${delivery.id}`)).body.attempts;
      expect(attempt.response.status).toBe(500);
      expect(attempt.response.body).toBe("x".repeat(100));
      expect(attempt.response.headers["x-reason"]).toBe("busy");
      expect(attempt.request.url).toBe(receiver.url);
      expect(attempt.request.headers["webhook-signature"]).toBe("[redacted]");
      expect(attempt.request.headers["x-auth-token"]).toBe("[redacted]");
      expect(attempt.error).toBe("HTTP 500");
      expect(typeof attempt.duration_ms).toBe("number");
      expect(JSON.stringify(attempt)).not.toContain("s3cret-static");
    });

    it("fails the delivery when the schedule is exhausted", async () => {
      await setup([], { retry_schedule: ["5s"] }, { status: 503 });
      await publish();
      await receiver.waitFor(1);
      await herald.app.engine.idle();
      await sweepAt(5_000);
      const [delivery] = (await herald.api("GET", "/v1/deliveries")).body.data;
      expect(delivery.status).toBe("failed");
      expect(delivery.attempt_count).toBe(2);
      expect(delivery.finalized_at).not.toBeNull();
    });

    it("applies ±20% jitter to each delay", async () => {
      await setup([{ status: 500 }]);
      await herald.stop();
      herald = await startHerald(herald.app.config, { random: () => 1 }); // the largest jitter: +20%
      const start = herald.clock.now();
      await publish();
      await receiver.waitFor(1);
      await herald.app.engine.idle();
      const [delivery] = (await herald.api("GET", "/v1/deliveries")).body.data;
      expect(Date.parse(delivery.next_attempt_at) - start).toBe(6_000);
    });

    it("retries a failed delivery by hand with the same webhook-id", async () => {
      await setup([{ status: 500 }, { status: 200 }], { retry_schedule: [] });
      const eventId = await publish();
      await receiver.waitFor(1);
      await herald.app.engine.idle();
      const [delivery] = (await herald.api("GET", "/v1/deliveries?status=failed")).body.data;
      const retried = await herald.api("POST", `/v1/deliveries/${delivery.id}/retry`);
      expect(retried.status).toBe(202);
      await receiver.waitFor(2);
      await herald.app.engine.idle();
      const after = (await herald.api("GET", `/v1/deliveries/${delivery.id}`)).body;
      expect(after.status).toBe("succeeded");
      expect(after.attempts.length).toBe(2);
      expect(receiver.requests[1]!.headers["webhook-id"]).toBe(eventId);
      expect((await herald.api("POST", "/v1/deliveries/dlv_nope/retry")).status).toBe(404);
    });
  });
});
