// A small keep-alive HTTP/1.1 client on Bun.connect for webhook POSTs: Bun's
// fetch cost ~2.5× the CPU per request (bench/README.md, issue 17), most of it
// on its own HTTP thread. Connections are pooled per origin and TLS identity
// and reused only after a complete answer; every failure is a value that names it.
// Its parts are in src/engine/http-client/.
import { Call, type CallClient } from "./http-client/call.ts";
import { Pool, type Connection } from "./http-client/connection.ts";
import { Deadlines } from "./http-client/deadlines.ts";
import { BAD_VALUE, headerProblem } from "./http-client/header-block.ts";
import { noAnswer, type HttpAnswer, type HttpRequest, type RequestPlan, type WebhookClient } from "./http-client/request-and-answer.ts";
import { identity, NO_TLS } from "./http-client/tls-identity.ts";

/**
 * An unused pooled connection is closed after this long: below the common
 * server keep-alive timeouts (Node 5 s, nginx 75 s, Bun 10 s), so Herald
 * normally closes first and seldom writes into a connection being closed.
 */
export const IDLE_MS = 4_000;

/** A URL as the client uses it, parsed once: the same few URLs are posted to again and again. */
interface Place {
  https: boolean;
  hostname: string;
  port: number;
  /** `POST /path?query HTTP/1.1\r\nhost: ` */
  start: string;
  /** The pool key without the TLS identity. */
  origin: string;
}
const PLACES_MAX = 1024;

export class HttpClient implements CallClient, WebhookClient {
  /** Every call's timeout (Deadlines). */
  readonly deadlines = new Deadlines();
  private readonly pools = new Map<string, Pool>();
  private readonly places = new Map<string, Place | string>();

  /** The parsed URL, or why it cannot be posted to; bounded, oldest first out. */
  private place(href: string): Place | string {
    let place = this.places.get(href);
    if (place !== undefined) return place;
    let url: URL | null = null;
    try {
      url = new URL(href);
    } catch {}
    if (!url) place = "not a valid URL";
    else if (url.protocol !== "https:" && url.protocol !== "http:") place = `unsupported protocol ${url.protocol}`;
    else {
      const https = url.protocol === "https:";
      const hostname = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
      const port = url.port ? Number(url.port) : https ? 443 : 80;
      // The URL parser percent-encodes spaces and line breaks in the path.
      place = { https, hostname, port, start: `POST ${url.pathname}${url.search} HTTP/1.1\r\nhost: `, origin: `${url.protocol}//${hostname}:${port}` };
    }
    if (this.places.size >= PLACES_MAX) this.places.delete(this.places.keys().next().value!);
    this.places.set(href, place);
    return place;
  }
  private sweep: ReturnType<typeof setInterval> | null = null;

  /** POSTs `request.body`; never throws, never outlives `timeout_ms`. */
  post(request: HttpRequest): Promise<HttpAnswer> {
    return new Promise((resolve) => {
      const plan = this.plan(request);
      if ("error" in plan) resolve(plan);
      else this.run(plan, resolve);
    });
  }

  /** The request as bytes to write and where to write them, or the answer that refuses it (RequestPlan). */
  plan(request: HttpRequest): RequestPlan | HttpAnswer {
    const place = this.place(request.url);
    if (typeof place === "string") return noAnswer(place);
    const { https, hostname, port } = place;
    const tls = https ? (request.tls ?? NO_TLS) : null;
    const key = tls ? `${place.origin} ${identity(tls)}` : place.origin;
    if (BAD_VALUE.test(request.host)) return noAnswer("invalid host header");
    let head = `${place.start}${request.host}\r\n`;
    if (request.fixed) {
      if (request.fixed.problem !== null) return noAnswer(request.fixed.problem);
      head += request.fixed.text;
    }
    for (const name in request.headers) {
      const value = request.headers[name]!;
      const problem = headerProblem(name, value);
      if (problem !== null) return noAnswer(problem);
      head += `${name}: ${value}\r\n`;
    }
    const bodyBytes = Buffer.byteLength(request.body);
    head += `content-length: ${bodyBytes}\r\n\r\n`;
    // Written as a string: encoding it to a Buffer first cost ~3 µs more a request
    // (bench/socket-write-probe.ts); the body's byte length is measured once.
    return {
      key, hostname, port, tls, text: head + request.body, bytes: Buffer.byteLength(head) + bodyBytes,
      timeout_ms: request.timeout_ms, keep_response_bytes: request.keep_response_bytes,
    };
  }

  /** Writes a planned request and reads its answer; never throws, never outlives `plan.timeout_ms`. */
  run(plan: RequestPlan, resolve: (answer: HttpAnswer) => void): void {
    new Call(this, plan, resolve).start();
  }

  /** The most recently idle connection for `key`, taken out of its pool; pools emptied here go at the next sweep. */
  takeIdle(key: string): Connection | undefined {
    const connection = this.pools.get(key)?.idle.pop();
    if (connection) connection.pool = null;
    return connection;
  }

  /** A connection whose answer was read in full, back to its pool (made now if none: only keys that pool get one). */
  release(connection: Connection): void {
    connection.idleSince = performance.now();
    let pool = this.pools.get(connection.key);
    if (!pool) this.pools.set(connection.key, (pool = new Pool()));
    connection.pool = pool;
    pool.idle.push(connection);
    this.sweep ??= setInterval(() => this.closeIdle(performance.now()), IDLE_MS / 4);
    // The sweep must not keep a process alive.
    (this.sweep as { unref?: () => void }).unref?.();
  }

  /** Closes connections unused for IDLE_MS; stops sweeping when none is left. */
  closeIdle(now: number): void {
    let left = 0;
    for (const [key, pool] of this.pools) {
      for (const connection of [...pool.idle]) if (now - connection.idleSince >= IDLE_MS) connection.destroy();
      left += pool.idle.length;
      if (pool.idle.length === 0) this.pools.delete(key);
    }
    if (left === 0 && this.sweep) {
      clearInterval(this.sweep);
      this.sweep = null;
    }
  }

  /** Idle connections across every pool (for tests and metrics). */
  idleCount(): number {
    let n = 0;
    for (const pool of this.pools.values()) n += pool.idle.length;
    return n;
  }

  /**
   * Closes every pooled connection (the engine's stop, after its sends
   * finished). The client stays usable: an engine started again connects anew.
   */
  close(): void {
    for (const pool of this.pools.values()) for (const connection of [...pool.idle]) connection.destroy();
    this.pools.clear();
    if (this.sweep) clearInterval(this.sweep);
    this.sweep = null;
  }
}
