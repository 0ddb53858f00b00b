// One request from start to answer: writing it, reading and parsing the
// answer (status line, headers, every body framing), and retrying a stale
// keep-alive connection once.
import { Connection, handlers, type ConnectionCall } from "./connection.ts";
import type { Deadline, Deadlines, Timed } from "./deadlines.ts";
import { HEADER_NAME } from "../../rules/http-headers.ts";
import { networkError } from "./network-error.ts";
import type { HttpAnswer, RequestPlan } from "./request-and-answer.ts";

/**
 * A status line and headers past this are refused: a receiver cannot make
 * Herald buffer without bound. Not lower: fetch took heads of 1.1 MB (and
 * refused 4 MB), and test/attempt-log-bounds.test.ts delivers to a receiver
 * answering with 1 MB of headers.
 */
export const MAX_HEAD_BYTES = 2 * 1024 * 1024;
const MAX_CHUNK_LINE = 4096;

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const HEX = /^[0-9a-fA-F]{1,12}$/;

type Framing = "length" | "chunked" | "close" | "none";
type Phase = "head" | "body" | "chunk-size" | "chunk-data" | "chunk-crlf" | "trailers";

/** What a call needs of its client (HttpClient, which imports this file): the deadlines and the idle connections. */
export interface CallClient {
  readonly deadlines: Deadlines;
  takeIdle(key: string): Connection | undefined;
  release(connection: Connection): void;
}

/** One request from start to answer, across at most two connections (a stale keep-alive one, then a fresh one). */
export class Call implements ConnectionCall, Timed {
  private connection: Connection | null = null;
  private reused = false;
  private done = false;
  /** Its place in the client's deadlines; emptied when the call ends. */
  private readonly deadline: Deadline;
  /** The request's text, as bytes once a short write needs an exact offset. */
  private out: Buffer | string;
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
    private readonly client: CallClient,
    private readonly request: RequestPlan,
    private readonly resolve: (answer: HttpAnswer) => void,
  ) {
    this.out = request.text;
    this.deadline = client.deadlines.add(this, request.timeout_ms);
  }

  /** The deadline passed (Deadlines). */
  timedOut(): void {
    this.fail(`timed out after ${this.request.timeout_ms} ms`);
  }

  start(): void {
    const idle = this.client.takeIdle(this.request.key);
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
    const connection = new Connection(this.request.key);
    this.attach(connection, false);
    const { hostname, port, tls } = this.request;
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
      if (n >= this.request.bytes) return void (this.written = -1);
      // A short write: the rest as bytes, so the offset is exact.
      this.out = Buffer.from(this.out);
      this.written = Math.max(0, n);
      return;
    }
    // The length too: without it Bun takes the whole buffer's from the offset on, and throws.
    const n = socket.write(this.out, this.written, this.request.bytes - this.written);
    this.written += Math.max(0, n);
    if (this.written >= this.request.bytes) this.written = -1;
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
      if (!HEADER_NAME.test(name)) throw new Error(`malformed header line in the answer: ${JSON.stringify(line.slice(0, 80))}`);
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
