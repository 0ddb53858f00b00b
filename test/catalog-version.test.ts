// Two Heralds on one store (DESIGN §7): a catalogue change made through one is
// in force in the other after that one's next sweep, and creates are atomic
// insert-if-absent, so a second writer of the same id gets a 409, never an
// overwrite, and an update never brings back a resource deleted meanwhile.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import type { Destination } from "../src/store/types.ts";
import { ADMIN_TOKEN, removeDir, startHerald, tempDir, TestClock, testConfig, type TestHerald } from "./support/herald.ts";
import { spawnSourceHerald, type HeraldProcess } from "./support/process.ts";
import { startReceiver, type Answer, type Receiver } from "./support/receiver.ts";

describe("two instances on one store", () => {
  let a: TestHerald;
  let b: TestHerald;
  let receiver: Receiver;
  let dir: string;

  afterEach(async () => {
    await a?.stop();
    await b?.stop();
    await receiver?.stop();
    removeDir(dir);
  });

  /** A and B: two apps on one SQLite file and one clock, their sweeps run by hand. */
  async function twoInstances(overrides: Record<string, any> = {}, script: Answer[] = []) {
    dir = tempDir("herald-two-instances-");
    receiver = startReceiver(script);
    const config = testConfig({ event_types: [{ name: "order.created" }], ...overrides }, dir);
    const clock = new TestClock();
    a = await startHerald(config, { clock });
    b = await startHerald(config, { clock });
    return config;
  }

  const publishThroughB = async (type = "order.created") => b.api("POST", "/v1/events", { type, data: { n: 1 } });

  it("uses a destination and a subscription created through A in B's fan-out after B's sweep, not before", async () => {
    await twoInstances();
    expect((await a.api("POST", "/v1/destinations", { id: "shop", url: receiver.url })).status).toBe(201);
    expect((await a.api("POST", "/v1/subscriptions", { id: "shop-orders", destination_id: "shop", event_types: ["order.*"] })).status).toBe(201);

    // B has not swept yet: its catalogue is the one it loaded, without them.
    const early = await publishThroughB();
    expect(early.status).toBe(202);
    expect(early.body.deliveries).toBe(0);

    expect((await b.app.engine.sweeper.runOnce(b.clock.now())).reloaded).toBe(true);
    const late = await publishThroughB();
    expect(late.body.deliveries).toBe(1);
    // B sends it itself, signed with the secret A generated.
    const [request] = await receiver.waitFor(1);
    expect(request!.headers["webhook-id"]).toBe(late.body.id);
    await b.app.engine.idle();
    expect((await b.api("GET", `/v1/events/${late.body.id}`)).body.deliveries[0].status).toBe("succeeded");

    // A sweep with nothing changed reloads nothing.
    expect((await b.app.engine.sweeper.runOnce(b.clock.now())).reloaded).toBe(false);
  });

  it("follows event types, disables and deletes made through A at B's sweep", async () => {
    await twoInstances();
    await a.api("POST", "/v1/destinations", { id: "shop", url: receiver.url });
    await a.api("POST", "/v1/subscriptions", { id: "all", destination_id: "shop", event_types: ["*"] });
    expect((await a.api("POST", "/v1/event-types", { name: "invoice.paid" })).status).toBe(201);
    expect((await publishThroughB("invoice.paid")).status).toBe(400); // not in B's catalogue yet
    await b.app.engine.sweeper.runOnce(b.clock.now());
    expect((await publishThroughB("invoice.paid")).body.deliveries).toBe(1);
    await receiver.waitFor(1);
    await b.app.engine.idle();

    // Disabled through A: after B's sweep, B's deliveries wait pending instead of being sent.
    expect((await a.api("POST", "/v1/destinations/shop/disable")).status).toBe(200);
    await b.app.engine.sweeper.runOnce(b.clock.now());
    const held = await publishThroughB();
    await b.app.engine.idle();
    expect((await b.api("GET", `/v1/events/${held.body.id}`)).body.deliveries[0].status).toBe("pending");
    expect(receiver.requests.length).toBe(1);

    // The subscription deleted through A: B's fan-out drops it after its sweep.
    expect((await a.api("DELETE", "/v1/subscriptions/all")).status).toBe(204);
    expect((await publishThroughB()).body.deliveries).toBe(1);
    await b.app.engine.sweeper.runOnce(b.clock.now());
    expect((await publishThroughB()).body.deliveries).toBe(0);
  });

  it("disables a long-failing destination only on the instance that holds the maintenance lease", async () => {
    await twoInstances({ delivery: { disable_after: "1m", retry_schedule: ["10m"] } }, [{ status: 500 }]);
    // B sweeps first: it holds the maintenance lease from then on.
    await b.app.engine.sweeper.runOnce(b.clock.now());
    await a.api("POST", "/v1/destinations", { id: "shop", url: receiver.url });
    await a.api("POST", "/v1/subscriptions", { id: "all", destination_id: "shop", event_types: ["*"] });
    await a.api("POST", "/v1/events", { type: "order.created", data: {} });
    await receiver.waitFor(1);
    await a.app.engine.idle();

    // Failing for longer than disable_after, B's lease renewed: A's sweep leaves it to B, B's disables it.
    b.clock.advance(2 * 60_000);
    expect(await b.app.engine.sweeper.leadsMaintenance(b.clock.now())).toBe(true);
    expect((await a.app.engine.sweeper.runOnce(a.clock.now())).disabled).toEqual([]);
    expect((await a.api("GET", "/v1/destinations/shop")).body.enabled).toBe(true);
    expect((await b.app.engine.sweeper.runOnce(b.clock.now())).disabled).toEqual(["shop"]);
    expect((await a.api("GET", "/v1/destinations/shop")).body.enabled).toBe(false);

    // B stops: its lease goes with it, and A's next sweep takes the maintenance over at once.
    await b.stop();
    expect(await a.app.engine.sweeper.leadsMaintenance(a.clock.now())).toBe(true);
  });

  it("follows a config reload made on A at B's sweep", async () => {
    const config = await twoInstances();
    const before = b.app.engine.catalog.version;
    const next = testConfig({
      event_types: [{ name: "order.created" }],
      destinations: [{ id: "crm", url: receiver.url }],
      subscriptions: [{ id: "crm-orders", destination: "crm", event_types: ["order.*"] }],
    }, dir);
    expect(next.storage.path).toBe(config.storage.path);
    await a.app.reload(next);
    expect(await a.app.store.catalog.version()).toBeGreaterThan(before);
    expect((await publishThroughB()).body.deliveries).toBe(0);
    await b.app.engine.sweeper.runOnce(b.clock.now());
    expect(b.app.engine.catalog.version).toBe(await a.app.store.catalog.version());
    expect((await publishThroughB()).body.deliveries).toBe(1);
    await receiver.waitFor(1);
  });

  it("sends a retry B claims for a destination created through A since B's last sweep", async () => {
    await twoInstances({}, [{ status: 500 }]);
    await a.api("POST", "/v1/destinations", { id: "shop", url: receiver.url });
    await a.api("POST", "/v1/subscriptions", { id: "all", destination_id: "shop", event_types: ["*"] });
    const published = await a.api("POST", "/v1/events", { type: "order.created", data: {} });
    await receiver.waitFor(1);
    await a.app.engine.idle();
    await a.stop(); // A leaves its retry to B
    a = undefined as unknown as TestHerald;

    // B claims the due retry (as its timers and its own publishes make it look)
    // before any sweep: the destination is not in its catalogue yet.
    b.clock.advance(10_000);
    b.app.engine.dispatcher.noteBacklog();
    await receiver.waitFor(2);
    await b.app.engine.idle();
    expect((await b.api("GET", `/v1/events/${published.body.id}`)).body.deliveries[0].status).toBe("succeeded");
  });

  it("answers 409 to B's create of an id A created, and keeps A's", async () => {
    await twoInstances();
    const first = await a.api("POST", "/v1/destinations", { id: "shop", url: `${receiver.url}?first` });
    const second = await b.api("POST", "/v1/destinations", { id: "shop", url: `${receiver.url}?second` });
    expect([first.status, second.status]).toEqual([201, 409]);
    expect((await b.api("GET", "/v1/destinations/shop")).body.url).toBe(`${receiver.url}?first`);
  });
});

