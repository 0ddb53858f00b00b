// A store that cannot write (here: a real SQLite file at its size cap, as on a
// full disk) never crashes Herald: publishes answer 503 storage_unavailable,
// /readyz is not ready, reads and /healthz go on, and once there is room again
// everything accepted before is delivered — attempts that could not be recorded
// come back through lease expiry and are sent again.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { sqliteOf, startHerald, testConfig, type TestHerald } from "./support/herald.ts";

let herald: TestHerald;
let receiver: Receiver;

beforeAll(async () => {
  // The second request (event "in-flight") is answered late, with a body large
  // enough that its attempt record needs a new page: it lands on the full store.
  receiver = startReceiver([{ status: 200 }, { status: 200, delay_ms: 300, body: "y".repeat(8 * 1024) }]);
  herald = await startHerald(
    testConfig({
      event_types: [{ name: "order.created" }],
      destinations: [{ id: "shop", url: receiver.url }],
      subscriptions: [{ id: "shop", destination: "shop", event_types: ["*"] }],
    }),
  );
});

afterAll(async () => {
  await herald.stop();
  await receiver.stop();
});

/** Caps Herald's own SQLite connection at `pages` pages: SQLITE_FULL past it, as on a full disk. */
function capPages(pages: number): void {
  sqliteOf(herald.app).run(`PRAGMA max_page_count = ${pages}`);
}
const pageCount = () => (sqliteOf(herald.app).query("PRAGMA page_count").get() as { page_count: number }).page_count;

const padding = "x".repeat(8 * 1024);
const publish = (id: string) => herald.api("POST", "/v1/events", { type: "order.created", id, data: { id, padding } });

describe("a store that cannot write", () => {
  it("answers 503 storage_unavailable and not-ready while full, keeps serving, and delivers every accepted event once there is room", async () => {
    const accepted: string[] = [];
    const first = await publish("before-full");
    expect(first.status).toBe(202);
    accepted.push(first.body.id);
    await receiver.waitFor(1);
    const inFlight = await publish("in-flight");
    expect(inFlight.status).toBe(202);
    accepted.push("in-flight");
    await receiver.waitFor(2);

    capPages(pageCount());
    let refused: { status: number; body: any } | null = null;
    for (let i = 0; i < 50 && !refused; i++) {
      const res = await publish(`while-full-${i}`);
      if (res.status === 202) accepted.push(res.body.id);
      else refused = res;
    }
    expect(refused).not.toBeNull();
    expect(refused!.status).toBe(503);
    expect(refused!.body.error).toBe("storage_unavailable");
    expect(refused!.body.message).toContain("store");

    // Still full: every publish is refused the same way, batches too, and Herald stays up.
    const again = await publish("while-full-again");
    expect(again.status).toBe(503);
    expect(again.body.error).toBe("storage_unavailable");
    const batch = await herald.api("POST", "/v1/events/batch", { events: [{ type: "order.created", data: { padding } }] });
    expect(batch.status).toBe(503);
    // A management write is refused the same way, in DESIGN §4's shape, not as a 500.
    const created = await herald.api("POST", "/v1/destinations", { url: "http://127.0.0.1:9/while-full", headers: { "x-pad": padding }, metadata: { pad: padding } });
    expect(created.status).toBe(503);
    expect(created.body).toMatchObject({ error: "storage_unavailable" });
    expect((await herald.api("GET", "/readyz", undefined, { token: null })).status).toBe(503);
    expect((await herald.api("GET", "/healthz", undefined, { token: null })).status).toBe(200);
    for (const id of accepted) expect((await herald.api("GET", `/v1/events/${id}`)).status).toBe(200);
    // A refused event was not written: its id is free.
    expect((await herald.api("GET", "/v1/events/while-full-again")).status).toBe(404);
    // The send under way when the store filled up got its answer, but the attempt
    // could not be recorded: the delivery keeps its lease, nothing is lost.
    await herald.app.engine.dispatcher.idle(); // the send and its (failed) record are done
    const stuck = (await herald.api("GET", "/v1/events/in-flight")).body.deliveries[0];
    expect(stuck).toMatchObject({ status: "delivering", attempt_count: 0 });

    capPages(1_000_000);
    expect((await herald.api("GET", "/readyz", undefined, { token: null })).status).toBe(200);
    const after = await publish("after-full");
    expect(after.status).toBe(202);
    accepted.push(after.body.id);
    // The refused event can be published now under the same id.
    expect((await publish("while-full-again")).status).toBe(202);
    accepted.push("while-full-again");

    // Sends whose attempt could not be recorded kept their lease: once it runs
    // out, the sweep returns them to pending and they are sent again.
    await herald.app.engine.sweeper.runOnce(herald.clock.advance(herald.app.engine.lease_ms + 1));
    for (let tries = 0; ; tries++) {
      const states = await Promise.all(
        accepted.map(async (id) => (await herald.api("GET", `/v1/events/${id}`)).body.deliveries.map((d: any) => d.status).join()),
      );
      if (states.every((s) => s === "succeeded")) break;
      if (tries > 200) throw new Error(`not all delivered: ${states.join(" ")}`);
      await Bun.sleep(25);
    }
    const sent = receiver.requests.map((r) => r.headers["webhook-id"]);
    for (const id of accepted) expect(sent).toContain(id);
    // At least once: the unrecorded send went out again, and is now recorded.
    expect(sent.filter((id) => id === "in-flight").length).toBe(2);
    expect((await herald.api("GET", "/v1/events/in-flight")).body.deliveries[0]).toMatchObject({ status: "succeeded", attempt_count: 1 });
  });
});
