// Store contract: publishing writes an event with its deliveries at once;
// producer ids and idempotency keys repeat only within a tenant.
import { expect, it } from "bun:test";
import { describeEachStore } from "./stores.ts";
import { newEvent, withDestinations } from "./records.ts";

describeEachStore("publishing", (current) => {
  it("writes the event and one delivery row per destination, read back as written", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b", "c");
    const item = newEvent({ to: ["a", "b", "c"], data: { order: 42 } });
    const result = await store.queue.publish(item);
    expect(result.created).toBe(true);
    expect(await store.log.getEvent(item.event.id)).toEqual(item.event);
    const rows = await store.log.deliveriesOfEvent(item.event.id);
    expect(rows.map((d) => d.destination_id).sort()).toEqual(["a", "b", "c"]);
    for (const row of rows) expect(row).toMatchObject({ event_id: item.event.id, status: "pending", attempts: 0 });
  });

  it("answers a repeated idempotency key with the original, and says whether the body matched", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const first = newEvent({ to: ["a"], idempotency_key: "k1" });
    await store.queue.publish(first);
    const same = await store.queue.publish(newEvent({ to: ["a"], idempotency_key: "k1" }));
    expect(same).toMatchObject({ created: false, same_request: true });
    expect(same.event.id).toBe(first.event.id);
    const other = await store.queue.publish(newEvent({ to: ["a"], idempotency_key: "k1", data: { different: true } }));
    expect(other).toMatchObject({ created: false, same_request: false });
    expect(await store.log.deliveriesOfEvent(first.event.id)).toHaveLength(1);
  });

  it("scopes producer ids and idempotency keys to the tenant", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const acme = await store.queue.publish(newEvent({ tenant: "acme", id: "order-42", idempotency_key: "k", to: ["a"] }));
    const globex = await store.queue.publish(newEvent({ tenant: "globex", id: "order-42", idempotency_key: "k", to: ["a"] }));
    expect(acme.created).toBe(true);
    expect(globex.created).toBe(true);
    // Stored ids stay unique: the second tenant's event gets a generated one.
    expect(acme.event.id).toBe("order-42");
    expect(globex.event.id).not.toBe("order-42");
    expect((await store.log.getEvent(globex.event.id))!.tenant).toBe("globex");
    expect((await store.log.deliveriesOfEvent(globex.event.id)).map((d) => d.event_id)).toEqual([globex.event.id]);
    // A repeat within a tenant finds that tenant's own event.
    const again = await store.queue.publish(newEvent({ tenant: "globex", id: "order-42", to: ["a"] }));
    expect(again).toMatchObject({ created: false });
    expect(again.event.id).toBe(globex.event.id);
  });
});
