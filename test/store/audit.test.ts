// The store's audit contract, on every store: a catalogue write given an entry
// commits both together — an entry only when the write changed a row, and no
// change kept when its entry cannot be written (the same transaction).
import { expect, it } from "bun:test";
import type { AuditEntry } from "../../src/store/types.ts";
import { newId } from "../../src/store/ids.ts";
import { describeEachStore } from "./stores.ts";
import { destination, eventType, subscription, T0 } from "./records.ts";

let n = 0;
function entry(action: string, resource: { type: string; id: string }, id = newId("aud", T0 + ++n)): AuditEntry {
  return { id, at: T0 + n, actor: { type: "token", name: "ops" }, action, resource, tenant: "default", changes: { x: { from: 1, to: 2 } }, request_id: null };
}

describeEachStore("audit entries in the catalogue's transactions", (current) => {
  const actions = async () => (await current.store.audit.list({ limit: 100 })).data.map((e) => `${e.action} ${e.resource.id}`).reverse();

  it("writes an entry with each write that changed a row, and none with one that changed nothing", async () => {
    const { catalog } = current.store;
    const d = destination({ id: "d1" });
    expect(await catalog.createDestination(d, entry("destination.created", { type: "destination", id: "d1" }))).toBe(true);
    // The id is taken: nothing created, nothing recorded.
    expect(await catalog.createDestination(d, entry("destination.created", { type: "destination", id: "d1" }))).toBe(false);
    expect(await catalog.updateDestination({ ...d, description: "x" }, entry("destination.updated", { type: "destination", id: "d1" }))).toBe(true);
    expect(await catalog.updateDestination(destination({ id: "nope" }), entry("destination.updated", { type: "destination", id: "nope" }))).toBe(false);
    expect(await catalog.setDestinationEnabled("d1", false, "r", T0, entry("destination.disabled", { type: "destination", id: "d1" }))).toBe(true);
    expect(await catalog.setDestinationEnabled("nope", false, "r", T0, entry("destination.disabled", { type: "destination", id: "nope" }))).toBe(false);
    expect(await catalog.createSubscription(subscription("s1", "d1"), entry("subscription.created", { type: "subscription", id: "s1" }))).toBe("created");
    expect(await catalog.createSubscription(subscription("s1", "d1"), entry("subscription.created", { type: "subscription", id: "s1" }))).toBe("taken");
    expect(await catalog.createSubscription(subscription("s2", "gone"), entry("subscription.created", { type: "subscription", id: "s2" }))).toBe("no_destination");
    expect(await catalog.deleteSubscription("s1", entry("subscription.deleted", { type: "subscription", id: "s1" }))).toBe(true);
    expect(await catalog.deleteSubscription("s1", entry("subscription.deleted", { type: "subscription", id: "s1" }))).toBe(false);
    expect(await catalog.createEventType(eventType("t.one"), entry("event_type.created", { type: "event_type", id: "t.one" }))).toBe(true);
    await catalog.upsertEventType(eventType("t.one", { description: "d" }), entry("event_type.updated", { type: "event_type", id: "t.one" }));
    expect(await catalog.deleteEventType("t.one", entry("event_type.deleted", { type: "event_type", id: "t.one" }))).toBe(true);
    expect(await catalog.deleteDestination("d1", T0, entry("destination.deleted", { type: "destination", id: "d1" }))).toBe(true);
    expect(await catalog.deleteDestination("d1", T0, entry("destination.deleted", { type: "destination", id: "d1" }))).toBe(false);
    expect(await actions()).toEqual([
      "destination.created d1", "destination.updated d1", "destination.disabled d1", "subscription.created s1", "subscription.deleted s1",
      "event_type.created t.one", "event_type.updated t.one", "event_type.deleted t.one", "destination.deleted d1",
    ]);
  });

  it("keeps no change whose entry could not be written", async () => {
    const { catalog } = current.store;
    const taken = newId("aud", T0);
    await current.store.audit.record(entry("something.else", { type: "x", id: "x" }, taken));
    // The entry's id is taken: its insert fails, and the destination's with it.
    await expect(catalog.createDestination(destination({ id: "d2" }), entry("destination.created", { type: "destination", id: "d2" }, taken))).rejects.toThrow();
    expect(await catalog.getDestination("d2")).toBeNull();
    await catalog.createDestination(destination({ id: "d3" }));
    await expect(catalog.setDestinationEnabled("d3", false, "r", T0, entry("destination.disabled", { type: "destination", id: "d3" }, taken))).rejects.toThrow();
    expect((await catalog.getDestination("d3"))!.enabled).toBe(true);
    await expect(catalog.deleteDestination("d3", T0, entry("destination.deleted", { type: "destination", id: "d3" }, taken))).rejects.toThrow();
    expect(await catalog.getDestination("d3")).not.toBeNull();
    expect(await actions()).toEqual(["something.else x"]);
  });

  it("deletes the entries made before a cutoff, and no others", async () => {
    const { audit } = current.store;
    for (const at of [T0, T0 + 1_000, T0 + 2_000]) {
      await audit.record({ ...entry("a.b", { type: "x", id: String(at) }, newId("aud", at)), at });
    }
    expect(await audit.deleteBefore(T0 + 1_000)).toBe(1);
    expect((await audit.list({ limit: 10 })).data.map((e) => e.at)).toEqual([T0 + 2_000, T0 + 1_000]);
  });
});
