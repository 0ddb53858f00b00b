// The HTTP client's deadlines (src/engine/http-client/deadlines.ts): ended calls'
// entries do not pile up while a busy client waits out one timeout, and the
// calls still live time out in order, each once, after the list is compacted.
import { describe, expect, it } from "bun:test";
import { Deadlines, type Deadline, type Timed } from "../src/engine/http-client/deadlines.ts";

/** A call that records when its deadline passes. */
function call(name: number, timedOut: number[]): Timed {
  return { timedOut: () => timedOut.push(name) };
}

describe("Deadlines", () => {
  it("drops ended calls' entries as they pile up, long before the timer passes them", () => {
    const deadlines = new Deadlines();
    const timedOut: number[] = [];
    let most = 0;
    // A minute's timeout: the timer never fires during the test, so only compaction can drop entries.
    for (let i = 0; i < 200_000; i++) {
      const deadline = deadlines.add(call(i, timedOut), 60_000);
      deadline.call = null; // the call ended
      most = Math.max(most, deadlines.held(60_000));
    }
    expect(most).toBeLessThanOrEqual(4097);
    expect(deadlines.held(60_000)).toBeLessThan(4097);
    expect(timedOut).toEqual([]);
  });

  it("keeps live calls through compactions and times them out in order, each once; calls ended meanwhile never", async () => {
    const deadlines = new Deadlines();
    const timedOut: number[] = [];
    // Resolved by the timeout that brings the count to `awaited` (set below).
    let awaited = Infinity;
    let allOut!: () => void;
    const out = new Promise<void>((resolve) => (allOut = resolve));
    const live: Deadline[] = [];
    const liveNames: number[] = [];
    for (let i = 0; i < 30_000; i++) {
      const deadline = deadlines.add({ timedOut: () => { if (timedOut.push(i) === awaited) allOut(); } }, 80);
      if (i % 97 === 0) {
        live.push(deadline);
        liveNames.push(i);
      } else deadline.call = null;
    }
    // Compaction ran (30,000 adds, a limit of 4,096) yet every live call is held.
    expect(deadlines.held(80)).toBeLessThan(30_000);
    expect(deadlines.held(80)).toBeGreaterThanOrEqual(live.length);
    // Some live calls end after the compaction: they must not time out.
    const endedLater = new Set<number>();
    for (let k = 0; k < live.length; k += 5) {
      live[k]!.call = null;
      endedLater.add(liveNames[k]!);
    }
    const expected = liveNames.filter((name) => !endedLater.has(name));
    awaited = expected.length;
    await out;
    expect(timedOut).toEqual(expected);
    // Nothing is left to time out later.
    expect(deadlines.held(80)).toBe(0);
  });
});
