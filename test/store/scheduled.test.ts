// Store contract for scheduled delivery: an event keeps the deliver_at it was
// published with (read back, listed, and returned with a repeat), its deliveries
// wait in the job table until then, and cancelling an event's deliveries takes
// only those not yet made (pending), within the caller's tenant.
import { expect, it } from "bun:test";
import { describeEachStore } from "./stores.ts";
import { asLeased, lease, newEvent, T0, withDestinations } from "./records.ts";

const HOUR = 3_600_000;

describeEachStore("scheduled delivery", (current) => {
  it("keeps an event's deliver_at, null for one not scheduled, and its deliveries wait until then", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const scheduled = newEvent({ at: T0, to: ["a"], deliver_at: T0 + HOUR, id: "order-1" });
    const now = newEvent({ at: T0 + 1, to: ["a"] });
    await store.queue.publish(scheduled);
    await store.queue.publish(now);
    expect((await store.log.getEvent(scheduled.event.id))!.deliver_at).toBe(T0 + HOUR);
    expect((await store.log.getEvent(now.event.id))!.deliver_at).toBeNull();
    const listed = (await store.log.listEvents({ limit: 10 })).data;
    expect(Object.fromEntries(listed.map((e) => [e.id, e.deliver_at]))).toEqual({ [now.event.id]: null, [scheduled.event.id]: T0 + HOUR });
    // A repeat finds the original with its deliver_at.
    const repeat = await store.queue.publish(newEvent({ at: T0 + 5, to: ["a"], deliver_at: T0 + HOUR, id: "order-1" }));
    expect(repeat).toMatchObject({ created: false, same_request: true, event: { id: scheduled.event.id, deliver_at: T0 + HOUR } });
    // Claims before the time take only the unscheduled delivery; at the time, the scheduled one.
    const early = await store.queue.claimDue(T0 + HOUR - 1, lease(T0 + 2 * HOUR), 10);
    expect(early.map((j) => j.event.id)).toEqual([now.event.id]);
    const due = await store.queue.claimDue(T0 + HOUR, lease(T0 + 2 * HOUR), 10);
    expect(due.map((j) => j.event.id)).toEqual([scheduled.event.id]);
  });

  it("cancels an event's pending deliveries, and leaves those being sent or final alone", async () => {
    const { store } = current;
    await withDestinations(store, "a", "b", "c", "d");
    const item = newEvent({ at: T0, to: ["a", "b", "c"], deliver_at: T0 + HOUR });
    const other = newEvent({ at: T0 + 1, to: ["a"], deliver_at: T0 + HOUR });
    await store.queue.publish(item);
    await store.queue.publish(other);
    // b is being sent (claimed at its time); c is done already.
    const [forA, forB, forC] = ["a", "b", "c"].map((to) => item.deliveries.find((d) => d.destination_id === to)!);
    const claimed = await store.queue.claimDue(T0 + HOUR, lease(T0 + 2 * HOUR), 10);
    expect(claimed).toHaveLength(4);
    await store.queue.releaseLease(forA!.id, lease(T0 + 2 * HOUR), T0 + HOUR, T0 + 2 * HOUR);
    await store.queue.releaseLease(other.deliveries[0]!.id, lease(T0 + 2 * HOUR), T0 + HOUR, T0 + 2 * HOUR);
    const c = claimed.find((j) => j.delivery.id === forC!.id)!;
    await store.queue.recordAttempt(
      {
        delivery_id: forC!.id, lease: lease(T0 + 2 * HOUR), as_leased: asLeased(c), outcome: { status: "succeeded" },
        attempt: {
          started_at: T0 + HOUR, duration_ms: 5, request_url: "https://hooks.example.com/c", request_headers: {},
          response_status: 200, response_headers: {}, response_body: "", error: null,
        },
      },
      T0 + HOUR + 10,
    );
    expect(c.delivery.status).toBe("delivering");

    expect(await store.queue.cancelPendingOfEvent(item.event.id, T0 + HOUR + 20, null)).toBe(1);
    expect(await store.log.getDelivery(forA!.id)).toMatchObject({
      status: "cancelled", finalized_at: T0 + HOUR + 20, next_attempt_at: null, last_error: "cancelled through the API",
    });
    expect((await store.log.getDelivery(forB!.id))!.status).toBe("delivering");
    expect((await store.log.getDelivery(forC!.id))!.status).toBe("succeeded");
    // Another event's deliveries are not touched, and a cancelled delivery is never claimed.
    expect((await store.log.getDelivery(other.deliveries[0]!.id))!.status).toBe("pending");
    const later = await store.queue.claimDue(T0 + 3 * HOUR, lease(T0 + 4 * HOUR), 10);
    expect(later.map((j) => j.delivery.id)).toEqual([other.deliveries[0]!.id]);
    // Nothing left to cancel: a second cancel changes nothing.
    expect(await store.queue.cancelPendingOfEvent(item.event.id, T0 + HOUR + 30, null)).toBe(0);
  });

  it("cancels within one tenant only", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const acme = newEvent({ at: T0, tenant: "acme", to: ["a"], deliver_at: T0 + HOUR });
    await store.queue.publish(acme);
    expect(await store.queue.cancelPendingOfEvent(acme.event.id, T0 + 1, "globex")).toBe(0);
    expect((await store.log.getDelivery(acme.deliveries[0]!.id))!.status).toBe("pending");
    expect(await store.queue.cancelPendingOfEvent(acme.event.id, T0 + 2, "acme")).toBe(1);
    expect((await store.log.getDelivery(acme.deliveries[0]!.id))!.status).toBe("cancelled");
  });
});
