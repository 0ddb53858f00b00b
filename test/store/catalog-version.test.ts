// The store's catalogue version (DESIGN §7): every write to event types,
// destinations or subscriptions raises it in its own transaction, whichever
// method makes it, and nothing else does; creates insert only when the key is
// free, updates never bring back a deleted row. Written against the store
// alone, each call awaited, so it holds unchanged when the store turns async.
import { expect, it } from "bun:test";
import { describeEachStore, type StoreUnderTest } from "./stores.ts";
import { destination as makeDestination, asLeased, eventType, lease, leaseOf, newEvent as makeEvent, subscription, T0 } from "./records.ts";

const destination = (id: string, over: Parameters<typeof makeDestination>[0] = {}) => makeDestination({ id, url: "https://example.com/hooks", ...over });

/** One event with one delivery to `destinationId`, written as the publisher would. */
const newEvent = (id: string, destinationId: string) => {
  const item = makeEvent({ to: [destinationId] });
  return { ...item, event: { ...item.event, id }, deliveries: item.deliveries.map((d) => ({ ...d, event_id: id })) };
};

/** A test's store, and `again` for a second instance on the same database. */
const storesOf = (current: StoreUnderTest) => async () => ({ store: current.store, again: current.another });

describeEachStore("the catalogue version", (current) => {
  const openStores = storesOf(current);
  it("rises with every catalogue write, in every method that writes one", async () => {
    const { store } = await openStores();
    await store.catalog.createDestination(destination("keep"));
    await store.catalog.createDestination(destination("gone"));
    await store.catalog.createSubscription(subscription("gone-sub", "gone"));
    await store.catalog.createEventType(eventType("order.created"));

    // Each write, by the method that makes it; all of them must raise the version.
    const writes: [string, () => unknown][] = [
      ["createEventType", async () => await store.catalog.createEventType(eventType("a.b"))],
      ["updateEventType", async () => await store.catalog.updateEventType(eventType("a.b", { description: "changed" }))],
      ["upsertEventType (insert)", async () => await store.catalog.upsertEventType(eventType("c.d", { managed_by: "config" }))],
      ["upsertEventType (update)", async () => await store.catalog.upsertEventType(eventType("c.d", { managed_by: "config", description: "x" }))],
      ["deleteEventType", async () => await store.catalog.deleteEventType("c.d")],
      ["createDestination", async () => await store.catalog.createDestination(destination("d1"))],
      ["updateDestination", async () => await store.catalog.updateDestination(destination("d1", { url: "https://example.com/other" }))],
      ["saveDestination (insert)", async () => await store.catalog.saveDestination(destination("d2", { managed_by: "config" }))],
      ["saveDestination (update)", async () => await store.catalog.saveDestination(destination("d2", { managed_by: "config", url: "https://example.com/2" }))],
      ["setDestinationEnabled (disable)", async () => await store.catalog.setDestinationEnabled("d2", false, "paused", T0)],
      ["setDestinationEnabled (enable)", async () => await store.catalog.setDestinationEnabled("d2", true, null, T0)],
      ["createSubscription", async () => await store.catalog.createSubscription(subscription("s1", "d1"))],
      ["updateSubscription", async () => await store.catalog.updateSubscription(subscription("s1", "d1", { event_types: ["a.*"] }))],
      ["saveSubscription (insert)", async () => await store.catalog.saveSubscription(subscription("s2", "d2", { managed_by: "config" }))],
      ["saveSubscription (update)", async () => await store.catalog.saveSubscription(subscription("s2", "d2", { managed_by: "config", enabled: false }))],
      ["deleteSubscription", async () => await store.catalog.deleteSubscription("s2")],
      ["deleteDestination (and its subscriptions)", async () => await store.catalog.deleteDestination("gone", T0)],
      ["recordAttempt that disables the destination (410 Gone)", async () => {
        await store.queue.publish(newEvent("evt_gone", "keep"));
        const [job] = await store.queue.claimDue(T0, lease(T0 + 60_000), 10);
        await store.queue.recordAttempt({
          delivery_id: job!.delivery.id,
          lease: leaseOf(job!),
          as_leased: asLeased(job!),
          attempt: { started_at: T0, duration_ms: 1, request_url: "https://example.com/hooks", request_headers: {}, response_status: 410, response_headers: {}, response_body: "", error: "HTTP 410" },
          outcome: { status: "failed" },
          disable_destination: "the endpoint answered 410 Gone",
        }, T0);
      }],
    ];
    const missed: string[] = [];
    for (const [name, write] of writes) {
      const before = await store.catalog.version();
      await write();
      if (!((await store.catalog.version()) > before)) missed.push(name);
    }
    expect(missed).toEqual([]);
    expect((await store.catalog.getDestination("keep"))!.enabled).toBe(false); // the 410 write really happened
  });

  it("stays put for writes that change no catalogue row and for delivery traffic", async () => {
    const { store } = await openStores();
    await store.catalog.createDestination(destination("d"));
    await store.catalog.createSubscription(subscription("s", "d"));
    await store.catalog.createEventType(eventType("order.created"));
    const before = await store.catalog.version();

    expect(await store.catalog.createDestination(destination("d", { url: "https://example.com/rival" }))).toBe(false);
    expect(await store.catalog.createSubscription(subscription("s", "d"))).toBe("taken");
    expect(await store.catalog.createEventType(eventType("order.created"))).toBe(false);
    expect(await store.catalog.updateDestination(destination("nope"))).toBe(false);
    expect(await store.catalog.updateSubscription(subscription("nope", "d"))).toBe(false);
    expect(await store.catalog.updateEventType(eventType("no.such"))).toBe(false);
    // Publishing, claiming and a failed attempt (which marks the destination
    // failing_since, delivery health read from the table) are no catalogue change.
    await store.queue.publish(newEvent("evt_1", "d"));
    const [job] = await store.queue.claimDue(T0, lease(T0 + 60_000), 10);
    await store.queue.recordAttempt({
      delivery_id: job!.delivery.id,
      lease: leaseOf(job!),
      as_leased: asLeased(job!),
      attempt: { started_at: T0, duration_ms: 1, request_url: "https://example.com/hooks", request_headers: {}, response_status: 500, response_headers: {}, response_body: "", error: "HTTP 500" },
      outcome: { status: "pending", next_attempt_at: T0 + 5_000 },
    }, T0);
    expect((await store.catalog.getDestination("d"))!.failing_since).toBe(T0);

    expect(await store.catalog.version()).toBe(before);
  });

  it("is read with the rows of the same snapshot", async () => {
    const { store, again } = await openStores();
    await store.catalog.createDestination(destination("d"));
    const other = await again();
    const first = await other.catalog.load();
    expect(first.destinations.map((d) => d.id)).toEqual(["d"]);
    expect(first.version).toBe(await store.catalog.version());
    await store.catalog.createSubscription(subscription("s", "d"));
    // The second connection sees the new version, and its next load carries the new row.
    expect(await other.catalog.version()).toBeGreaterThan(first.version);
    expect((await other.catalog.load()).subscriptions.map((s) => s.id)).toEqual(["s"]);
  });
});

