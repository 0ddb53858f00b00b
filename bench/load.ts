// Load generators for the benchmarks: closed loops at a fixed concurrency, an
// open loop at a fixed rate, and percentiles. Times are wall-clock milliseconds
// with sub-millisecond precision, comparable with the receiver process's.
import { TOKEN } from "./harness.ts";

export const clock = () => performance.timeOrigin + performance.now();

export const HEADERS = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };

/**
 * Runs `concurrency` workers, each calling `call` in a loop, until `total`
 * calls were made or `durationMs` passed. Returns the calls made and each one's time.
 */
export async function closedLoop(
  options: { concurrency: number; total?: number; durationMs?: number },
  call: (i: number) => Promise<void>,
): Promise<{ calls: number; elapsedMs: number; times: Float64Array }> {
  const total = options.total ?? Number.POSITIVE_INFINITY;
  const stopAt = options.durationMs === undefined ? Number.POSITIVE_INFINITY : performance.now() + options.durationMs;
  const times: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < total && performance.now() < stopAt) {
      const i = next++;
      const t0 = performance.now();
      await call(i);
      times.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { calls: times.length, elapsedMs: performance.now() - started, times: Float64Array.from(times) };
}

/** Starts `call(i)` at `rate` per second for `durationMs`, whatever the answers' speed. */
export async function openLoop(rate: number, durationMs: number, call: (i: number) => Promise<void>): Promise<number> {
  const started = performance.now();
  const total = Math.round((rate * durationMs) / 1000);
  const inFlight: Promise<void>[] = [];
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) * rate) / 1000) + 1);
    while (sent < due) inFlight.push(call(sent++));
    await Bun.sleep(1);
  }
  await Promise.all(inFlight);
  return sent;
}

export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** POSTs JSON and fails unless the status is one of `expect`. */
export async function post(url: string, body: unknown, expect: number[] = [202]): Promise<any> {
  const response = await fetch(url, { method: "POST", headers: HEADERS, body: JSON.stringify(body) });
  const text = await response.text();
  if (!expect.includes(response.status)) throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 300)}`);
  return text;
}

/**
 * Publishes `count` events through /v1/events/batch, `perCall` at a time,
 * `concurrency` calls at once; given several Heralds' URLs, to each in turn.
 */
export async function publishBatches(
  heraldUrl: string | string[],
  count: number,
  options: { perCall: number; concurrency: number; event: (i: number) => { type: string; data: unknown } },
): Promise<{ elapsedMs: number }> {
  const calls = Math.ceil(count / options.perCall);
  const urls = typeof heraldUrl === "string" ? [heraldUrl] : heraldUrl;
  const result = await closedLoop({ concurrency: options.concurrency, total: calls }, async (c) => {
    const from = c * options.perCall;
    const to = Math.min(count, from + options.perCall);
    const events = [];
    for (let i = from; i < to; i++) events.push(options.event(i));
    await post(`${urls[c % urls.length]}/v1/events/batch`, { events });
  });
  return { elapsedMs: result.elapsedMs };
}
