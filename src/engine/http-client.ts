// A small keep-alive HTTP/1.1 client on Bun.connect for webhook POSTs: Bun's
// fetch cost ~2.5× the CPU per request (bench/README.md, issue 17), most of it
// on its own HTTP thread. Connections are pooled per origin and TLS identity
// and reused only after a complete answer; every failure is a value that names it.
import type { Socket } from "bun";
import { FRAMING_HEADERS } from "../config/fields.ts";

/** TLS settings of a request: SNI/certificate name, the client certificate, the trusted CAs (unset: the system's). */
export interface ClientTls {
  servername?: string;
  cert?: string;
  key?: string;
  ca?: string[];
}

export interface HttpRequest {
  /** http: or https:; the host may be a pinned IP address (IPv6 in brackets). */
  url: string;
  /** Sent as the Host header: the destination's own host[:port]. */
  host: string;
  /** Header names and values (none of FRAMING_HEADERS: the client writes Host and Content-Length, and refuses the rest). */
  headers: Record<string, string>;
  /** Headers sent before `headers`, checked and written out once (HeaderBlock.of): a destination's static ones. */
  fixed?: HeaderBlock;
  body: string;
  timeout_ms: number;
  /** At most this much of the body is kept; past it the client stops reading and closes the connection. */
  keep_response_bytes: number;
  tls?: ClientTls;
}

/** What came back. No status: nothing usable arrived (`error` says why); a status with an error: the body did not arrive in full. */
export interface HttpAnswer {
  status: number | null;
  /** Names in lower case, in the order received. */
  headers: [string, string][] | null;
  /** The kept prefix of the body as UTF-8; null when the answer has no body or nothing is kept. */
  body: string | null;
  error: string | null;
}

/**
 * A status line and headers past this are refused: a receiver cannot make
 * Herald buffer without bound. Not lower: fetch took heads of 1.1 MB (and
 * refused 4 MB), and test/attempt-log-bounds.test.ts delivers to a receiver
 * answering with 1 MB of headers.
 */
export const MAX_HEAD_BYTES = 2 * 1024 * 1024;
/**
 * An unused pooled connection is closed after this long: below the common
 * server keep-alive timeouts (Node 5 s, nginx 75 s, Bun 10 s), so Herald
 * normally closes first and seldom writes into a connection being closed.
 */
export const IDLE_MS = 4_000;
const MAX_CHUNK_LINE = 4096;

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[\r\n\0]/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const HEX = /^[0-9a-fA-F]{1,12}$/;
/** Names the client writes itself or that would frame the request out of step with its content-length. */
const REFUSED_HEADERS = new Set(FRAMING_HEADERS);

/**
 * Network failures the attempt log names in its own words (this client's and
 * fetch's, src/engine/sender.ts): Bun's messages end with advice to the
 * programmer ("pass `verbose: true` … to fetch()") that means nothing to
 * someone reading why a delivery failed.
 */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNRESET: "the receiver closed the connection before answering in full (ECONNRESET)",
  ECONNREFUSED: "connection refused (ECONNREFUSED)",
};

/** A network error as the attempt log says it: in the words above, else Bun's message with its code. */
export function networkError(error: unknown): string {
  const { code, message } = (error as { code?: unknown; message?: unknown } | null) ?? {};
  if (typeof code === "string" && NETWORK_ERRORS[code]) return NETWORK_ERRORS[code];
  const text = typeof message === "string" ? message : String(error);
  return typeof code === "string" && !text.includes(code) ? `${text} (${code})` : text;
}

type Framing = "length" | "chunked" | "close" | "none";
type Phase = "head" | "body" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailers";

/** One connection; `socket.data` of its Bun socket. */
class Connection {
  socket: Socket<Connection> | null = null;
  idleSince = 0;
  closed = false;
  call: Call | null = null;
  /** The pool holding it while idle; null while a call has it. */
  pool: Pool | null = null;
  /** Its origin and TLS identity (`https:` first over TLS). */
  constructor(readonly key: string) {}

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool?.forget(this);
    this.socket?.terminate();
  }
}

