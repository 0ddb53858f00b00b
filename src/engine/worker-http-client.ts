// The keep-alive client with its sockets on a thread of their own: requests are
// checked and written out here (HttpClient.plan), written to the socket and
// answered on the worker (http-client/client-worker.ts). On loopback the kernel
// does the receiver's side of TCP inside each send's write, ~80 % of the send's
// time on this thread (bench/README.md, issue 17); on the worker it runs beside
// the store and the API instead of in their turn. The engine sends through it
// when SQLite's work shares this thread (engine.ts).
import { HttpClient } from "./http-client.ts";
import { noAnswer, type HttpAnswer, type HttpRequest, type WebhookClient } from "./http-client/request-and-answer.ts";
import { eachAnswer, pushPlan, READY } from "./http-client/worker-messages.ts";

/** Where the worker's code is: inside the executable (package.json's build names it as an entry point), or beside this file. */
function workerUrl(): string {
  return import.meta.url.includes("$bunfs") ? "/$bunfs/root/engine/http-client/client-worker.ts" : new URL("./http-client/client-worker.ts", import.meta.url).href;
}

/** Bun's Worker keeps the process alive only while ref'd (ref and unref are not in the DOM's Worker type). */
function holdsProcess(worker: Worker, held: boolean): void {
  const w = worker as unknown as { ref(): void; unref(): void };
  if (held) w.ref();
  else w.unref();
}

function lostAnswer(why: string): HttpAnswer {
  return noAnswer(`connection lost: ${why}`);
}
const STOPPED = lostAnswer("the sending thread stopped");
/** A worker loads in ~6 ms; one not ready after this is given up. */
const START_MS = 5_000;

export class WorkerHttpClient implements WebhookClient {
  /** Plans every request (its URL cache and header checks); it sends nothing itself. */
  private readonly planner = new HttpClient();
  private worker: Worker | null = null;
  private ready = false;
  private readonly waiting = new Map<number, (answer: HttpAnswer) => void>();
  private nextId = 0;
  /** Requests not yet handed over: this turn's, or all of them until the worker is ready. */
  private out: unknown[] = [];
  private scheduled = false;

  /** POSTs `request.body`; never throws, never outlives `timeout_ms` (the worker keeps the deadline). */
  post(request: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve) => {
      const plan = this.planner.plan(request);
      if ("error" in plan) return resolve(plan);
      const id = ++this.nextId;
      this.waiting.set(id, resolve);
      pushPlan(this.out, id, plan);
      if (this.scheduled) return;
      this.scheduled = true;
      // The requests of one turn (a dispatcher pump, a batch of records settling) go in one message.
      queueMicrotask(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    // Started by the first request (an idle Herald has no thread for it): ready ~6 ms later, when these go.
    const worker = this.worker ?? this.start();
    if (!worker || !this.ready || this.out.length === 0) return;
    const batch = this.out;
    this.out = [];
    holdsProcess(worker, true);
    worker.postMessage(batch);
  }

  /** A new worker, or null when none could be made (the requests in hand then fail, and the next request tries again). */
  private start(): Worker | null {
    let worker: Worker;
    try {
      worker = new Worker(workerUrl());
    } catch (error) {
      this.failWaiting(lostAnswer(`the sending thread could not start: ${error instanceof Error ? error.message : String(error)}`));
      return null;
    }
    this.worker = worker;
    // Its deadlines run on the worker: one that never comes up must not hold these requests for good.
    const startBound = setTimeout(() => {
      if (!this.ready) this.lost(worker, lostAnswer(`the sending thread did not start within ${START_MS} ms`));
    }, START_MS);
    (startBound as { unref?: () => void }).unref?.();
    worker.onmessage = (event: MessageEvent<unknown[] | typeof READY>) => {
      if (this.worker !== worker) return;
      if (event.data !== READY) return this.answered(event.data);
      clearTimeout(startBound);
      this.ready = true;
      this.flush();
    };
    worker.onerror = (event) => {
      event.preventDefault();
      this.lost(worker, lostAnswer(`the sending thread failed: ${event.message}`));
    };
    worker.addEventListener("close", () => this.lost(worker, STOPPED));
    return worker;
  }

  private answered(batch: unknown[]): void {
    eachAnswer(batch, (id, answer) => {
      const resolve = this.waiting.get(id);
      this.waiting.delete(id);
      resolve?.(answer);
    });
    // An idle worker must not keep the process alive.
    if (this.waiting.size === 0 && this.worker) holdsProcess(this.worker, false);
  }

  /** The worker died or is stopped: every request in hand fails as a lost connection (retried later); the next request starts another. */
  private lost(worker: Worker, answer: HttpAnswer): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.ready = false;
    void worker.terminate(); // closes its sockets; after an error it is in an unknown state
    this.failWaiting(answer);
  }

  private failWaiting(answer: HttpAnswer): void {
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    this.out = [];
    for (const resolve of waiting) resolve(answer);
  }

  /**
   * Closes every connection and stops the worker (the engine's stop, after its
   * sends finished). The client stays usable: the next request starts another.
   */
  close(): void {
    if (this.worker) this.lost(this.worker, STOPPED);
  }
}
