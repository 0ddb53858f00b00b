// The PostgreSQL store's gatherer (src/store/postgres/gather.ts): which calls
// go together into one batch, and when a batch starts beside one in flight.
// The batch function is a real one that holds each batch until the test lets
// it finish, so what is in flight at each moment is known exactly.
import { describe, expect, test } from "bun:test";
import { Gatherer } from "../src/store/postgres/gather.ts";

/** A gatherer whose batches wait until `finish(i)`; `batches` lists what each batch was given, in start order. */
function heldGatherer(options: { max: number; inFlight: number; fullOnlyBeside?: () => boolean }) {
  const batches: number[][] = [];
  const finishers: (() => void)[] = [];
  const gatherer = new Gatherer<number, number>({
    batch: (items) => {
      batches.push(items);
      return new Promise((resolve) => finishers.push(() => resolve(items.map((n) => n * 10))));
    },
    one: async (n) => n * 10,
    ...options,
  });
  return { gatherer, batches, finish: (i: number) => finishers[i]!() };
}

/**
 * Two turns of the event loop: the gatherer starts its batches in setImmediate,
 * scheduled in turn by a batch's end (promise reactions that may run after the
 * test's own first setImmediate was queued).
 */
const turn = async () => {
  for (let i = 0; i < 2; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe("Gatherer", () => {
  test("starts a second batch beside one in flight when nothing asks otherwise", async () => {
    const { gatherer, batches, finish } = heldGatherer({ max: 4, inFlight: 2 });
    const first = gatherer.submit(1);
    await turn();
    const rest = [gatherer.submit(2), gatherer.submit(3)];
    await turn();
    expect(batches).toEqual([[1], [2, 3]]);
    finish(0);
    finish(1);
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30]);
  });

  test("with fullOnlyBeside, a batch short of max waits for the one in flight, and takes what came meanwhile", async () => {
    const { gatherer, batches, finish } = heldGatherer({ max: 4, inFlight: 2, fullOnlyBeside: () => true });
    const first = gatherer.submit(1);
    await turn();
    const waiting = [gatherer.submit(2), gatherer.submit(3)];
    await turn();
    expect(batches).toEqual([[1]]);
    waiting.push(gatherer.submit(4));
    finish(0);
    expect(await first).toBe(10);
    await turn();
    expect(batches).toEqual([[1], [2, 3, 4]]);
    finish(1);
    expect(await Promise.all(waiting)).toEqual([20, 30, 40]);
    await gatherer.drained();
  });

  test("with fullOnlyBeside, a full batch still starts beside the one in flight", async () => {
    const { gatherer, batches, finish } = heldGatherer({ max: 3, inFlight: 2, fullOnlyBeside: () => true });
    const first = gatherer.submit(1);
    await turn();
    const full = [gatherer.submit(2), gatherer.submit(3), gatherer.submit(4), gatherer.submit(5)];
    await turn();
    // Three make a full batch beside the first; the fifth call waits.
    expect(batches).toEqual([[1], [2, 3, 4]]);
    finish(1);
    expect(await Promise.all(full.slice(0, 3))).toEqual([20, 30, 40]);
    await turn();
    // One batch is still in flight, and one call is not a full batch: it waits for that one too.
    expect(batches).toEqual([[1], [2, 3, 4]]);
    finish(0);
    expect(await first).toBe(10);
    await turn();
    expect(batches).toEqual([[1], [2, 3, 4], [5]]);
    finish(2);
    expect(await full[3]).toBe(50);
  });

  test("fullOnlyBeside is asked each time: once it answers false, a small batch starts beside again", async () => {
    let shared = true;
    const { gatherer, batches, finish } = heldGatherer({ max: 4, inFlight: 2, fullOnlyBeside: () => shared });
    const first = gatherer.submit(1);
    await turn();
    const second = gatherer.submit(2);
    await turn();
    expect(batches).toEqual([[1]]);
    shared = false;
    const third = gatherer.submit(3);
    await turn();
    expect(batches).toEqual([[1], [2, 3]]);
    finish(0);
    finish(1);
    expect(await Promise.all([first, second, third])).toEqual([10, 20, 30]);
  });
});
