// The rounds the in-process A/B benches (send-ab.ts, publish-ab.ts) share: each
// contender does `round` calls `atOnce` at a time, the contenders take turns and
// the order is turned every turn, so rounds a second apart see the same machine.
// One warm-up round each is not counted.
import { cpuMsOf } from "./harness.ts";

/** One tree under test: its CPU and wall time in counted rounds, and its calls so far. */
export interface Contender {
  /** CPU of the whole process (every thread: Bun's HTTP thread too). */
  cpuMs: number;
  /**
   * CPU of the JavaScript thread alone. Herald is bound by that one thread, so
   * work moved to another thread (fetch's sockets) shows here and not above.
   */
  mainMs: number;
  wallMs: number;
  done: number;
}

/** Runs counted rounds until each contender made `total` calls; answers how many each made. */
export async function interleavedRounds<V extends Contender>(
  contenders: V[],
  one: (v: V, i: number) => Promise<void>,
  settings: { total: number; round: number; atOnce: number },
): Promise<number> {
  async function round(v: V): Promise<void> {
    let next = v.done;
    const end = v.done + settings.round;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const m0 = await mainThreadMs();
    await Promise.all(Array.from({ length: settings.atOnce }, async () => {
      while (next < end) await one(v, next++);
    }));
    const c = process.cpuUsage(c0);
    v.cpuMs += (c.user + c.system) / 1000;
    v.mainMs += (await mainThreadMs()) - m0;
    v.wallMs += performance.now() - t0;
    v.done = end;
  }
  for (const v of contenders) await round(v);
  for (const v of contenders) Object.assign(v, { cpuMs: 0, mainMs: 0, wallMs: 0 });
  const start = contenders[0]!.done;
  for (let turn = 0; contenders[0]!.done - start < settings.total; turn++) {
    for (const v of turn % 2 === 0 ? contenders : [...contenders].reverse()) await round(v);
  }
  return contenders[0]!.done - start;
}

/** CPU time of this process's JavaScript thread so far, ms (its task's id is the process's). */
const mainThreadMs = () => cpuMsOf(process.pid, process.pid);
