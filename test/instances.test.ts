// Several Herald instances on one SQLite file: a lease names its owner, a live
// owner's leases are never taken, a dead one's come back at once, and a send
// whose lease was taken over cannot overwrite the new owner's outcome.
import { afterEach, describe, expect, it } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createApp, type Herald } from "../src/app.ts";
import { silentLogger } from "../src/engine/deps.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { ADMIN_TOKEN, removeDir, tempDir, testConfig, TestClock } from "./support/herald.ts";
import { spawnSourceHerald, type HeraldProcess } from "./support/process.ts";

/**
 * A real receiver that holds every request until the test answers it, or,
 * once `holding` is off, answers 200 at once: a send in flight is a test's to end.
 */
function startGate() {
  const requests: { id: string; answer: (status: number) => void }[] = [];
  const gate = { requests, holding: true, url: "", stop: async () => {} };
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      await req.text();
      const held = gate.holding;
      const status = await new Promise<number>((answer) => {
        requests.push({ id: req.headers.get("webhook-id")!, answer });
        if (!held) answer(200);
      });
      return new Response("answered", { status });
    },
  });
  gate.url = `http://127.0.0.1:${server.port}/hook`;
  gate.stop = async () => {
    for (const r of requests) r.answer(200);
    await server.stop(true);
  };
  return gate;
}

async function until(check: () => boolean | Promise<boolean>, timeout_ms = 10_000): Promise<void> {
  const deadline = Date.now() + timeout_ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await Bun.sleep(20);
  }
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const resources = (url: string) => ({
  event_types: [{ name: "job.done" }],
  destinations: [{ id: "sink", url }],
  subscriptions: [{ id: "all", destination: "sink", event_types: ["*"] }],
});

/** An in-process Herald on `dir`'s database, sweep timers off (the test runs them). */
async function startInProcess(dir: string, url: string, options: { instance?: string; clock?: TestClock } = {}): Promise<Herald> {
  const app = await createApp(testConfig(resources(url), dir), {
    instance: options.instance,
    now: options.clock?.now,
    random: () => 0.5,
    log: silentLogger,
  });
  await app.start({ sweeps: false });
  cleanups.push(() => app.stop());
  return app;
}

/** A real Herald process on `dir`'s database, with `events` published and their sends held in flight. */
async function heraldHoldingLeases(dir: string, gate: ReturnType<typeof startGate>, events: number): Promise<{ herald: HeraldProcess; ids: string[] }> {
  const herald = await spawnSourceHerald(dir, ADMIN_TOKEN, {
    resources: `event_types: [ { name: job.done } ]
destinations: [ { id: sink, url: "${gate.url}" } ]
subscriptions: [ { id: all, destination: sink, event_types: ["*"] } ]
`,
  });
  cleanups.push(async () => {
    herald.proc.kill("SIGKILL");
    await herald.proc.exited;
  });
  const res = await fetch(`${herald.url}/v1/events/batch`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ events: Array.from({ length: events }, (_, i) => ({ type: "job.done", data: { i } })) }),
  });
  expect(res.status).toBe(202);
  const ids = ((await res.json()).data as { id: string }[]).map((e) => e.id);
  await until(() => gate.requests.length === events);
  return { herald, ids };
}

