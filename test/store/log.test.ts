// Store contract: the log read back — events and deliveries newest first in
// pages that cover everything once, filters, and retention that removes only
// old events whose deliveries are all final, with their attempts.
import { expect, it } from "bun:test";
import { describeEachStore } from "./stores.ts";
import { asLeased, lease, leaseOf, newEvent, T0, withDestinations } from "./records.ts";

describeEachStore("the log", (current) => {
  it("pages events newest first, every event exactly once, within the tenant asked for", async () => {
    const { store } = current;
    const published: { id: string; tenant: string }[] = [];
    for (let i = 0; i < 23; i++) {
      const item = newEvent({ at: T0 + i * 10, tenant: i % 3 === 0 ? "acme" : "globex" });
      await store.queue.publish(item);
      published.push({ id: item.event.id, tenant: item.event.tenant });
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await store.log.listEvents({ tenant: "globex", limit: 4, cursor });
      seen.push(...page.data.map((e) => e.id));
      if (!page.next_cursor) break;
      cursor = page.next_cursor;
    }
    const expected = published.filter((e) => e.tenant === "globex").map((e) => e.id).reverse();
    expect(seen).toEqual(expected);
  });

  it("filters deliveries by state, destination and time window", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b");
    await store.queue.publish(newEvent({ at: T0, to: ["a", "b"], status: "failed" }));
    await store.queue.publish(newEvent({ at: T0 + 1_000, to: ["a"], status: "succeeded" }));
    await store.queue.publish(newEvent({ at: T0 + 2_000, to: ["b"] }));
    const ids = async (filter: Parameters<typeof store.log.listDeliveries>[0]) => (await store.log.listDeliveries(filter)).data.map((d) => `${d.destination_id}:${d.status}`);
    expect(await ids({ status: "failed", limit: 10 })).toEqual(expect.arrayContaining(["a:failed", "b:failed"]));
    expect(await ids({ status: "failed", limit: 10 })).toHaveLength(2);
    expect(await ids({ destination_id: "a", limit: 10 })).toEqual(["a:succeeded", "a:failed"]);
    expect(await ids({ since: T0 + 500, until: T0 + 2_500, limit: 10 })).toEqual(["b:pending", "a:succeeded"]);
  });

  it("deletes events older than the cutoff whose deliveries are all final, with their deliveries and attempts", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const oldDone = newEvent({ at: T0, to: ["a"] });
    const oldPending = newEvent({ at: T0 + 1, to: ["a"] });
    const newDone = newEvent({ at: T0 + 100_000, to: ["a"], status: "succeeded" });
    for (const item of [oldDone, oldPending, newDone]) await store.queue.publish(item);
    // oldDone gets an attempt and succeeds, so retention has attempts to remove too.
    const [job] = await store.queue.claimDue(T0, lease(T0 + 60_000), 1);
    expect(job!.event.id).toBe(oldDone.event.id);
    await store.queue.recordAttempt({
      delivery_id: job!.delivery.id,
      lease: leaseOf(job!),
      as_leased: asLeased(job!),
      attempt: { started_at: T0, duration_ms: 5, request_url: "https://hooks.example.com/a", request_headers: {}, response_status: 200, response_headers: {}, response_body: "", error: null },
      outcome: { status: "succeeded" },
    }, T0 + 10);
    expect(await store.admin.deleteFinishedBefore(T0 + 50_000)).toBe(1);
    expect(await store.log.getEvent(oldDone.event.id)).toBeNull();
    expect(await store.log.getDelivery(job!.delivery.id)).toBeNull();
    expect(await store.log.attemptsOf(job!.delivery.id)).toEqual([]);
    expect(await store.log.getEvent(oldPending.event.id)).not.toBeNull();
    expect(await store.log.getEvent(newDone.event.id)).not.toBeNull();
  });
});
