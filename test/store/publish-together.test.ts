// Store contract: publishes submitted together (many requests in one turn, or
// one batch request's events in one publishMany call) are written together,
// yet each is answered exactly as if they had been published one after
// another, in the order submitted.
import { afterEach, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.ts";
import { describeEachStore } from "./stores.ts";
import { newEvent, T0, withDestinations } from "./records.ts";
import type { Store } from "../../src/store/store.ts";
import type { NewEvent, PublishResult } from "../../src/store/types.ts";

/** The two ways publishes reach the store together: a publish each in the same turn, or one publishMany. */
const WAYS: [string, (store: Store, items: NewEvent[]) => Promise<PublishResult[]>][] = [
  ["a publish each", (store, items) => Promise.all(items.map((item) => store.queue.publish(item)))],
  ["one publishMany", (store, items) => store.queue.publishMany(items)],
];

describeEachStore("publishing together", (current) => {
  for (const [way, publishAll] of WAYS) {
    it(`answers repeats inside the group and of rows already there as one-by-one publishes would (${way})`, async () => {
      const { store } = current;
      await withDestinations(store, "a", "b");
      // Already there: an event of tenant acme holding the id "order-1", and one with key "old".
      const acmeOrder = await store.queue.publish(newEvent({ tenant: "acme", id: "order-1", to: ["a"] }));
      const old = await store.queue.publish(newEvent({ idempotency_key: "old", to: ["a"] }));

      const items = [
        newEvent({ to: ["a", "b"] }), // 0: fresh
        newEvent({ idempotency_key: "old", to: ["a"] }), // 1: repeat of a row already there
        // 2: producer id held as an id by acme's event: stored under a generated id; it claims key "k" first
        newEvent({ id: "order-1", idempotency_key: "k", to: ["a", "b"] }),
        newEvent({ idempotency_key: "k", to: ["b"], data: { n: 3 } }), // 3: repeat of 2 (another body), which comes first
        newEvent({ idempotency_key: "k2", to: ["a"], data: { n: 1 } }), // 4: fresh
        newEvent({ idempotency_key: "k2", to: ["a"], data: { n: 2 } }), // 5: repeat of 4 with another body
        newEvent({ tenant: "acme", idempotency_key: "k", to: ["b"] }), // 6: another tenant's "k": fresh
        newEvent({ id: "order-1", to: ["a"] }), // 7: repeat of 2 by its producer id
      ];
      const results = await publishAll(store, items);

      expect(results.map((r) => r.created)).toEqual([true, false, true, false, true, false, true, false]);
      expect(results[1]!.event.id).toBe(old.event.id);
      expect(results[2]!.event.id).not.toBe("order-1");
      expect(results[2]!.event.id).not.toBe(acmeOrder.event.id);
      expect(results[3]!).toMatchObject({ same_request: false });
      expect(results[3]!.event.id).toBe(results[2]!.event.id);
      // The repeat is answered with the original's deliveries, written by then.
      expect(results[3]!.deliveries.map((d) => d.destination_id).sort()).toEqual(["a", "b"]);
      expect(results[5]!).toMatchObject({ same_request: false });
      expect(results[5]!.event.id).toBe(items[4]!.event.id);
      expect(results[5]!.deliveries.map((d) => d.destination_id)).toEqual(["a"]);
      expect(results[6]!.event.tenant).toBe("acme");
      expect(results[7]!.event.id).toBe(results[2]!.event.id);
      expect(results[7]!.deliveries.map((d) => d.destination_id).sort()).toEqual(["a", "b"]);

      // What is stored: each created event once, with its own deliveries.
      for (const i of [0, 2, 4, 6]) {
        const id = results[i]!.event.id;
        expect((await store.log.getEvent(id))!.tenant).toBe(items[i]!.event.tenant);
        const rows = await store.log.deliveriesOfEvent(id);
        expect(rows.map((d) => d.destination_id).sort()).toEqual(items[i]!.deliveries.map((d) => d.destination_id).sort());
        expect(rows.map((d) => d.id).sort()).toEqual(results[i]!.deliveries.map((d) => d.id).sort());
      }
      expect(await store.log.deliveriesOfEvent(items[3]!.event.id)).toEqual([]);
      expect(await store.log.getEvent(items[3]!.event.id)).toBeNull();
    });

    it(`writes a large group whole: 150 events, one of them to 100 destinations, every row as given (${way})`, async () => {
      const { store } = current;
      const many = Array.from({ length: 100 }, (_, i) => `d${i}`);
      await withDestinations(store, ...many);
      // Leased, pending and scheduled rows mixed, so every column of every row is compared.
      // PostgreSQL writes the 249 rows with COPY, the tenant's tab, newline and backslashes
      // escaped (a COPY that failed would be replayed a publish at a time, and pass here:
      // postgres.test.ts counts the transactions).
      const items = [
        newEvent({ to: many, status: "delivering", tenant: "tab\there\nnew\\line\\N\r" }),
        ...Array.from({ length: 149 }, (_, i) =>
          newEvent({ to: [`d${i % 100}`], data: { i }, status: i % 2 === 0 ? "pending" : "delivering", deliver_at: i % 3 === 0 ? T0 + 60_000 : undefined }),
        ),
      ];
      const results = await publishAll(store, items);
      expect(results.every((r) => r.created)).toBe(true);
      for (const item of items) {
        const event = (await store.log.getEvent(item.event.id))!;
        expect(event.data).toEqual(item.event.data);
        expect(event.deliver_at).toBe(item.event.deliver_at);
        const rows = await store.log.deliveriesOfEvent(item.event.id);
        expect(rows.sort((a, b) => a.id.localeCompare(b.id))).toEqual([...item.deliveries].sort((a, b) => a.id.localeCompare(b.id)));
      }
    });
  }
});

describeEachStore("publishing together, an id taken", (current) => {
  it("refuses the one publish whose generated id is somehow taken, and writes the others of its group as given", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const there = await store.queue.publish(newEvent({ to: ["a"] }));
    // No key of its producer's, yet its id is taken. On PostgreSQL such events go
    // in without ON CONFLICT: the group's transaction fails and its publishes are
    // written again one by one, this one refused as it always was.
    const clash = newEvent({ to: ["a"] });
    clash.event = { ...clash.event, id: there.event.id };
    clash.deliveries = clash.deliveries.map((d) => ({ ...d, event_id: there.event.id }));
    const items = [newEvent({ to: ["a"] }), clash, newEvent({ to: ["a"] })];
    const settled = await Promise.allSettled(items.map((item) => store.queue.publish(item)));
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    for (const i of [0, 2]) {
      const rows = await store.log.deliveriesOfEvent(items[i]!.event.id);
      expect(rows.map((d) => d.id)).toEqual(items[i]!.deliveries.map((d) => d.id));
    }
    // The event already there keeps its own delivery, and only that.
    expect((await store.log.deliveriesOfEvent(there.event.id)).map((d) => d.id)).toEqual(there.deliveries.map((d) => d.id));
  });
});

