// Store contract: the maintenance that must run on one instance at a time.
// The registered instances are counted (they share each rate limit); one of
// them holds the maintenance lease, renewed while it lives, taken over when it
// runs out or its holder is no longer registered.
import { expect, it } from "bun:test";
import { describeEachStore } from "./stores.ts";
import { T0 } from "./records.ts";

const TERM = 15_000;

describeEachStore("maintenance among instances", (current) => {
  it("counts the registered instances, and not a retired one", async () => {
    const { store } = current;
    const other = await current.another();
    expect(await store.queue.countInstances()).toBe(0);
    await store.queue.registerInstance("ins_a", T0);
    await other.queue.registerInstance("ins_b", T0);
    expect(await store.queue.countInstances()).toBe(2);
    await other.queue.retireInstance("ins_b", T0 + 20);
    expect(await store.queue.countInstances()).toBe(1);
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