/** Idle connections of one origin and TLS identity; made when the first one goes idle. */
class Pool {
  readonly idle: Connection[] = [];
  forget(connection: Connection): void {
    connection.pool = null;
    const i = this.idle.indexOf(connection);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

const handlers = {
  open(socket: Socket<Connection>) {
    const c = socket.data;
    c.socket = socket;
    if (c.closed) return void socket.terminate();
    // Over TLS the request waits for a verified handshake.
    if (!c.key.startsWith("https:")) c.call?.write();
  },
  handshake(socket: Socket<Connection>, success: boolean, error: Error | null) {
    const c = socket.data;
    if (!success || error) return c.call ? c.call.fail(`TLS: ${networkError(error)}`) : c.destroy();
    c.call?.write();
  },
  data(socket: Socket<Connection>, chunk: Buffer) {
    const c = socket.data;
    // Bytes on an idle connection answer nothing: it cannot be trusted again.
    if (!c.call) return c.destroy();
    c.call.received(chunk);
  },
  drain(socket: Socket<Connection>) {
    socket.data.call?.write();
  },
  error(socket: Socket<Connection>, error: Error) {
    socket.data.call?.closed(error);
  },
  end(socket: Socket<Connection>) {
    socket.data.call?.closed(null);
  },
  close(socket: Socket<Connection>, error?: Error) {
    const c = socket.data;
    c.call?.closed(error ?? null);
    c.closed = true;
    c.pool?.forget(c);
  },
  connectError(socket: Socket<Connection>, error: Error) {
    socket.data.call?.closed(error);
  },
};

/** One request from start to answer, across at most two connections (a stale keep-alive one, then a fresh one). */
class Call {
  private connection: Connection | null = null;
  private reused = false;
  private done = false;
  /** Its place in the client's deadlines; emptied when the call ends. */
  private readonly deadline: Deadline;
  private out: Buffer | string;
  private readonly outBytes: number;
  private written = 0;
  // The answer being read.
  private buffer: Buffer | null = null;
  private bytesIn = 0;
  private phase: Phase = "head";
  private status: number | null = null;
  private headers: [string, string][] | null = null;
  private framing: Framing = "none";
  private reusable = true;
  /** Body bytes still to come (length framing) or of the current chunk. */
  private remaining = 0;
  private trailerBytes = 0;
  /** How far the head's buffer was searched for its end. */
  private scanned = 0;
  private kept: Buffer[] = [];
  private keptBytes = 0;
  private seen = 0;

  constructor(
    private readonly client: HttpClient,
    private readonly key: string,
    private readonly target: { hostname: string; port: number; tls: ClientTls | null },
    out: string,
    outBytes: number,
    private readonly request: HttpRequest,
    private readonly resolve: (answer: HttpAnswer) => void,
  ) {
    this.out = out;
    this.outBytes = outBytes;
    this.deadline = client.deadlines.add(this, request.timeout_ms);
  }

  /** The deadline passed (Deadlines). */
  timedOut(): void {
    this.fail(`timed out after ${this.request.timeout_ms} ms`);
  }

  start(): void {
    const idle = this.client.takeIdle(this.key);
    if (idle) this.attach(idle, true);
    else this.connect();
  }

  private attach(connection: Connection, reused: boolean): void {
    this.connection = connection;
    this.reused = reused;
    connection.call = this;
    if (reused) this.write();
  }

  private connect(): void {
    const connection = new Connection(this.key);
    this.attach(connection, false);
    const { hostname, port, tls } = this.target;
    const options: Bun.TCPSocketConnectOptions<Connection> = {
      hostname, port, data: connection, socket: handlers,
      ...(tls ? { tls: { rejectUnauthorized: true, ...(tls.servername ? { serverName: tls.servername } : {}), ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}), ...(tls.ca ? { ca: tls.ca } : {}) } } : {}),
    };
    Bun.connect<Connection>(options).catch((error: unknown) => {
      if (connection.call === this) this.closed(error);
    });
  }