/**
 * A Herald in its own process races a second connection (this test's) for the
 * same row. The test holds the write lock, so Herald's request stops at its
 * first write and waits (busy_timeout); the test then makes its rival write and
 * commits, and Herald's write goes on. A look-then-write create would have
 * looked before the rival row existed and then overwritten it (201 for both);
 * an insert-if-absent finds the row taken.
 */
describe("a write racing another connection's", () => {
  let dir: string;
  let herald: HeraldProcess;
  let rival: SqliteStore;

  beforeAll(async () => {
    dir = tempDir("herald-race-");
    herald = await spawnSourceHerald(dir, ADMIN_TOKEN);
    rival = new SqliteStore(join(dir, "herald.db"), "normal");
  });

  afterAll(async () => {
    await rival?.close();
    herald?.proc.kill("SIGTERM");
    await herald?.proc.exited;
    removeDir(dir);
  });

  const api = (method: string, path: string, body?: unknown) =>
    fetch(herald.url + path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, body: await res.json().catch(() => null) }));

  /** Sends the request, lets it reach its write while the lock is held, then makes the rival write and commits. */
  async function raced(request: () => ReturnType<typeof api>, rivalWrite: () => Promise<unknown>) {
    rival.db.run("BEGIN IMMEDIATE");
    let answer: ReturnType<typeof api>;
    let written: Promise<unknown>;
    try {
      answer = request();
      // Long enough for a local request to reach its write; if it did not, the
      // request merely sees the rival row and this test passes without racing.
      await Bun.sleep(400);
      // SQLite runs the write at the call, inside the transaction opened above.
      written = rivalWrite();
    } finally {
      rival.db.run("COMMIT");
    }
    await written;
    return answer;
  }

  const T = Date.now();
  const destination = (id: string, url: string): Destination => ({
    id, tenant: "default", url, description: "", secrets: [{ secret: "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", expires_at: null }],
    headers: {}, client_tls: null, timeout_ms: null, rate_limit: null, max_in_flight: null, ordered: false, enabled: true, disabled_reason: null, metadata: {}, failing_since: null,
    managed_by: "api", created_at: T, updated_at: T,
  });

  it("a destination create answers 409 and keeps the rival's destination", async () => {
    const res = await raced(
      () => api("POST", "/v1/destinations", { id: "shop", url: "http://127.0.0.1:9/herald" }),
      async () => expect(await rival.catalog.createDestination(destination("shop", "http://127.0.0.1:9/rival"))).toBe(true),
    );
    expect(res.status).toBe(409);
    expect((await api("GET", "/v1/destinations/shop")).body.url).toBe("http://127.0.0.1:9/rival");
  });

  it("a subscription create answers 409 and keeps the rival's subscription", async () => {
    expect((await api("POST", "/v1/destinations", { id: "base", url: "http://127.0.0.1:9/base" })).status).toBe(201);
    const res = await raced(
      () => api("POST", "/v1/subscriptions", { id: "orders", destination_id: "base", event_types: ["order.*"] }),
      async () => expect(await rival.catalog.createSubscription({
        id: "orders", destination_id: "base", tenant: "default", event_types: ["rival.*"], filter: null, enabled: true,
        description: "", managed_by: "api", created_at: T, updated_at: T,
      })).toBe("created"),
    );
    expect(res.status).toBe(409);
    expect((await api("GET", "/v1/subscriptions/orders")).body.event_types).toEqual(["rival.*"]);
  });

  it("an event type create answers 409 and keeps the rival's event type", async () => {
    const res = await raced(
      () => api("POST", "/v1/event-types", { name: "order.created", description: "herald" }),
      async () => expect(await rival.catalog.createEventType({
        name: "order.created", description: "rival", schema: null, example: undefined, tenants: null, managed_by: "api", created_at: T, updated_at: T,
      })).toBe(true),
    );
    expect(res.status).toBe(409);
    expect((await api("GET", "/v1/event-types/order.created")).body.description).toBe("rival");
  });

  it("an update of a destination deleted meanwhile answers 404 and does not bring it back", async () => {
    expect((await api("POST", "/v1/destinations", { id: "old", url: "http://127.0.0.1:9/old" })).status).toBe(201);
    const res = await raced(
      () => api("PATCH", "/v1/destinations/old", { description: "changed late" }),
      async () => expect(await rival.catalog.deleteDestination("old", Date.now())).toBe(true),
    );
    expect(res.status).toBe(404);
    expect((await api("GET", "/v1/destinations/old")).status).toBe(404);
  });
});
