// Store contract: a held destination's pending rows are parked out of the
// claim's way (SQLite migration 21, PostgreSQL 16) and come back when it is
// released. A destination is held when disabled, its breaker open, or limited
// (max_in_flight, ordered); settleParking moves its rows a bounded chunk at a
// time, unparks rows left parked by mistake, and nothing parked is ever stuck.
import { expect, it } from "bun:test";
import { CLAIM_DUE, CLAIM_UNPARKING } from "../../src/store/sqlite/queue.ts";
import { PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import type { Store } from "../../src/store/store.ts";
import type { BreakerSettings, DeliveryJob } from "../../src/store/types.ts";
import { answered, destination, lease, newEvent, T0, withDestinations } from "./records.ts";
import { describeEachStore } from "./stores.ts";

const LEASE = 60_000;
const BREAKER: BreakerSettings = { failures: 2, probe_every_ms: 10_000 };

/** Runs one SQL statement on the store's own database (either driver), answering its rows. */
async function query(store: Store, text: string): Promise<Record<string, unknown>[]> {
  if (store instanceof SqliteStore) return store.db.query(text).all() as Record<string, unknown>[];
  if (store instanceof PostgresStore) return (await store.sql.unsafe(text)) as Record<string, unknown>[];
  throw new Error("a store of an unknown kind");
}

/** How many of the destination's pending rows are parked, and how many not. */
async function where(store: Store, destinationId: string): Promise<{ parked: number; due: number }> {
  const [row] = await query(
    store,
    `SELECT count(CASE WHEN parked THEN 1 END) AS parked, count(CASE WHEN parked THEN NULL ELSE 1 END) AS due
     FROM deliveries WHERE destination_id = '${destinationId}' AND status = 'pending'`,
  );
  return { parked: Number(row!.parked), due: Number(row!.due) };
}

/**
 * A settle's time before any row here is due: every row of an unparking
 * destination moves (a store may leave those due by then to the claim).
 */
const BEFORE_DUE = T0 - 1;

/** Destination `a` disabled at T0, its move done: what it is sent from now on is written parked. */
async function parkedDestination(store: Store): Promise<void> {
  await store.catalog.setDestinationEnabled("a", false, "paused", T0);
  await settleAll(store);
}

/** Settles until nothing is left to move; how many calls it took. */
async function settleAll(store: Store, budget = 1_000, verify = false, now = BEFORE_DUE): Promise<number> {
  for (let calls = 1; calls < 1_000; calls++) if (!(await store.queue.settleParking(budget, verify, now)).more) return calls;
  throw new Error("settleParking never finished");
}

/** Publishes `n` pending deliveries to each of `to`, due at T0 + i. */
async function publishMany(store: Store, n: number, to: string[]): Promise<void> {
  for (let i = 0; i < n; i++) await store.queue.publish(newEvent({ at: T0 + i, to, data: { i } }));
}

const claim = (store: Store, at: number, limit = 1_000, breaker?: BreakerSettings) =>
  store.queue.claimDue(at, lease(at + LEASE), limit, breaker);
const destinationsOf = (jobs: DeliveryJob[]) => [...new Set(jobs.map((j) => j.delivery.destination_id))].sort();

describeEachStore("parked rows", (current) => {
  it("parks a disabled destination's rows and still claims other destinations' due rows; an enable brings them back", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    await publishMany(store, 30, ["a", "b"]);
    await parkedDestination(store);
    expect(await where(store, "a")).toEqual({ parked: 30, due: 0 });
    expect(await where(store, "b")).toEqual({ parked: 0, due: 30 });
    // Published while disabled: written parked at once.
    await store.queue.publish(newEvent({ at: T0 + 100, to: ["a", "b"] }));
    expect(await where(store, "a")).toEqual({ parked: 31, due: 0 });
    const jobs = await claim(store, T0 + 1_000);
    expect(jobs.length).toBe(31);
    expect(destinationsOf(jobs)).toEqual(["b"]);
    // And a batch of them in one call (on PostgreSQL, 200 rows: written with COPY, parked worked out before it).
    await store.queue.publishMany(Array.from({ length: 100 }, (_, i) => newEvent({ at: T0 + 200 + i, to: ["a", "b"] })));
    expect(await where(store, "a")).toEqual({ parked: 131, due: 0 });
    expect(await where(store, "b")).toEqual({ parked: 0, due: 100 });

    await store.catalog.setDestinationEnabled("a", true, null, T0 + 2_000);
    // The first chunk is the earliest due: claimable at once, the rest follows.
    expect(await store.queue.settleParking(10, false, BEFORE_DUE)).toEqual({ moved: 10, more: true });
    const first = await claim(store, T0 + 2_000, 10);
    expect(first.map((j) => JSON.parse(j.event.data_json).i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await settleAll(store, 10);
    expect(await where(store, "a")).toEqual({ parked: 0, due: 121 });
    const rest = await claim(store, T0 + 2_000);
    expect(rest.filter((j) => j.delivery.destination_id === "a").length).toBe(121);
    expect(rest.filter((j) => j.delivery.destination_id === "b").length).toBe(100);
  });

  it("claims through deliveries_due with the parked predicate, and an unparking destination's rows through deliveries_parked (SQLite's plans)", async () => {
    const { store } = current;
    if (!(store instanceof SqliteStore)) return;
    const plan = (store.db.query(`EXPLAIN QUERY PLAN ${CLAIM_DUE}`).all({ now: T0, limit: 10 }) as { detail: string }[]).map((r) => r.detail);
    expect(plan.some((d) => d.includes("USING INDEX deliveries_due (next_attempt_at<?)"))).toBe(true);
    expect(plan.some((d) => d.includes("deliveries_parked"))).toBe(false);
    const unparking = (store.db.query(`EXPLAIN QUERY PLAN ${CLAIM_UNPARKING}`).all({ destination: "a", now: T0, limit: 10 }) as { detail: string }[]).map((r) => r.detail);
    expect(unparking.some((d) => d.includes("USING INDEX deliveries_parked (destination_id=? AND next_attempt_at<?)"))).toBe(true);
    expect(unparking.some((d) => d.includes("TEMP B-TREE"))).toBe(false);
  });

  it("claims an enabled destination's due rows in due order with the others' while its move goes on, and ends the move once they are taken", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    await parkedDestination(store);
    // a's rows due at even times, b's at odd ones; a's written parked.
    for (let i = 0; i < 20; i++) {
      await store.queue.publish(newEvent({ at: T0 + 2 * i, to: ["a"], data: { due: 2 * i } }));
      await store.queue.publish(newEvent({ at: T0 + 2 * i + 1, to: ["b"], data: { due: 2 * i + 1 } }));
    }
    expect(await where(store, "a")).toEqual({ parked: 20, due: 0 });
    await store.catalog.setDestinationEnabled("a", true, null, T0 + 20);
    // Only the nine due later move; the eleven due by now are left for the claim.
    expect(await store.queue.settleParking(1_000, false, T0 + 20)).toEqual({ moved: 9, more: true });
    expect(await where(store, "a")).toEqual({ parked: 11, due: 9 });
    // (A claim's jobs come in no promised order: the set is what counts.)
    const dueOf = (jobs: DeliveryJob[]) => jobs.map((j) => JSON.parse(j.event.data_json).due as number).sort((x, y) => x - y);
    // 21 rows due by T0+20 (eleven of a, ten of b): the earliest fifteen.
    expect(dueOf(await claim(store, T0 + 20, 15))).toEqual([...Array(15).keys()]);
    expect(dueOf(await claim(store, T0 + 40, 100))).toEqual([...Array(25).keys()].map((i) => i + 15));
    expect(await store.queue.settleParking(1_000, false, T0 + 40)).toEqual({ moved: 0, more: false });
    expect(await where(store, "a")).toEqual({ parked: 0, due: 0 });
    const [state] = await query(store, "SELECT park_state FROM destinations WHERE id = 'a'");
    expect(Number(state!.park_state)).toBe(0);
  });

  it("hands each of an unparking destination's due rows to one claim when two stores settle and claim at once", async () => {
    const { store } = current;
    const other = await current.another();
    await withDestinations(store, "a");
    await parkedDestination(store);
    const N = 300;
    await publishMany(store, N, ["a"]);
    expect(await where(store, "a")).toEqual({ parked: N, due: 0 });
    await store.catalog.setDestinationEnabled("a", true, null, T0 + N);
    const drain = async (s: Store): Promise<string[]> => {
      const ids: string[] = [];
      for (let more = true; ; ) {
        if (more) more = (await s.queue.settleParking(40, false, T0 + N)).more;
        const jobs = await claim(s, T0 + N, 25);
        ids.push(...jobs.map((j) => j.delivery.id));
        if (jobs.length === 0 && !more) return ids;
      }
    };
    const [mine, theirs] = await Promise.all([drain(store), drain(other)]);
    const all = [...mine, ...theirs];
    expect(all.length).toBe(N);
    expect(new Set(all).size).toBe(N);
    expect(await where(store, "a")).toEqual({ parked: 0, due: 0 });
  });

  it("parks an open breaker's rows, still sends a probe when due, and a success lets the backlog go", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    await publishMany(store, 2, ["a"]);
    const sent = await claim(store, T0 + 10, 100, BREAKER);
    await publishMany(store, 20, ["a", "b"]);
    let opened = null;
    for (const job of sent) opened ??= (await store.queue.recordAttempt(answered(job, false, T0 + 20, { breaker: BREAKER }), T0 + 20)).breaker;
    expect(opened?.change).toBe("opened");
    await settleAll(store);
    // The two failed ones are due again at T0+20+5s (the default schedule), parked with the rest.
    expect(await where(store, "a")).toEqual({ parked: 22, due: 0 });
    // Before the probe time, only b's rows.
    expect(destinationsOf(await claim(store, T0 + 6_000, 100, BREAKER))).toEqual(["b"]);
    // The probe time: one probe out of the parked rows.
    const probes = await claim(store, T0 + 10_020, 100, BREAKER);
    expect(probes.length).toBe(1);
    expect(probes[0]!.probe).toBe(true);
    const closed = await store.queue.recordAttempt(answered(probes[0]!, true, T0 + 10_030, { breaker: BREAKER, probe: true }), T0 + 10_030);
    expect(closed.breaker?.change).toBe("closed");
    await settleAll(store);
    expect(await where(store, "a")).toEqual({ parked: 0, due: 21 });
    expect((await claim(store, T0 + 60_000, 100, BREAKER)).length).toBe(21);
  });

  it("parks a limited destination's rows, claims them within the limit, and unparks them when the limit is cleared", async () => {
    const { store } = current;
    await withDestinations(store, "b");
    await store.catalog.saveDestination(destination({ id: "a", max_in_flight: 3 }));
    await publishMany(store, 10, ["a", "b"]);
    await settleAll(store);
    expect(await where(store, "a")).toEqual({ parked: 10, due: 0 });
    const jobs = await claim(store, T0 + 1_000);
    expect(jobs.filter((j) => j.delivery.destination_id === "a").length).toBe(3);
    expect(jobs.filter((j) => j.delivery.destination_id === "b").length).toBe(10);
    expect(await where(store, "a")).toEqual({ parked: 7, due: 0 });
    await store.catalog.saveDestination(destination({ id: "a", max_in_flight: null }));
    await settleAll(store);
    expect(await where(store, "a")).toEqual({ parked: 0, due: 7 });
    expect((await claim(store, T0 + 1_000)).length).toBe(7);
  });

  it("unparks a row left parked for a destination that is not held at the next verifying settle", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    await publishMany(store, 3, ["a"]);
    await query(store, "UPDATE deliveries SET parked = (1 = 1) WHERE destination_id = 'a'");
    expect(await claim(store, T0 + 1_000)).toEqual([]);
    // Nothing is moving: a plain settle has nothing to do; the verifying one finds the strays.
    expect(await store.queue.settleParking(100, false, BEFORE_DUE)).toEqual({ moved: 0, more: false });
    await settleAll(store, 100, true);
    await settleAll(store, 100);
    expect(await where(store, "a")).toEqual({ parked: 0, due: 3 });
    expect((await claim(store, T0 + 1_000)).length).toBe(3);
  });

  it("parks a retry recorded for a destination whose rows are parked without waiting for a move", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    await publishMany(store, 1, ["a"]);
    const [job] = await claim(store, T0 + 10);
    await store.catalog.setDestinationEnabled("a", false, "paused", T0 + 20);
    await settleAll(store);
    await store.queue.recordAttempt(answered(job!, false, T0 + 30), T0 + 30);
    expect(await where(store, "a")).toEqual({ parked: 1, due: 0 });
  });

  it("counts parked rows in the oldest due delivery (herald_oldest_due_seconds counts held rows too)", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    await publishMany(store, 3, ["a"]);
    await parkedDestination(store);
    expect(await where(store, "a")).toEqual({ parked: 3, due: 0 });
    await store.queue.publish(newEvent({ at: T0 + 500, to: ["b"] }));
    expect((await store.log.queueFigures(T0 + 1_000)).oldest_due_at).toBe(T0);
  });

  it("completes a move larger than one budget over several passes, each within its budget", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    await publishMany(store, 25, ["a"]);
    await store.catalog.setDestinationEnabled("a", false, "paused", T0);
    const steps = [];
    for (;;) {
      const step = await store.queue.settleParking(10, false, BEFORE_DUE);
      steps.push(step);
      expect(step.moved).toBeLessThanOrEqual(10);
      if (!step.more) break;
    }
    expect(steps.map((s) => s.more)).toEqual([true, true, false]);
    expect(await where(store, "a")).toEqual({ parked: 25, due: 0 });
    await store.catalog.setDestinationEnabled("a", true, null, T0);
    expect(await settleAll(store, 10)).toBe(3);
    expect(await where(store, "a")).toEqual({ parked: 0, due: 25 });
  });

  it("loses nothing and leaves nothing parked when publishes race an enable and its move on another store", async () => {
    const { store } = current;
    const other = await current.another();
    await withDestinations(store, "a");
    await parkedDestination(store);
    const N = 400;
    const publishing = (async () => {
      const writes = [];
      for (let i = 0; i < N; i++) {
        writes.push(store.queue.publish(newEvent({ at: T0 + i, to: ["a"], data: { i } })));
        if (writes.length === 20) await Promise.all(writes.splice(0));
      }
      await Promise.all(writes);
    })();
    const enabling = (async () => {
      await Bun.sleep(5);
      await other.catalog.setDestinationEnabled("a", true, null, T0);
      while ((await other.queue.settleParking(25, false, BEFORE_DUE)).more) {}
    })();
    await Promise.all([publishing, enabling]);
    // What a publish wrote parked after the move had finished is found by the sweep's verify.
    await settleAll(other, 1_000, true);
    await settleAll(other, 1_000);
    expect(await where(store, "a")).toEqual({ parked: 0, due: N });
    let claimed = 0;
    for (let jobs; (jobs = await claim(other, T0 + N + 1_000, 150)).length > 0; ) claimed += jobs.length;
    expect(claimed).toBe(N);
  });
});