  /** Writes what the socket takes of the request; the rest on `drain`. */
  write(): void {
    const socket = this.connection?.socket;
    if (this.done || !socket || this.written < 0) return;
    if (typeof this.out === "string") {
      // The common case: the socket takes the whole request at once.
      const n = socket.write(this.out);
      if (n >= this.outBytes) return void (this.written = -1);
      // A short write: the rest as bytes, so the offset is exact.
      this.out = Buffer.from(this.out);
      this.written = Math.max(0, n);
      return;
    }
    const n = socket.write(this.out, this.written);
    this.written += Math.max(0, n);
    if (this.written >= this.outBytes) this.written = -1;
  }

  received(chunk: Buffer): void {
    if (this.done) return;
    this.bytesIn += chunk.byteLength;
    this.buffer = this.buffer && this.buffer.byteLength > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
    try {
      this.parse();
    } catch (error) {
      this.fail(error instanceof Error ? error.message : String(error));
    }
  }

  /** The connection ended (`error` set: abnormally). */
  closed(error: unknown): void {
    if (this.done) return;
    const connection = this.connection;
    if (connection) {
      connection.call = null;
      connection.destroy();
    }
    // A stale keep-alive connection: the receiver closed it as the request went
    // out, before answering anything. Once, on a fresh connection; nothing was processed.
    // (The fresh connection is not a reused one, so this happens once.)
    if (this.reused && this.bytesIn === 0) {
      this.written = 0;
      return this.connect();
    }
    // A close-delimited body ends with a clean close; a reset cuts it.
    if (this.phase === "body" && this.framing === "close" && !error) return this.finish(false);
    if (this.status === null) {
      return this.fail(error ? networkError(error) : "the receiver closed the connection before answering in full");
    }
    this.fail(error ? networkError(error) : `the receiver closed the connection mid-body (${this.seen} bytes received)`);
  }

  /** Ends the call with an error; the connection is dropped. */
  fail(error: string): void {
    if (this.done) return;
    this.done = true;
    this.deadline.call = null;
    this.drop();
    this.resolve({ status: this.status, headers: this.headers, body: null, error });
  }

  private drop(): void {
    const connection = this.connection;
    this.connection = null;
    if (!connection) return;
    connection.call = null;
    connection.destroy();
  }

