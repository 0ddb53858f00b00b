// POST /v1/deliveries/retry: many failed deliveries retried at once, by ids or by
// filter, within the token's tenant; the answer counts what was queued and
// skipped, the receiver gets exactly those, and the change is audited.
import { afterEach, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { ACME_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

let herald: TestHerald;
let receiver: Receiver;
afterEach(async () => {
  await herald?.stop();
  await receiver?.stop();
});

/** Acme's destination with `n` failed deliveries (no retries: a 500 fails at once), and globex's with one. */
async function failedDeliveries(n: number): Promise<{ acme: string[]; globex: string; destination: string }> {
  receiver = startReceiver(Array.from({ length: n + 1 }, () => ({ status: 500 })), { status: 200 });
  herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), delivery: { retry_schedule: [] }, event_types: [{ name: "order.created" }, { name: "order.paid" }] }));
  const setUp = async (token: string) => {
    const destination = await herald.api("POST", "/v1/destinations", { url: receiver.url }, { token });
    expect((await herald.api("POST", "/v1/subscriptions", { destination_id: destination.body.id, event_types: ["order.*"] }, { token })).status).toBe(201);
    return destination.body.id as string;
  };
  const destination = await setUp(ACME_TOKEN);
  const globexDestination = await setUp(GLOBEX_TOKEN);
  for (let i = 0; i < n; i++) expect((await herald.api("POST", "/v1/events", { type: i === 0 ? "order.paid" : "order.created", data: { i } }, { token: ACME_TOKEN })).status).toBe(202);
  expect((await herald.api("POST", "/v1/events", { type: "order.created", data: {} }, { token: GLOBEX_TOKEN })).status).toBe(202);
  await receiver.waitFor(n + 1);
  await herald.app.engine.idle();
  const failed = async (destination_id: string) =>
    (await herald.api("GET", `/v1/deliveries?status=failed&destination_id=${destination_id}`)).body.data.map((d: { id: string }) => d.id) as string[];
  const acme = await failed(destination);
  expect(acme).toHaveLength(n);
  const [globex] = await failed(globexDestination);
  return { acme, globex: globex!, destination };
}

const statusOf = async (id: string) => (await herald.api("GET", `/v1/deliveries/${id}`)).body.status;

describeOnEachStore("bulk retry", () => {
  it("retries 3 failed deliveries by id: 3 are sent, and what is not the caller's or not failed is skipped", async () => {
    const { acme, globex } = await failedDeliveries(4);
    const [a, b, c, untouched] = acme;
    const answer = await herald.api("POST", "/v1/deliveries/retry", { ids: [a, b, c, c, globex, "dlv_unknown"] }, { token: ACME_TOKEN });
    // c twice counts once; globex's is another tenant's, so skipped like an unknown id.
    expect(answer).toEqual({ status: 200, body: { queued: 3, skipped: 2 } });
    await receiver.waitFor(5 + 3);
    await herald.app.engine.idle();
    expect(receiver.requests).toHaveLength(8);
    for (const id of [a, b, c]) expect(await statusOf(id!)).toBe("succeeded");
    expect(await statusOf(untouched!)).toBe("failed");
    expect(await statusOf(globex)).toBe("failed");
    // Retried again: nothing is failed any more, so all skipped and nothing sent.
    expect((await herald.api("POST", "/v1/deliveries/retry", { ids: [a, b, c] }, { token: ACME_TOKEN })).body).toEqual({ queued: 0, skipped: 3 });
  });

  it("retries every failed delivery matching a filter, only within the token's tenant", async () => {
    const { acme, globex, destination } = await failedDeliveries(3);
    const byType = await herald.api("POST", "/v1/deliveries/retry", { filter: { status: "failed", destination_id: destination, event_type: "order.paid" } }, { token: ACME_TOKEN });
    expect(byType.body).toEqual({ queued: 1, skipped: 0 });
    const all = await herald.api("POST", "/v1/deliveries/retry", { filter: { status: "failed" } }, { token: ACME_TOKEN });
    expect(all.body).toEqual({ queued: 2, skipped: 0 });
    await receiver.waitFor(4 + 3);
    await herald.app.engine.idle();
    for (const id of acme) expect(await statusOf(id)).toBe("succeeded");
    expect(await statusOf(globex)).toBe("failed");
    // A filter naming another tenant is refused for a tenant token.
    expect((await herald.api("POST", "/v1/deliveries/retry", { filter: { status: "failed", tenant: "globex" } }, { token: ACME_TOKEN })).status).toBe(403);
  });

  it("records one audit entry per bulk retry, naming the caller and how many were queued", async () => {
    const { acme } = await failedDeliveries(2);
    await herald.api("POST", "/v1/deliveries/retry", { ids: acme }, { token: ACME_TOKEN });
    const entries = (await herald.api("GET", "/v1/audit?action=deliveries.retried")).body.data;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ action: "deliveries.retried", actor: { type: "token", name: "acme" }, tenant: "acme", changes: { queued: { from: null, to: 2 } } });
    // A filter's entry names the filter (times in milliseconds, as every entry keeps them).
    const since = "2020-01-01T00:00:00.000Z";
    await herald.api("POST", "/v1/deliveries/retry", { filter: { status: "failed", event_type: "order.paid", since } }, { token: ACME_TOKEN });
    const [byFilter] = (await herald.api("GET", "/v1/audit?action=deliveries.retried")).body.data;
    expect(byFilter.changes.filter).toEqual({ from: null, to: { status: "failed", event_type: "order.paid", since: Date.parse(since) } });
  });

  it("refuses more than 1000 ids, no ids, and a filter for anything but failed deliveries", async () => {
    await failedDeliveries(1);
    const many = Array.from({ length: 1001 }, (_, i) => `dlv_${i}`);
    expect((await herald.api("POST", "/v1/deliveries/retry", { ids: many })).status).toBe(400);
    expect((await herald.api("POST", "/v1/deliveries/retry", { ids: [] })).status).toBe(400);
    expect((await herald.api("POST", "/v1/deliveries/retry", { filter: { status: "succeeded" } })).status).toBe(400);
    expect((await herald.api("POST", "/v1/deliveries/retry", { filter: { status: "failed", since: "2030-01-02T00:00:00Z", until: "2030-01-01T00:00:00Z" } })).status).toBe(400);
    expect((await herald.api("POST", "/v1/deliveries/retry", {})).status).toBe(400);
  });
});
