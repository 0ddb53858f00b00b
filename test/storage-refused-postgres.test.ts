// A PostgreSQL server that refuses writes, for real: Herald connects as a role
// of its own, and the test turns that role's sessions read-only
// (`ALTER ROLE … SET default_transaction_read_only = on`) and ends its
// connections (`pg_terminate_backend`), as a failover onto a standby or a
// server put in read-only mode does. Every write then fails on the server
// with SQLSTATE 25006 while reads go on, and the pool, the instance's lock
// connection and its listener all lose their sessions at once. Publishes must
// answer 503 storage_unavailable, /readyz not ready, nothing acknowledged may
// be lost, a send whose attempt could not be recorded is sent again once the
// server takes writes, and Herald recovers without being restarted.
// Why a role and not the whole server: the test server is shared by the rest
// of the suite; a role touches only this test's Herald, and a crash of the
// test leaves nothing read-only behind for anyone else.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { postgresSchema, STORE_NAMES } from "./support/test-stores.ts";

if (STORE_NAMES.includes("postgres")) {
  describe("a PostgreSQL server that refuses writes", () => {
    let herald: TestHerald;
    let receiver: Receiver;
    let schema: Awaited<ReturnType<typeof postgresSchema>>;
    const role = `herald_refused_${process.pid}`;

    /** Ends every session of Herald's role: new ones start with the role's current defaults. */
    const endSessions = () => schema.admin.unsafe(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '${role}' AND pid <> pg_backend_pid()`);
    const refuseWrites = async () => {
      await schema.admin.unsafe(`ALTER ROLE ${role} SET default_transaction_read_only = on`);
      await endSessions();
    };
    const takeWrites = async () => {
      await schema.admin.unsafe(`ALTER ROLE ${role} RESET default_transaction_read_only`);
      await endSessions();
    };

    beforeAll(async () => {
      schema = await postgresSchema();
      await schema.admin.unsafe(`DROP ROLE IF EXISTS ${role}`);
      await schema.admin.unsafe(`CREATE ROLE ${role} LOGIN`);
      await schema.admin.unsafe(`ALTER SCHEMA ${schema.name} OWNER TO ${role}`);
      const url = new URL(schema.url);
      url.username = role;
      // The second request (event "in-flight") is answered late: the store stops taking writes meanwhile.
      receiver = startReceiver([{ status: 200 }, { status: 200, delay_ms: 600 }]);
      const config = testConfig({
        event_types: [{ name: "order.created" }],
        destinations: [{ id: "shop", url: receiver.url }],
        subscriptions: [{ id: "shop", destination: "shop", event_types: ["*"] }],
      });
      // As startHerald puts a test on PostgreSQL, but on this role's URL.
      herald = await startHerald({ ...config, storage: { ...config.storage, driver: "postgres", url: url.toString(), pool_size: 4 } });
    });

    afterAll(async () => {
      await herald?.stop().catch(() => {});
      await receiver?.stop();
      await schema.admin.unsafe(`ALTER ROLE ${role} RESET default_transaction_read_only`).catch(() => {});
      await endSessions().catch(() => {});
      await schema.drop();
      await schema.admin.unsafe(`DROP ROLE IF EXISTS ${role}`);
    });

    const publish = (id: string) => herald.api("POST", "/v1/events", { type: "order.created", id, data: { id } });
    const ready = async () => (await herald.api("GET", "/readyz", undefined, { token: null })).status;

    it("answers 503 while writes are refused, loses nothing acknowledged, and recovers on its own", async () => {
      const accepted: string[] = [];
      expect((await publish("before")).status).toBe(202);
      accepted.push("before");
      await receiver.waitFor(1);
      expect((await publish("in-flight")).status).toBe(202);
      accepted.push("in-flight");
      await receiver.waitFor(2); // its answer comes 600 ms later, after the server turned read-only

      await refuseWrites();
      const refused = await publish("while-refused");
      expect(refused.status).toBe(503);
      expect(refused.body).toMatchObject({ error: "storage_unavailable" });
      expect(refused.body.message).toContain("store");
      const batch = await herald.api("POST", "/v1/events/batch", { events: [{ type: "order.created", data: {} }] });
      expect(batch.status).toBe(503);
      expect((await herald.api("POST", "/v1/destinations", { url: "http://127.0.0.1:9/x" })).body).toMatchObject({ error: "storage_unavailable" });
      expect(await ready()).toBe(503);
      expect((await herald.api("GET", "/healthz", undefined, { token: null })).status).toBe(200);
      // Reads go on: every acknowledged event is there.
      for (const id of accepted) expect((await herald.api("GET", `/v1/events/${id}`)).status).toBe(200);
      expect((await herald.api("GET", "/v1/events/while-refused")).status).toBe(404);

      // The late answer came, but its attempt could not be recorded: the delivery keeps its lease.
      await herald.app.engine.dispatcher.idle();
      expect((await herald.api("GET", "/v1/events/in-flight")).body.deliveries[0]).toMatchObject({ status: "delivering", attempt_count: 0 });
      // A sweep while writes are refused fails quietly and changes nothing.
      await herald.app.engine.sweeper.runOnce(herald.clock.advance(1000));
      expect(await ready()).toBe(503);

      await takeWrites();
      // No restart of Herald: the very first publish is taken (the pool's
      // sessions from before all ended; each fails once and is replaced, and
      // the publish is run again on a fresh one), and the probe says ready.
      expect((await publish("after")).status).toBe(202);
      accepted.push("after");
      expect(await ready()).toBe(200);
      expect((await publish("while-refused")).status).toBe(202);
      accepted.push("while-refused");

      // The unrecorded send's lease runs out; the sweep (heartbeat first: the
      // instance takes its lock back) returns it to pending and it goes again.
      await herald.app.engine.sweeper.runOnce(herald.clock.advance(herald.app.engine.lease_ms + 1));
      const deadline = Date.now() + 10_000;
      for (;;) {
        const states = await Promise.all(accepted.map(async (id) => (await herald.api("GET", `/v1/events/${id}`)).body.deliveries.map((d: any) => d.status).join()));
        if (states.every((s) => s === "succeeded")) break;
        if (Date.now() > deadline) throw new Error(`not all delivered: ${accepted.map((id, i) => `${id}=${states[i]}`).join(" ")}`);
        await Bun.sleep(25);
      }
      const sent = receiver.requests.map((r) => r.headers["webhook-id"]);
      for (const id of accepted) expect(sent).toContain(id);
      expect(sent.filter((id) => id === "in-flight").length).toBe(2);
      expect((await herald.api("GET", "/v1/events/in-flight")).body.deliveries[0]).toMatchObject({ status: "succeeded", attempt_count: 1 });

      // The instance is registered and alive again, its lock held: another sweep keeps it so.
      await herald.app.engine.sweeper.runOnce(herald.clock.advance(1000));
      const instances = await schema.admin.unsafe(`SELECT id FROM ${schema.name}.instances`);
      expect(instances.map((r: any) => r.id)).toContain(herald.app.engine.deps.instance);
      // And it listens again (the other instances' news): a session of its role is on LISTEN.
      const listening = async () =>
        (await schema.admin.unsafe(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = '${role}' AND query ILIKE 'LISTEN%'`))[0].n;
      const until = Date.now() + 5000;
      while ((await listening()) === 0 && Date.now() < until) await Bun.sleep(50);
      expect(await listening()).toBeGreaterThan(0);
    }, 30_000);
  });
}