  /** The answer is complete (or cut at keep_response_bytes: `whole` false). */
  private finish(whole: boolean): void {
    if (this.done) return;
    this.done = true;
    this.deadline.call = null;
    const connection = this.connection;
    this.connection = null;
    const leftover = this.buffer !== null && this.buffer.byteLength > 0;
    if (connection) {
      connection.call = null;
      if (whole && this.reusable && !leftover && this.written === -1 && !connection.closed) {
        this.client.release(connection);
      } else connection.destroy();
    }
    const body = this.framing === "none" || this.request.keep_response_bytes === 0
      ? null
      : (this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept)).toString("utf8");
    this.resolve({ status: this.status, headers: this.headers, body, error: null });
  }

  private parse(): void {
    while (!this.done && this.buffer !== null && (this.buffer.byteLength > 0 || this.phase === "body")) {
      const buffer: Buffer = this.buffer;
      if (this.phase === "head") {
        // Only the bytes not searched before (a head may come in many chunks).
        const end = buffer.indexOf("\r\n\r\n", this.scanned);
        if (end < 0 || end > MAX_HEAD_BYTES) {
          if (buffer.byteLength > MAX_HEAD_BYTES || end > MAX_HEAD_BYTES) throw new Error(`the answer's status line and headers are over ${MAX_HEAD_BYTES} bytes`);
          this.scanned = Math.max(0, buffer.byteLength - 3);
          return;
        }
        this.scanned = 0;
        this.buffer = buffer.subarray(end + 4);
        this.head(buffer.toString("latin1", 0, end));
        continue;
      }
      if (this.phase === "body") {
        if (buffer.byteLength === 0) {
          if (this.framing === "length" && this.remaining === 0) return this.finish(true);
          return;
        }
        const take = this.framing === "length" ? Math.min(this.remaining, buffer.byteLength) : buffer.byteLength;
        this.buffer = buffer.subarray(take);
        if (this.keep(buffer.subarray(0, take))) return;
        if (this.framing === "length") {
          this.remaining -= take;
          if (this.remaining === 0) return this.finish(true);
        }
        continue;
      }
      if (this.phase === "chunk-size" || this.phase === "trailers") {
        const end = buffer.indexOf("\r\n");
        if (end < 0) {
          if (buffer.byteLength > MAX_CHUNK_LINE) throw new Error(this.phase === "trailers" ? "a trailer line of the answer is too long" : "a chunk size line of the answer is too long");
          return;
        }
        const line = buffer.toString("latin1", 0, end);
        this.buffer = buffer.subarray(end + 2);
        if (this.phase === "trailers") {
          if (line === "") return this.finish(true);
          this.trailerBytes += end + 2;
          if (this.trailerBytes > MAX_HEAD_BYTES) throw new Error(`the answer's trailers are over ${MAX_HEAD_BYTES} bytes`);
          continue;
        }
        const semicolon = line.indexOf(";");
        const size = (semicolon < 0 ? line : line.slice(0, semicolon)).trim();
        if (!HEX.test(size)) throw new Error(`malformed chunk size in the answer: ${JSON.stringify(line.slice(0, 40))}`);
        this.remaining = parseInt(size, 16);
        this.phase = this.remaining === 0 ? "trailers" : "chunk-data";
        continue;
      }
      if (this.phase === "chunk-data") {
        const take = Math.min(this.remaining, buffer.byteLength);
        this.buffer = buffer.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.phase = "chunk-crlf";
        if (this.keep(buffer.subarray(0, take))) return;
        continue;
      }
      // chunk-crlf
      if (buffer.byteLength < 2) return;
      if (buffer[0] !== 13 || buffer[1] !== 10) throw new Error("malformed chunk in the answer: no line break after its data");
      this.buffer = buffer.subarray(2);
      this.phase = "chunk-size";
    }
  }

  /** Keeps body bytes up to the limit; true when the call ended because the body went past it. */
  private keep(bytes: Buffer): boolean {
    const limit = this.request.keep_response_bytes;
    this.seen += bytes.byteLength;
    if (this.keptBytes < limit) {
      const part = bytes.byteLength > limit - this.keptBytes ? bytes.subarray(0, limit - this.keptBytes) : bytes;
      // A copy, though Bun hands each data callback a fresh Buffer: `bytes` may be a
      // slice of a head buffer concatenated up to MAX_HEAD_BYTES, or of one socket read
      // far larger than what is kept, which a kept slice would pin until the answer ends.
      this.kept.push(Buffer.from(part));
      this.keptBytes += part.byteLength;
    }
    if (this.seen > limit) {
      this.finish(false);
      return true;
    }
    return false;
  }

  private head(text: string): void {
    let eol = text.indexOf("\r\n");
    if (eol < 0) eol = text.length;
    const statusLine = text.slice(0, eol);
    const match = STATUS_LINE.exec(statusLine);
    if (!match) throw new Error(`malformed status line in the answer: ${JSON.stringify(statusLine.slice(0, 80))}`);
    const status = Number(match[2]);
    const headers: [string, string][] = [];
    let length: number | null = null;
    let chunked = false;
    let encoded = false;
    let close = match[1] === "0";
    // Line by line without splitting the head into an array first.
    for (let start = eol + 2; start < text.length; ) {
      let end = text.indexOf("\r\n", start);
      if (end < 0) end = text.length;
      const line = text.slice(start, end);
      start = end + 2;
      const colon = line.indexOf(":");
      const name = colon > 0 ? line.slice(0, colon) : "";
      if (!TOKEN.test(name)) throw new Error(`malformed header line in the answer: ${JSON.stringify(line.slice(0, 80))}`);
      const lower = name.toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers.push([lower, value]);
      // Only names that decide the framing are looked at further (their lengths first: cheap).
      if (lower.length !== 10 && lower.length !== 14 && lower.length !== 17) continue;
      if (lower === "content-length") {
        const n = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
        if (Number.isNaN(n) || (length !== null && length !== n)) throw new Error(`malformed content-length in the answer: ${JSON.stringify(value.slice(0, 40))}`);
        length = n;
      } else if (lower === "transfer-encoding") {
        encoded = true;
        chunked = value.toLowerCase().split(",").at(-1)!.trim() === "chunked";
      } else if (lower === "connection") {
        const tokens = value.toLowerCase().split(",").map((t) => t.trim());
        if (tokens.includes("close")) close = true;
        else if (match[1] === "0" && tokens.includes("keep-alive")) close = false;
      }
    }
    if (status === 101) throw new Error("the receiver switched protocols (101), which a webhook cannot use");
    if (status < 200) {
      // An interim answer (100 Continue, 103 Early Hints): the real one follows.
      this.phase = "head";
      return;
    }
    this.status = status;
    this.headers = headers;
    this.reusable = !close;
    if (status === 204 || status === 304) {
      // Bodiless by definition; a receiver announcing a body anyway may send its bytes,
      // which would be read as the next request's answer.
      if (encoded || (length !== null && length > 0)) this.reusable = false;
      this.framing = "none";
      return this.finish(true);
    }
    if (encoded) {
      // With both, Transfer-Encoding wins, and the connection is not trusted again (RFC 9112 §6.3).
      if (length !== null) this.reusable = false;
      this.framing = chunked ? "chunked" : "close";
      if (!chunked) this.reusable = false;
      this.phase = chunked ? "chunk-size" : "body";
      return;
    }
    if (length !== null) {
      this.framing = "length";
      this.remaining = length;
      this.phase = "body";
      return;
    }
    this.framing = "close";
    this.reusable = false;
    this.phase = "body";
  }
}

