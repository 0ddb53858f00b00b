// A backfill outlives the instance working it, on every store: instance A
// writes the first chunk of a job and dies; instance B's sweep leaves the job
// alone while A lives, takes it over once A is found dead, and the engine's
// backfill (src/engine/backfill.ts) finishes it from A's cursor: every
// matching event gets exactly one delivery, and A's late write changes nothing.
import { expect, it } from "bun:test";
import { AuditLog, CONFIG_CALLER } from "../src/engine/audit.ts";
import { Backfills } from "../src/engine/backfill.ts";
import { Catalog } from "../src/engine/catalog.ts";
import { realTimer, silentLogger } from "../src/engine/deps.ts";
import { subscriptionMatches } from "../src/engine/fanout.ts";
import type { Store } from "../src/store/store.ts";
import { describeEachStore } from "./store/stores.ts";
import { backfilled, backfillJob, destination, newEvent, subscription, T0 } from "./store/records.ts";
import { newId } from "../src/store/ids.ts";

const LEASE = 60_000;

/** Backfills as the engine makes them, over the store's catalogue as it stands (loaded once: the tests change it before). */
async function backfillsOn(store: Store, instance: string, now: () => number, wake: () => void): Promise<Backfills> {
  const deps = { instance, now, timer: realTimer, random: Math.random, fetch, log: silentLogger };
  const catalog = new Catalog(store.catalog);
  await catalog.reload();
  return new Backfills(
    store,
    catalog,
    deps,
    new AuditLog(store.audit, deps),
    wake,
    { chunk: 5, max_jobs: 4, lease_ms: LEASE },
  );
}

describeEachStore("backfill takeover", (current) => {
  it("finishes a dead instance's job from its cursor, with one delivery per matching event", async () => {
    const b = current.store;
    const a = await current.another();
    await b.catalog.saveDestination(destination({ id: "late" }));
    const sub = subscription("sub_late", "late", { event_types: ["order.*"] });
    await b.catalog.saveSubscription(sub);
    // Twelve events: every fourth is an invoice, which the subscription does not take.
    const events = Array.from({ length: 12 }, (_, i) => newEvent({ at: T0 + i, type: i % 4 === 3 ? "invoice.sent" : "order.created" }));
    for (const e of events) await b.queue.publish(e);
    const matching = events.filter((e) => e.event.type === "order.created").map((e) => e.event.id);

    await a.queue.registerInstance("ins_a", T0);
    await b.queue.registerInstance("ins_b", T0);
    const job = backfillJob({ destination_id: "late", lease_owner: "ins_a", lease_until: T0 + LEASE, until: T0 + 1_000 });
    await a.backfills.create(job);
    // A works one chunk of five, as its engine would, and dies before the next.
    const now = T0 + 2_000;
    const first = await a.backfills.nextEvents(job, 5);
    const written = await a.backfills.writeChunk(
      {
        job_id: job.id, lease: { owner: "ins_a", until: T0 + LEASE }, renew_until: now + LEASE,
        deliveries: first.filter((e) => subscriptionMatches(sub, e)).map((e) => backfilled(e, "late", now)),
        cursor: { at: first[4]!.created_at, id: first[4]!.id }, scanned: 5, done: false,
      },
      now,
    );
    expect(written!.job).toMatchObject({ events_scanned: 5, deliveries_created: 4 });

    let woken = 0;
    const onB = await backfillsOn(b, "ins_b", () => now + 10, () => woken++);
    // A is alive and its lease runs: B's sweep leaves the job alone.
    expect(await onB.resume(now + 10)).toBe(0);
    await a.close();
    // B's sweep finds A dead (its lock free; in one process on SQLite, its lock file gone and its heartbeat stale) ...
    await b.queue.releaseLeasesOfDeadInstances(now + 10, now + 10);
    // ... and takes the job over.
    expect(await onB.resume(now + 10)).toBe(1);
    await onB.idle();

    const done = await b.backfills.get(job.id);
    expect(done).toMatchObject({ status: "completed", events_scanned: 12, deliveries_created: 9, lease_owner: null, error: null });
    const made = (await b.log.listDeliveries({ destination_id: "late", limit: 100 })).data;
    expect(made.map((d) => d.event_id).sort()).toEqual([...matching].sort());
    expect(woken).toBeGreaterThan(0);
    // A's late chunk (a write it had under way when it was judged dead) finds its lease gone.
    const late = await b.backfills.writeChunk(
      {
        job_id: job.id, lease: { owner: "ins_a", until: now + LEASE }, renew_until: now + 2 * LEASE,
        deliveries: events.map((e) => backfilled(e.event, "late", now)), cursor: null, scanned: 12, done: true,
      },
      now + 20,
    );
    expect(late).toBeNull();
    expect((await b.log.listDeliveries({ destination_id: "late", limit: 100 })).data).toHaveLength(9);
  });

  it("cancels a job whose subscription was deleted, and fails none because the destination is disabled", async () => {
    const store = current.store;
    await store.catalog.saveDestination(destination({ id: "late", enabled: false }));
    await store.catalog.saveSubscription(subscription("sub_late", "late"));
    await store.catalog.saveSubscription(subscription("sub_gone", "late"));
    for (let i = 0; i < 3; i++) await store.queue.publish(newEvent({ at: T0 + i }));
    await store.queue.registerInstance("ins_b", T0);
    const engine = await backfillsOn(store, "ins_b", () => T0 + 5_000, () => {});
    const kept = await engine.start(CONFIG_CALLER, { tenant: null }, "sub_late", { since: T0, until: T0 + 1_000 });
    await store.catalog.deleteSubscription("sub_gone");
    const gone = backfillJob({ id: newId("bkf", T0 + 7), subscription_id: "sub_gone", lease_owner: "ins_gone" });
    await store.backfills.create(gone);
    expect(await engine.resume(T0 + 5_000)).toBe(1);
    await engine.idle();
    expect(await store.backfills.get(kept.id)).toMatchObject({ status: "completed", deliveries_created: 3 });
    expect(await store.backfills.get(gone.id)).toMatchObject({ status: "cancelled", error: "the subscription was deleted" });
    // The disabled destination's deliveries wait, pending.
    const made = (await store.log.listDeliveries({ destination_id: "late", limit: 10 })).data;
    expect(made.map((d) => d.status)).toEqual(["pending", "pending", "pending"]);
  });
});
