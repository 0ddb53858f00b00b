// Store contract: writes racing from two instances on one database. The
// database's constraints decide, not a per-process cache: the same producer id
// or idempotency key published at once through two stores is stored once, and
// every caller is answered with that one event.
import { expect, it } from "bun:test";
import type { PublishResult } from "../../src/store/types.ts";
import { describeEachStore } from "./stores.ts";
import { newEvent, withDestinations } from "./records.ts";

describeEachStore("publishes racing from two instances", (current) => {
  it("stores a producer id published through both at once exactly once, and answers every caller with it", async () => {
    const { store, another } = current;
    const second = await another();
    await withDestinations(store, "a");
    const calls: Promise<PublishResult>[] = [];
    for (let i = 0; i < 20; i++) {
      const via = i % 2 === 0 ? store : second;
      calls.push(via.queue.publish(newEvent({ tenant: "acme", id: "order-7", to: ["a"] })));
    }
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.event.id))).toEqual(new Set(["order-7"]));
    for (const r of results) if (!r.created) expect(r.same_request).toBe(true);
    expect(await store.log.deliveriesOfEvent("order-7")).toHaveLength(1);
  });

  it("keeps idempotency keys apart per tenant and together within one, under concurrent publishes", async () => {
    const { store, another } = current;
    const second = await another();
    await withDestinations(store, "a");
    const calls: Promise<PublishResult>[] = [];
    for (let i = 0; i < 30; i++) {
      const via = i % 2 === 0 ? store : second;
      const tenant = i % 3 === 0 ? "acme" : "globex";
      calls.push(via.queue.publish(newEvent({ tenant, idempotency_key: `k${i % 5}`, data: { i: i % 5 }, to: ["a"] })));
    }
    const results = await Promise.all(calls);
    const created = results.filter((r) => r.created);
    // One event per (tenant, key) pair that occurred.
    const pairs = new Set(Array.from({ length: 30 }, (_, i) => `${i % 3 === 0 ? "acme" : "globex"}/k${i % 5}`));
    expect(created).toHaveLength(pairs.size);
    const byPair = new Map(created.map((r) => [`${r.event.tenant}/k${(r.event.data as { i: number }).i}`, r.event.id]));
    for (const r of results) expect(r.event.id).toBe(byPair.get(`${r.event.tenant}/k${(r.event.data as { i: number }).i}`)!);
    expect((await store.log.listEvents({ limit: 100 })).data).toHaveLength(pairs.size);
  });

  it("gives claimers on two instances disjoint rows while publishes keep arriving", async () => {
    const { store, another } = current;
    const second = await another();
    await withDestinations(store, "a");
    const T = Date.parse("2026-06-01T12:00:00Z");
    const publishing = Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? store : second).queue.publish(newEvent({ at: T + i, to: ["a"] }))));
    const claimed: string[] = [];
    for (let round = 0; round < 10; round++) {
      const claims = await Promise.all([
        store.queue.claimDue(T + 1_000, { owner: "ins_a", until: T + 60_000 }, 7),
        second.queue.claimDue(T + 1_000, { owner: "ins_b", until: T + 60_000 }, 7),
      ]);
      claimed.push(...claims.flat().map((j) => j.delivery.id));
    }
    await publishing;
    const rest = await store.queue.claimDue(T + 1_000, { owner: "ins_a", until: T + 60_000 }, 1_000);
    claimed.push(...rest.map((j) => j.delivery.id));
    expect(new Set(claimed).size).toBe(claimed.length);
    expect(claimed).toHaveLength(60);
  });
});