/** Settings cut into a pool key once per TLS settings object (the sender keeps them per destination). */
const identities = new WeakMap<ClientTls, string>();
const NO_TLS: ClientTls = Object.freeze({});
const caIds = new WeakMap<string[], number>();
let nextCaId = 1;

function identity(tls: ClientTls): string {
  let id = identities.get(tls);
  if (id === undefined) {
    let ca = 0;
    if (tls.ca) {
      ca = caIds.get(tls.ca) ?? nextCaId++;
      caIds.set(tls.ca, ca);
    }
    // The whole certificate and key, not a hash of them: two identities never share a key.
    id = JSON.stringify([tls.servername ?? null, tls.cert ?? null, tls.key ?? null, ca]);
    identities.set(tls, id);
  }
  return id;
}

/**
 * Why a request header cannot be written, or null: a name that is not a token,
 * a value that would end the line, or a header the client writes itself or
 * that frames the request (destinations stored before the config and the API
 * refused these still carry them).
 */
export function headerProblem(name: string, value: string): string | null {
  if (!TOKEN.test(name) || BAD_VALUE.test(value)) return `invalid request header ${JSON.stringify(name)}`;
  if (REFUSED_HEADERS.has(name.toLowerCase())) return `the request header ${JSON.stringify(name)} is set by Herald or frames the request, and cannot be sent as a static header`;
  return null;
}

/**
 * Headers checked and written out once, for the many requests that send them
 * (HttpRequest.fixed). Made only by HeaderBlock.of: a string cannot change after
 * it was checked, so a request carrying a block is not checked again (a
 * destination's static headers were ~1 µs of every send's checks,
 * bench/README.md); the private constructor keeps unchecked text out.
 */