describe("instances sharing one database", () => {
  it("leave a live instance's leases alone, and take them back as soon as it is killed", async () => {
    const dir = tempDir("herald-instances-");
    cleanups.push(() => removeDir(dir));
    const gate = startGate();
    cleanups.push(() => gate.stop());
    const { herald: a, ids } = await heraldHoldingLeases(dir, gate, 20);

    const b = await startInProcess(dir, gate.url, { instance: "ins_b" });
    const leased = async () => (await b.store.log.listDeliveries({ limit: 100 })).data;
    const owners = new Set((await leased()).map((d) => d.lease_owner));
    expect((await leased()).map((d) => d.status)).toEqual(Array(20).fill("delivering"));
    expect(owners.size).toBe(1);
    const ownerA = [...owners][0]!;
    expect(ownerA).toMatch(/^ins_[0-9a-f]{32}$/);
    // B's sweep, a minute on (A's heartbeat stale, its leases not yet expired),
    // still finds A alive: its lock is held.
    expect((await b.engine.sweeper.runOnce(Date.now() + 60_000)).released).toBe(0);
    await Bun.sleep(200);
    expect(gate.requests.length).toBe(20); // nothing sent twice
    expect((await leased()).every((d) => d.status === "delivering" && d.lease_owner === ownerA)).toBe(true);

    a.proc.kill("SIGKILL");
    await a.proc.exited;
    gate.holding = false;
    // At once: a sweep at the same moment, long before the leases (3 min) run out.
    expect((await b.engine.sweeper.runOnce(Date.now())).released).toBe(20);
    await until(async () => (await leased()).every((d) => d.status === "succeeded"));
    expect(gate.requests.slice(20).map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(existsSync(join(dir, "herald.db-instances", `${ownerA}.lock`))).toBe(false);
  }, 30_000);

  it("a restart after a crash sends the dead instance's deliveries at once, without a sweep", async () => {
    const dir = tempDir("herald-instances-");
    cleanups.push(() => removeDir(dir));
    const gate = startGate();
    cleanups.push(() => gate.stop());
    const { herald: a, ids } = await heraldHoldingLeases(dir, gate, 20);
    a.proc.kill("SIGKILL");
    await a.proc.exited;
    gate.holding = false;

    const b = await startInProcess(dir, gate.url, { instance: "ins_b" });
    await until(() => gate.requests.length === 40, 5_000);
    expect(gate.requests.slice(20).map((r) => r.id).sort()).toEqual([...ids].sort());
    await b.engine.idle();
    expect((await b.store.log.listDeliveries({ limit: 100 })).data.map((d) => d.status)).toEqual(Array(20).fill("succeeded"));
    // The dead instance is forgotten, its lock file gone; B's own is held.
    expect(readdirSync(join(dir, "herald.db-instances"))).toEqual(["ins_b.lock"]);
  }, 30_000);

  it("does not let a send whose lease was taken over overwrite the new owner's outcome", async () => {
    const dir = tempDir("herald-instances-");
    cleanups.push(() => removeDir(dir));
    const gate = startGate();
    cleanups.push(() => gate.stop());
    const clock = new TestClock();
    const a = await startInProcess(dir, gate.url, { instance: "ins_a", clock });
    const b = await startInProcess(dir, gate.url, { instance: "ins_b", clock });

    const published = await a.engine.publisher.publish({ type: "job.done", data: {}, tenant: "default" });
    if (!published.ok) throw new Error("publish refused");
    const id = published.deliveries[0]!.id;
    await until(() => gate.requests.length === 1);
    expect(await b.store.log.getDelivery(id)).toMatchObject({ status: "delivering", lease_owner: "ins_a" });

    // A's send outlives its lease: B's sweep returns it and B sends it again.
    expect((await b.engine.sweeper.runOnce(clock.advance(a.engine.lease_ms + 1))).released).toBe(1);
    await until(() => gate.requests.length === 2);
    expect(await b.store.log.getDelivery(id)).toMatchObject({ status: "delivering", lease_owner: "ins_b" });

    // A's answer comes now: logged and counted, but B's lease and row stay B's.
    gate.requests[0]!.answer(500);
    await until(async () => (await b.store.log.attemptsOf(id)).length === 1);
    expect(await b.store.log.getDelivery(id)).toMatchObject({ status: "delivering", lease_owner: "ins_b", last_status: null, attempts: 1 });

    // B's answer decides the outcome, under the next attempt number.
    gate.requests[1]!.answer(200);
    await until(async () => (await b.store.log.getDelivery(id))!.status !== "delivering");
    expect(await b.store.log.getDelivery(id)).toMatchObject({ status: "succeeded", lease_owner: null, last_status: 200, attempts: 2 });
    expect((await b.store.log.attemptsOf(id)).map((x) => [x.number, x.response_status])).toEqual([[1, 500], [2, 200]]);
    expect(gate.requests.length).toBe(2);
  }, 30_000);

  it("hands back at a clean stop the leases of deliveries still waiting in memory", async () => {
    const dir = tempDir("herald-instances-");
    cleanups.push(() => removeDir(dir));
    const gate = startGate();
    cleanups.push(() => gate.stop());
    const clock = new TestClock();
    const config = testConfig({ ...resources(gate.url), delivery: { concurrency: 1 } }, dir);
    const a = await createApp(config, { instance: "ins_a", now: clock.now, random: () => 0.5, log: silentLogger });
    await a.start({ sweeps: false });
    for (let i = 0; i < 3; i++) await a.engine.publisher.publish({ type: "job.done", data: { i }, tenant: "default" });
    await until(() => gate.requests.length === 1);
    const stopped = a.stop();
    gate.requests[0]!.answer(200);
    await stopped;

    // Read straight from the file: the one sent succeeded, the two never sent are
    // pending again, due now, for any instance; ins_a is forgotten.
    const store = new SqliteStore(config.storage.path, "normal");
    cleanups.push(() => store.close());
    const states = (await store.log.listDeliveries({ limit: 10 })).data.map((d) => [d.status, d.lease_owner, d.next_attempt_at]).sort();
    expect(states).toEqual([["pending", null, clock.now()], ["pending", null, clock.now()], ["succeeded", null, null]]);
    expect(await store.queue.releaseLeasesOfDeadInstances(clock.now(), clock.now())).toBe(0);
    expect(readdirSync(join(dir, "herald.db-instances"))).toEqual([]);
  }, 30_000);
});
