// GET /v1/stats/destinations: many destinations' stats in one request, on every
// store. Each answer equals what GET /v1/destinations/{id}/stats answers for
// that destination; a tenant token gets only its tenant's, unknown and other
// tenants' ids are left out alike; at most 100 ids; bad input is a 400 naming its field.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { ACME_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

describeOnEachStore("many destinations' stats in one request", () => {
  let herald: TestHerald;
  let ok: Receiver;
  let failing: Receiver;
  const since = () => new Date(herald.clock.now() - 3_600_000).toISOString();
  const until = () => new Date(herald.clock.now() + 1).toISOString();

  /** A destination of the token's tenant with the given id, subscribed to every event type. */
  async function destination(token: string, id: string, url: string, subscribed = true) {
    expect((await herald.api("POST", "/v1/destinations", { id, url }, { token })).status).toBe(201);
    if (subscribed) expect((await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["*"] }, { token })).status).toBe(201);
  }
  const publish = async (token: string, n: number) => {
    for (let i = 0; i < n; i++) expect((await herald.api("POST", "/v1/events", { type: "order.created", data: { i } }, { token })).status).toBe(202);
  };
  const many = (query: string, token?: string) => herald.api("GET", `/v1/stats/destinations?${query}`, undefined, token ? { token } : {});

  beforeAll(async () => {
    ok = startReceiver([], { status: 200 });
    failing = startReceiver([], { status: 500 });
    herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), event_types: [{ name: "order.created" }], delivery: { retry_schedule: ["1h"] } }));
    // acme: one that succeeds, one that fails and waits to retry, one with nothing sent; globex: one that succeeds.
    await destination(ACME_TOKEN, "acme-ok", ok.url);
    await destination(ACME_TOKEN, "acme-failing", failing.url);
    await destination(ACME_TOKEN, "acme-idle", ok.url, false);
    await destination(GLOBEX_TOKEN, "globex-ok", ok.url);
    await publish(ACME_TOKEN, 3);
    await publish(GLOBEX_TOKEN, 2);
    await ok.waitFor(5);
    await failing.waitFor(3);
    await herald.app.engine.idle();
  });
  afterAll(async () => {
    await herald?.stop();
    await ok?.stop();
    await failing?.stop();
  });

  it("answers, for each destination, what its own stats route answers", async () => {
    const ids = ["acme-ok", "acme-failing", "acme-idle", "globex-ok"];
    const window = `since=${encodeURIComponent(since())}&until=${encodeURIComponent(until())}`;
    const res = await many(`ids=${ids.join(",")}&${window}`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((s: { destination_id: string }) => s.destination_id)).toEqual(ids);
    for (const [i, id] of ids.entries()) {
      const one = await herald.api("GET", `/v1/destinations/${id}/stats?${window}`);
      expect(one.status).toBe(200);
      expect(res.body.data[i]).toEqual(one.body);
    }
    // What each holds, so that equal answers are not merely equally empty.
    const [acmeOk, acmeFailing, acmeIdle, globexOk] = res.body.data;
    expect(acmeOk).toMatchObject({ counts: { succeeded: 3, pending: 0 }, retrying: 0, success_rate: 1, last_error: null });
    expect(acmeOk.last_success_at).not.toBeNull();
    expect(acmeFailing).toMatchObject({ counts: { succeeded: 0, pending: 3 }, retrying: 3, success_rate: 0, last_success_at: null });
    expect(acmeFailing.last_failure_at).not.toBeNull();
    expect(acmeFailing.last_error).toContain("500");
    expect(acmeIdle).toMatchObject({ counts: { pending: 0, delivering: 0, succeeded: 0, failed: 0, cancelled: 0 }, retrying: 0, success_rate: null });
    expect(globexOk).toMatchObject({ counts: { succeeded: 2 }, success_rate: 1 });
  });

  it("takes the same default window as the per-destination route", async () => {
    const res = await many("ids=acme-ok,acme-failing");
    expect(res.status).toBe(200);
    expect(res.body.data.map((s: { destination_id: string }) => s.destination_id)).toEqual(["acme-ok", "acme-failing"]);
    for (const stats of res.body.data) expect(stats).toEqual((await herald.api("GET", `/v1/destinations/${stats.destination_id}/stats`)).body);
  });

  it("answers a tenant token only its tenant's destinations: another tenant's and unknown ids are left out alike", async () => {
    const acme = await many("ids=globex-ok,acme-ok,no-such-destination,acme-idle", ACME_TOKEN);
    expect(acme.status).toBe(200);
    expect(acme.body.data.map((s: { destination_id: string }) => s.destination_id)).toEqual(["acme-ok", "acme-idle"]);
    const globex = await many("ids=acme-ok,acme-failing", GLOBEX_TOKEN);
    expect(globex.status).toBe(200);
    expect(globex.body).toEqual({ data: [] });
  });

  it("answers each id once, however often it is named, and takes ids repeated as well as comma-separated", async () => {
    const res = await many("ids=acme-ok,acme-ok,acme-idle,acme-ok");
    expect(res.body.data.map((s: { destination_id: string }) => s.destination_id)).toEqual(["acme-ok", "acme-idle"]);
    const repeated = await many("ids=acme-ok&ids=acme-idle");
    expect(repeated.body.data.map((s: { destination_id: string }) => s.destination_id)).toEqual(["acme-ok", "acme-idle"]);
    // Both forms at once, in either order.
    for (const query of ["ids=acme-ok&ids=acme-idle,acme-failing", "ids=acme-ok,acme-idle&ids=acme-failing"]) {
      const both = await many(query);
      expect({ query, status: both.status }).toEqual({ query, status: 200 });
      expect(both.body.data.map((s: { destination_id: string }) => s.destination_id)).toEqual(["acme-ok", "acme-idle", "acme-failing"]);
    }
    // 101 names of one destination name one.
    expect((await many(`ids=${Array(101).fill("acme-ok").join(",")}`)).status).toBe(200);
  });

  it("takes 100 ids of the longest kind, and refuses 101 with a 400 naming ids", async () => {
    const longest = (i: number) => `${String(i).padStart(3, "0")}${"x".repeat(61)}`;
    const hundred = [...Array.from({ length: 99 }, (_, i) => longest(i)), "acme-ok"];
    const res = await many(`ids=${hundred.join(",")}`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((s: { destination_id: string }) => s.destination_id)).toEqual(["acme-ok"]);

    const refused = await many(`ids=${[...hundred, "acme-idle"].join(",")}`);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe("invalid_request");
    expect(refused.body.message).toContain("at most 100");
    expect(refused.body.details[0].path).toBe("ids");
  });

  it("refuses bad input with a 400 naming the field", async () => {
    for (const [query, path] of [
      ["", "ids"],
      ["ids=", "ids"],
      ["ids=acme-ok,,acme-idle", "ids[1]"],
      ["ids=acme-ok,not%20an%20id", "ids[1]"],
      [`ids=${"x".repeat(65)}`, "ids[0]"],
      ["ids=%5B%5D", "ids"],
      ["ids=acme-ok&since=yesterday", "since"],
      ["ids=acme-ok&until=2026-13-01T00:00:00Z", "until"],
      ["ids=acme-ok&tenant=acme", "tenant"],
      ["ids=[1,2]", "ids"],
      ["ids={}", "ids"],
    ] as const) {
      const res = await many(query);
      expect({ query, status: res.status, error: res.body.error }).toEqual({ query, status: 400, error: "invalid_request" });
      expect({ query, path: res.body.details?.[0]?.path }).toEqual({ query, path });
    }
  });
});
