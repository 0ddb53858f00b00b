// DESIGN §3's outcome rules against a real receiver: 410 Gone, Retry-After,
// redirects, timeouts, and a destination that is disabled.
import { afterEach, describe, expect, it } from "bun:test";
import { startReceiver, type Answer, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";

let herald: TestHerald;
let receiver: Receiver;
afterEach(async () => {
  await herald?.stop();
  await receiver?.stop();
});

async function deliverOnce(script: Answer[], deliverySettings: Record<string, unknown> = {}) {
  receiver = startReceiver(script);
  herald = await startHerald(
    testConfig({
      delivery: deliverySettings,
      event_types: [{ name: "user.deleted" }],
      destinations: [{ id: "crm", url: receiver.url }],
      subscriptions: [{ id: "crm-all", destination: "crm", event_types: ["*"] }],
    }),
  );
  const published = await herald.api("POST", "/v1/events", { type: "user.deleted", data: { id: 7 } });
  expect(published.status).toBe(202);
  await receiver.waitFor(1);
  await herald.app.engine.idle();
  const [delivery] = (await herald.api("GET", "/v1/deliveries")).body.data;
  return (await herald.api("GET", `/v1/deliveries/${delivery.id}`)).body;
}

describe("outcome rules", () => {
  it("410 Gone fails the delivery and disables the destination", async () => {
    const delivery = await deliverOnce([{ status: 410 }]);
    expect(delivery.status).toBe("failed");
    const destination = (await herald.app.store.catalog.getDestination("crm"))!;
    expect(destination.enabled).toBe(false);
    expect(destination.disabled_reason).toContain("410");
  });

  it("Retry-After: 120 on a 429 delays the next attempt by at least 120 s", async () => {
    const start = Date.now();
    const delivery = await deliverOnce([{ status: 429, headers: { "retry-after": "120" } }]);
    expect(delivery.status).toBe("pending");
    expect(Date.parse(delivery.next_attempt_at) - herald.clock.t).toBeGreaterThanOrEqual(120_000);
    expect(Date.parse(delivery.next_attempt_at) - start).toBeLessThan(121_000 + (Date.now() - start));
  });

  it("Retry-After on a 503 given as an HTTP date is honoured", async () => {
    const when = new Date(Date.now() + 600_000).toUTCString();
    const delivery = await deliverOnce([{ status: 503, headers: { "retry-after": when } }]);
    expect(Date.parse(delivery.next_attempt_at)).toBeGreaterThanOrEqual(Date.parse(when) - 1000);
  });

  it("a redirect is a failure and is not followed", async () => {
    const delivery = await deliverOnce([{ status: 302, headers: { location: "http://127.0.0.1:1/elsewhere" } }]);
    expect(delivery.status).toBe("pending");
    expect(delivery.attempts[0].response.status).toBe(302);
    expect(delivery.attempts[0].error).toContain("redirect");
    expect(receiver.requests.length).toBe(1);
  });

  it("a receiver that never answers times out", async () => {
    const delivery = await deliverOnce([{ hang: true }], { timeout: "300ms" });
    expect(delivery.status).toBe("pending");
    expect(delivery.attempts[0].response).toBeNull();
    expect(delivery.attempts[0].error).toContain("timed out after 300 ms");
    expect(delivery.attempts[0].duration_ms).toBeGreaterThanOrEqual(250);
  });

  it("a connection refused is retried", async () => {
    receiver = startReceiver();
    const url = receiver.url;
    await receiver.stop();
    herald = await startHerald(
      testConfig({
        event_types: [{ name: "a" }],
        destinations: [{ id: "gone", url }],
        subscriptions: [{ id: "s", destination: "gone", event_types: ["a"] }],
      }),
    );
    await herald.api("POST", "/v1/events", { type: "a", data: {} });
    await herald.app.engine.idle();
    const [delivery] = (await herald.api("GET", "/v1/deliveries")).body.data;
    expect(delivery.status).toBe("pending");
    expect(delivery.last_error).toBeTruthy();
    receiver = startReceiver(); // for afterEach
  });

  it("a disabled destination's deliveries wait, pending, until it is enabled", async () => {
    receiver = startReceiver();
    herald = await startHerald(
      testConfig({
        event_types: [{ name: "a" }],
        destinations: [{ id: "d", url: receiver.url }],
        subscriptions: [{ id: "s", destination: "d", event_types: ["a"] }],
      }),
    );
    await herald.app.store.catalog.setDestinationEnabled("d", false, "paused by a test", herald.clock.now());
    await herald.app.engine.catalog.reload();
    await herald.api("POST", "/v1/events", { type: "a", data: {} });
    await herald.app.engine.sweeper.runOnce(herald.clock.advance(60_000));
    await herald.app.engine.idle();
    expect(receiver.requests.length).toBe(0);
    expect((await herald.api("GET", "/v1/deliveries?status=pending")).body.data.length).toBe(1);

    await herald.app.store.catalog.setDestinationEnabled("d", true, null, herald.clock.now());
    await herald.app.engine.catalog.reload();
    await herald.app.engine.sweeper.runOnce(herald.clock.now());
    await receiver.waitFor(1);
    await herald.app.engine.idle();
    expect((await herald.api("GET", "/v1/deliveries?status=succeeded")).body.data.length).toBe(1);
  });

  it("a destination failing longer than disable_after is disabled by the sweep", async () => {
    const delivery = await deliverOnce([], { disable_after: "1h", retry_schedule: ["10m", "10m", "10m", "10m", "10m", "10m", "10m", "10m"] });
    expect(delivery.status).toBe("succeeded");
    await receiver.stop();
    receiver = startReceiver([], { status: 500 });
    await herald.app.store.catalog.saveDestination({ ...(await herald.app.store.catalog.getDestination("crm"))!, url: receiver.url });
    await herald.app.engine.catalog.reload();
    await herald.api("POST", "/v1/events", { type: "user.deleted", data: {} });
    await herald.app.engine.idle();
    for (let i = 0; i < 7; i++) {
      await herald.app.engine.sweeper.runOnce(herald.clock.advance(10 * 60_000));
      await herald.app.engine.idle();
    }
    const destination = (await herald.app.store.catalog.getDestination("crm"))!;
    expect(destination.enabled).toBe(false);
    expect(destination.disabled_reason).toContain("failing since");
  });
});
