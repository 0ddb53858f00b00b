// A real HTTP receiver for tests: records every request and plays back a
// script of answers (500, 500, 200; a 410; a slow body). Port 0: any free port.

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  at: number;
}

/** One scripted answer: a status, optional headers/body, or a delay before answering. */
export interface Answer {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  delay_ms?: number;
  /** Never answer (until the receiver stops). */
  hang?: boolean;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Resolves when at least `n` requests have arrived. */
  waitFor(n: number, timeout_ms?: number): Promise<ReceivedRequest[]>;
  /** Answers every request held by a `hang` answer so far. */
  release(): void;
  stop(): Promise<void>;
}

/** Answers follow `script` in order; after it runs out, `fallback` (200 by default). */
export function startReceiver(script: Answer[] = [], fallback: Answer = { status: 200 }, path = "/hook"): Receiver {
  const requests: ReceivedRequest[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const hanging: (() => void)[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    idleTimeout: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const answer = script[requests.length] ?? fallback;
      requests.push({ method: req.method, path: url.pathname + url.search, headers: Object.fromEntries(req.headers), body: await req.text(), at: Date.now() });
      for (const w of waiters.filter((w) => requests.length >= w.n)) w.resolve();
      if (answer.hang) await new Promise<void>((resolve) => hanging.push(resolve));
      if (answer.delay_ms) await Bun.sleep(answer.delay_ms);
      return new Response(answer.body ?? "ok", { status: answer.status ?? 200, headers: answer.headers });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}${path}`,
    port: server.port!,
    requests,
    waitFor(n, timeout_ms = 10_000) {
      if (requests.length >= n) return Promise.resolve(requests);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`expected ${n} requests, got ${requests.length}`)), timeout_ms);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve(requests)) });
      });
    },
    release() {
      for (const answer of hanging.splice(0)) answer();
    },
    async stop() {
      for (const release of hanging) release();
      await server.stop(true);
    },
  };
}

/**
 * The webhook ids of `expected` that have not arrived at `receiver` by the
 * deadline ([] as soon as all have; repeats count once): a crash test's
 * "every published event arrived", polled since the arrivals come from
 * another process.
 */
export async function missingWebhookIds(receiver: Receiver, expected: string[], timeout_ms: number): Promise<string[]> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const arrived = new Set(receiver.requests.map((r) => r.headers["webhook-id"]));
    const missing = expected.filter((id) => !arrived.has(id));
    if (missing.length === 0 || Date.now() >= deadline) return missing;
    await Bun.sleep(100);
  }
}
