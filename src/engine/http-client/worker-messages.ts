// The messages between WorkerHttpClient and its worker: a batch is one flat array
// of plain values, cloned in two thirds of the time an array of objects takes
// (64 answers to an echo worker and back: 2.3-2.5 against 3.5-3.9 µs an answer);
// the same arrays as JSON text were no cheaper in a whole send (bench/send-ab.ts).
import type { ClientTls, HttpAnswer, RequestPlan } from "./request-and-answer.ts";

/** Per request, in order: id, key, hostname, port, tls, text, bytes, timeout_ms, keep_response_bytes. */
export const REQUEST_FIELDS = 9;
/** The worker's first message: it has loaded and takes requests. */
export const READY = "ready";

/** A batch of requests. */
export type WorkerCommand = unknown[];

export function pushPlan(out: unknown[], id: number, plan: RequestPlan): void {
  out.push(id, plan.key, plan.hostname, plan.port, plan.tls, plan.text, plan.bytes, plan.timeout_ms, plan.keep_response_bytes);
}

export function planAt(batch: unknown[], i: number): RequestPlan {
  return {
    key: batch[i + 1] as string, hostname: batch[i + 2] as string, port: batch[i + 3] as number, tls: batch[i + 4] as ClientTls | null,
    text: batch[i + 5] as string, bytes: batch[i + 6] as number, timeout_ms: batch[i + 7] as number, keep_response_bytes: batch[i + 8] as number,
  };
}

/** Per answer: id, status, body, error, the number of headers (-1: none), then each header's name and value. */
export function pushAnswer(out: unknown[], id: number, answer: HttpAnswer): void {
  const headers = answer.headers;
  out.push(id, answer.status, answer.body, answer.error, headers === null ? -1 : headers.length);
  if (headers !== null) for (const [name, value] of headers) out.push(name, value);
}

/** Each answer of a batch pushAnswer wrote, with its request's id. */
export function eachAnswer(batch: unknown[], take: (id: number, answer: HttpAnswer) => void): void {
  let i = 0;
  while (i < batch.length) {
    const count = batch[i + 4] as number;
    let headers: [string, string][] | null = null;
    if (count >= 0) {
      headers = new Array(count);
      for (let h = 0; h < count; h++) headers[h] = [batch[i + 5 + 2 * h] as string, batch[i + 6 + 2 * h] as string];
    }
    take(batch[i] as number, { status: batch[i + 1] as number | null, headers, body: batch[i + 2] as string | null, error: batch[i + 3] as string | null });
    i += 5 + 2 * Math.max(0, count);
  }
}
