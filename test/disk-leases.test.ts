// The dispatcher's leases waiting on disk, kept as bytes (src/engine/disk-leases.ts):
// what goes in comes out, oldest first, whatever the arrays did in between.
import { expect, it } from "bun:test";
import { DiskLeases } from "../src/engine/disk-leases.ts";
import { newId } from "../src/store/ids.ts";

it("gives the leases back oldest first, with their ends, across growing and compacting", () => {
  const leases = new DiskLeases();
  const all: [string, number][] = [];
  let taken: [string, number][] = [];
  // Pushes and takes interleaved: past the first arrays (1,024), moved to the front, doubled.
  for (let round = 0; round < 6; round++) {
    for (let i = 0; i < 1_500; i++) {
      const lease: [string, number] = [newId("dlv", 1_700_000_000_000 + round * 10_000 + i), 1_700_000_180_000 + round * 10_000 + i + 0.5];
      all.push(lease);
      leases.push(...lease);
    }
    taken.push(...leases.take(1_000));
    expect(leases.size).toBe(all.length - taken.length);
  }
  taken.push(...leases.take(100_000));
  expect(leases.size).toBe(0);
  expect(taken).toEqual(all);
  expect(leases.take(5).size).toBe(0);
});

it("starts empty again after a clear", () => {
  const leases = new DiskLeases();
  for (let i = 0; i < 3_000; i++) leases.push(newId("dlv", i), i);
  leases.clear();
  expect(leases.size).toBe(0);
  const id = newId("dlv", 5);
  leases.push(id, 7);
  expect([...leases.take(10)]).toEqual([[id, 7]]);
});
