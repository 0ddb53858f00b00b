// A manual retry (POST /v1/deliveries/{id}/retry) acts only within the token's
// tenant: another tenant's delivery is a 404 and is left as it was, while the
// owner's is leased and answered as leased; one being sent is a 409.
import { afterEach, describe, expect, it } from "bun:test";
import { startReceiver, type Answer, type Receiver } from "./support/receiver.ts";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";

let herald: TestHerald;
let receiver: Receiver;
afterEach(async () => {
  await herald?.stop();
  await receiver?.stop();
});

/** Acme's destination and subscription, and one published event's delivery id. */
async function acmeDelivery(script: Answer[], fallback?: Answer): Promise<string> {
  receiver = startReceiver(script, fallback);
  herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), delivery: { retry_schedule: [] }, event_types: [{ name: "order.created" }] }));
  const destination = await herald.api("POST", "/v1/destinations", { url: receiver.url }, { token: ACME_TOKEN });
  expect(destination.status).toBe(201);
  expect((await herald.api("POST", "/v1/subscriptions", { destination_id: destination.body.id, event_types: ["order.*"] }, { token: ACME_TOKEN })).status).toBe(201);
  const published = await herald.api("POST", "/v1/events", { type: "order.created", data: {} }, { token: ACME_TOKEN });
  expect(published.status).toBe(202);
  await receiver.waitFor(1);
  const [delivery] = (await herald.api("GET", `/v1/deliveries?event_id=${published.body.id}`, undefined, { token: ADMIN_TOKEN })).body.data;
  return delivery.id;
}

describe("a manual retry", () => {
  it("answers 404 to another tenant's token and leaves the delivery as it was", async () => {
    const id = await acmeDelivery([{ status: 500 }]);
    await herald.app.engine.idle();
    const before = (await herald.api("GET", `/v1/deliveries/${id}`)).body;
    expect(before.status).toBe("failed");

    const refused = await herald.api("POST", `/v1/deliveries/${id}/retry`, undefined, { token: GLOBEX_TOKEN });
    expect(refused).toEqual({ status: 404, body: { error: "not_found", message: `delivery ${id} does not exist` } });
    await herald.app.engine.idle();
    expect((await herald.api("GET", `/v1/deliveries/${id}`)).body).toEqual(before);
    expect(receiver.requests.length).toBe(1);
  });

  it("lets the owning tenant retry, answering with the delivery as leased", async () => {
    const id = await acmeDelivery([{ status: 500 }]);
    await herald.app.engine.idle();
    const retried = await herald.api("POST", `/v1/deliveries/${id}/retry`, undefined, { token: ACME_TOKEN });
    expect(retried.status).toBe(202);
    expect(retried.body).toMatchObject({ id, tenant: "acme", status: "delivering", attempt_count: 1, next_attempt_at: null, finalized_at: null });
    await receiver.waitFor(2);
    await herald.app.engine.idle();
    expect((await herald.api("GET", `/v1/deliveries/${id}`, undefined, { token: ACME_TOKEN })).body.status).toBe("succeeded");
  });

  it("answers 409 while the delivery is being sent", async () => {
    const id = await acmeDelivery([], { status: 200, delay_ms: 300 });
    const refused = await herald.api("POST", `/v1/deliveries/${id}/retry`, undefined, { token: ACME_TOKEN });
    expect(refused).toEqual({
      status: 409,
      body: { error: "conflict", message: `delivery ${id} is being sent right now; try again when this attempt ends` },
    });
    await herald.app.engine.idle();
    expect(receiver.requests.length).toBe(1);
  });
});
