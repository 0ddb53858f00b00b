// Store contract: instances sharing one database. Each registers; a clean stop
// retires it and hands its leases back; one instance at a time holds the
// maintenance lease, renewed while it lives, taken over when it runs out or
// its holder is gone.
import { expect, it } from "bun:test";
import { describeEachStore } from "./stores.ts";
import { lease, newEvent, T0, withDestinations } from "./records.ts";

const TERM = 15_000;

describeEachStore("instances", (current) => {
  it("counts the registered instances; a retired one is forgotten and its leases go back to pending", async () => {
    const { store } = current;
    const other = await current.another();
    await store.queue.registerInstance("ins_a", T0);
    await other.queue.registerInstance("ins_b", T0);
    expect(await store.queue.countInstances()).toBe(2);

    await withDestinations(store, "d");
    for (let i = 0; i < 3; i++) await store.queue.publish(newEvent({ at: T0 + i, to: ["d"] }));
    expect((await other.queue.claimDue(T0 + 10, lease(T0 + 60_000, "ins_b"), 2)).length).toBe(2);
    expect((await store.queue.claimDue(T0 + 10, lease(T0 + 60_000, "ins_a"), 2)).length).toBe(1);

    expect(await other.queue.retireInstance("ins_b", T0 + 20)).toBe(2);
    expect(await store.queue.countInstances()).toBe(1);
    const page = await store.log.listDeliveries({ limit: 10 });
    expect(page.data.map((d) => [d.status, d.lease_owner]).sort()).toEqual([["delivering", "ins_a"], ["pending", null], ["pending", null]]);
  });

  it("gives the maintenance lease to one instance at a time, renewed by its holder", async () => {
    const { store } = current;
    const other = await current.another();
    await store.queue.registerInstance("ins_a", T0);
    await other.queue.registerInstance("ins_b", T0);
    expect(await store.admin.leadMaintenance("ins_a", T0, T0 + TERM)).toBe(true);
    expect(await other.admin.leadMaintenance("ins_b", T0 + 1_000, T0 + 1_000 + TERM)).toBe(false);
    // The holder renews it; the other still cannot take it before the renewed term ends.
    expect(await store.admin.leadMaintenance("ins_a", T0 + 10_000, T0 + 10_000 + TERM)).toBe(true);
    expect(await other.admin.leadMaintenance("ins_b", T0 + TERM + 1, T0 + 2 * TERM)).toBe(false);
    // Not renewed in time (a stalled or dead holder): the next to ask takes it over.
    expect(await other.admin.leadMaintenance("ins_b", T0 + 10_000 + TERM, T0 + 10_000 + 2 * TERM)).toBe(true);
    expect(await store.admin.leadMaintenance("ins_a", T0 + 10_000 + TERM + 1, T0 + 20_000 + 2 * TERM)).toBe(false);
  });

  it("hands the maintenance lease over at once when its holder is no longer registered", async () => {
    const { store } = current;
    const other = await current.another();
    await store.queue.registerInstance("ins_a", T0);
    await other.queue.registerInstance("ins_b", T0);
    expect(await other.admin.leadMaintenance("ins_b", T0, T0 + TERM)).toBe(true);
    await other.queue.retireInstance("ins_b", T0 + 1_000);
    expect(await store.admin.leadMaintenance("ins_a", T0 + 2_000, T0 + 2_000 + TERM)).toBe(true);
  });
});