describe("publishing together [sqlite]", () => {
  let dir = "";
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A fresh store with destination "a", and three events to it; the second's leased delivery has no lease time, which breaks the job table's CHECK. */
  async function withRuleBreakingGroup(run: (store: SqliteStore, items: NewEvent[]) => Promise<void>): Promise<void> {
    dir = mkdtempSync(join(tmpdir(), "herald-publish-together-"));
    const store = new SqliteStore(join(dir, "herald.db"), "normal");
    try {
      await withDestinations(store, "a");
      const items = [newEvent({ to: ["a"] }), newEvent({ to: ["a"] }), newEvent({ to: ["a"] })];
      items[1]!.deliveries[0] = { ...items[1]!.deliveries[0]!, status: "delivering", lease_until: null, next_attempt_at: null };
      await run(store, items);
    } finally {
      store.closeNow();
    }
  }

  it("fails one publish whose rows break a rule alone; the others of its group are written", () =>
    withRuleBreakingGroup(async (store, items) => {
      const settled = await Promise.allSettled(items.map((item) => store.queue.publish(item)));
      expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect(await store.log.getEvent(items[1]!.event.id)).toBeNull();
      for (const i of [0, 2]) expect(await store.log.deliveriesOfEvent(items[i]!.event.id)).toHaveLength(1);
    }));

  it("fails a whole publishMany whose rows break a rule, and writes none of it; a publish beside it is written", () =>
    withRuleBreakingGroup(async (store, items) => {
      const beside = newEvent({ to: ["a"] });
      const [many, one] = await Promise.allSettled([store.queue.publishMany(items), store.queue.publish(beside)]);
      expect(many.status).toBe("rejected");
      expect(one.status).toBe("fulfilled");
      for (const item of items) expect(await store.log.getEvent(item.event.id)).toBeNull();
      expect(await store.log.deliveriesOfEvent(beside.event.id)).toHaveLength(1);
    }));
});
