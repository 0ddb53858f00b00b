// Store contract: instances sharing one database. A live instance's leases are
// never taken back, however long its heartbeat has been silent (a stalled event
// loop is not a death); leases that name no registered instance are returned;
// a clean stop hands the instance's own leases back.
import { expect, it } from "bun:test";
import { describeEachStore } from "./stores.ts";
import { lease, newEvent, T0, withDestinations } from "./records.ts";

const LEASE = 60_000;

describeEachStore("instances", (current) => {
  it("never returns a live instance's leases, even with its heartbeat long stale", async () => {
    const { store, another } = current;
    const live = await another();
    await withDestinations(store, "a");
    for (let i = 0; i < 3; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    await live.queue.registerInstance("ins_live", T0);
    const claimed = await live.queue.claimDue(T0 + 10, lease(T0 + LEASE, "ins_live"), 10);
    expect(claimed).toHaveLength(3);
    // Heartbeat seen last at T0, and the sweep asks for anything silent since an hour later.
    expect(await store.queue.releaseLeasesOfDeadInstances(T0 + 3_600_000, T0 + 3_600_000)).toBe(0);
    expect(await live.queue.releaseLeasesOfDeadInstances(T0 + 3_600_000, T0 + 3_600_000)).toBe(0);
    const delivering = (await store.log.listDeliveries({ status: "delivering", limit: 10 })).data;
    expect(delivering.map((d) => d.lease_owner)).toEqual(["ins_live", "ins_live", "ins_live"]);
  });

  it("returns leases that name no registered instance, due now, and leaves the registered one's", async () => {
    const { store, another } = current;
    const live = await another();
    await withDestinations(store, "a");
    for (let i = 0; i < 4; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    await live.queue.registerInstance("ins_live", T0);
    const [kept] = await live.queue.claimDue(T0 + 10, lease(T0 + LEASE, "ins_live"), 1);
    const orphans = await store.queue.claimDue(T0 + 10, lease(T0 + LEASE, "ins_gone"), 3);
    expect(orphans).toHaveLength(3);
    expect(await store.queue.releaseLeasesOfDeadInstances(T0 + 20, T0)).toBe(3);
    for (const job of orphans) {
      expect(await store.log.getDelivery(job.delivery.id)).toMatchObject({ status: "pending", lease_owner: null, lease_until: null, next_attempt_at: T0 + 20 });
    }
    expect(await store.log.getDelivery(kept!.delivery.id)).toMatchObject({ status: "delivering", lease_owner: "ins_live" });
  });

  it("hands an instance's own leases back when it retires, and then forgets it", async () => {
    const { store, another } = current;
    const leaving = await another();
    await withDestinations(store, "a");
    for (let i = 0; i < 2; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["a"] }));
    await leaving.queue.registerInstance("ins_leaving", T0);
    await leaving.queue.claimDue(T0 + 10, lease(T0 + LEASE, "ins_leaving"), 10);
    expect(await leaving.queue.retireInstance("ins_leaving", T0 + 20)).toBe(2);
    expect((await store.log.listDeliveries({ status: "pending", limit: 10 })).data).toHaveLength(2);
    // Forgotten: a lease that still names it (a late claim) is ownerless now.
    await store.queue.claimDue(T0 + 30, lease(T0 + LEASE, "ins_leaving"), 1);
    expect(await store.queue.releaseLeasesOfDeadInstances(T0 + 40, T0)).toBe(1);
  });
});