describeEachStore("creates and updates between two connections", (current) => {
  const openStores = storesOf(current);
  it("lets only the first create of an id in, and never overwrites it", async () => {
    const { store, again } = await openStores();
    const other = await again();
    expect(await store.catalog.createDestination(destination("d", { url: "https://example.com/first" }))).toBe(true);
    expect(await other.catalog.createDestination(destination("d", { url: "https://example.com/second" }))).toBe(false);
    expect((await other.catalog.getDestination("d"))!.url).toBe("https://example.com/first");

    expect(await other.catalog.createSubscription(subscription("s", "d", { event_types: ["first"] }))).toBe("created");
    expect(await store.catalog.createSubscription(subscription("s", "d", { event_types: ["second"] }))).toBe("taken");
    expect((await store.catalog.getSubscription("s"))!.event_types).toEqual(["first"]);

    expect(await store.catalog.createEventType(eventType("a.b", { description: "first" }))).toBe(true);
    expect(await other.catalog.createEventType(eventType("a.b", { description: "second" }))).toBe(false);
    expect((await other.catalog.getEventType("a.b"))!.description).toBe("first");
  });

  it("refuses a subscription whose destination another connection deleted", async () => {
    const { store, again } = await openStores();
    await store.catalog.createDestination(destination("d"));
    await (await again()).catalog.deleteDestination("d", T0);
    expect(await store.catalog.createSubscription(subscription("s", "d"))).toBe("no_destination");
    expect(await store.catalog.getSubscription("s")).toBeNull();
  });

  it("does not bring back a row another connection deleted", async () => {
    const { store, again } = await openStores();
    const other = await again();
    await store.catalog.createDestination(destination("d"));
    await store.catalog.createSubscription(subscription("s", "d"));
    await store.catalog.createEventType(eventType("a.b"));
    const [d, s, t] = [(await store.catalog.getDestination("d"))!, (await store.catalog.getSubscription("s"))!, (await store.catalog.getEventType("a.b"))!];
    await other.catalog.deleteEventType("a.b");
    await other.catalog.deleteDestination("d", T0); // its subscription goes with it
    expect(await store.catalog.updateDestination({ ...d, url: "https://example.com/late" })).toBe(false);
    expect(await store.catalog.updateSubscription({ ...s, enabled: false })).toBe(false);
    expect(await store.catalog.updateEventType({ ...t, description: "late" })).toBe(false);
    expect(await store.catalog.getDestination("d")).toBeNull();
    expect(await store.catalog.getSubscription("s")).toBeNull();
    expect(await store.catalog.getEventType("a.b")).toBeNull();
  });
});