export class HeaderBlock {
  private constructor(
    /** `name: value\r\n` per header; empty when refused. */
    readonly text: string,
    /** Why the headers cannot be written (the first refused one's headerProblem), or null. */
    readonly problem: string | null,
  ) {}

  /** Checks and writes out `headers`. */
  static of(headers: Record<string, string>): HeaderBlock {
    let text = "";
    for (const name in headers) {
      const value = headers[name]!;
      const problem = headerProblem(name, value);
      if (problem !== null) return new HeaderBlock("", problem);
      text += `${name}: ${value}\r\n`;
    }
    return new HeaderBlock(text, null);
  }
}

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

/** A call's deadline; `call` is emptied when the call ends first. */
interface Deadline {
  at: number;
  call: Call | null;
}

/**
 * The calls' timeouts: a list per timeout length, each served by one timer for
 * its earliest deadline. Calls start in time order, so each list is already in
 * deadline order; an ended call only empties its entry. (A timer per call,
 * set and cleared, was ~1 % of the deliver bench's CPU.)
 */
class Deadlines {
  private readonly lists = new Map<number, { entries: Deadline[]; head: number }>();

  add(call: Call, ms: number): Deadline {
    const deadline: Deadline = { at: performance.now() + ms, call };
    const list = this.lists.get(ms);
    if (list) list.entries.push(deadline);
    else {
      // A list is armed from its first entry until it is empty, then goes.
      const made = { entries: [deadline], head: 0 };
      this.lists.set(ms, made);
      this.arm(ms, made, ms);
    }
    return deadline;
  }

  private arm(ms: number, list: { entries: Deadline[]; head: number }, wait: number): void {
    const timer = setTimeout(() => {
      const now = performance.now();
      const { entries } = list;
      // Every ended call and every call whose deadline has come, from the front.
      while (list.head < entries.length) {
        const first = entries[list.head]!;
        if (first.call !== null && first.at > now) break;
        list.head++;
        const call = first.call;
        first.call = null;
        call?.timedOut();
      }
      if (list.head >= entries.length) {
        // Nothing left: the list goes (a call made later starts a new one).
        this.lists.delete(ms);
        return;
      }
      if (list.head > 1024 && list.head * 2 > entries.length) {
        list.entries = entries.slice(list.head);
        list.head = 0;
      }
      this.arm(ms, list, Math.max(1, list.entries[list.head]!.at - now));
    }, wait);
    // A call in progress keeps the process alive through its socket; the timer of
    // calls already ended must not (an embedding process exits after the engine stops).
    (timer as { unref?: () => void }).unref?.();
  }
}

export class HttpClient {
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
      const place = this.place(request.url);
      if (typeof place === "string") return resolve({ status: null, headers: null, body: null, error: place });
      const { https, hostname, port } = place;
      const tls = https ? (request.tls ?? NO_TLS) : null;
      const key = tls ? `${place.origin} ${identity(tls)}` : place.origin;
      if (BAD_VALUE.test(request.host)) return resolve({ status: null, headers: null, body: null, error: "invalid host header" });
      let head = `${place.start}${request.host}\r\n`;
      if (request.fixed) {
        if (request.fixed.problem !== null) return resolve({ status: null, headers: null, body: null, error: request.fixed.problem });
        head += request.fixed.text;
      }
      for (const name in request.headers) {
        const value = request.headers[name]!;
        const problem = headerProblem(name, value);
        if (problem !== null) return resolve({ status: null, headers: null, body: null, error: problem });
        head += `${name}: ${value}\r\n`;
      }
      const bodyBytes = Buffer.byteLength(request.body);
      head += `content-length: ${bodyBytes}\r\n\r\n`;
      // Written as a string: encoding it to a Buffer first cost ~3 µs more a request
      // (bench/socket-write-probe.ts); the body's byte length is measured once.
      new Call(this, key, { hostname, port, tls }, head + request.body, Buffer.byteLength(head) + bodyBytes, request, resolve).start();
    });
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
