// The keep-alive HTTP/1.1 client that sends webhooks (src/engine/http-client.ts
// and its parts in src/engine/http-client/), against real Bun.serve receivers
// and raw TCP servers writing hand-made bytes:
// connection reuse, every body framing, the limits, stale keep-alive retries,
// timeouts, and TLS (verification, SNI on a pinned address, client certificates).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { HttpClient, IDLE_MS } from "../src/engine/http-client.ts";
import { MAX_HEAD_BYTES } from "../src/engine/http-client/call.ts";
import type { ClientTls, HttpRequest } from "../src/engine/http-client/request-and-answer.ts";
import { makeCertificates, type TestCertificates } from "./support/certificates.ts";
import { startHerald, testConfig } from "./support/herald.ts";
import { until } from "./support/eventually.ts";

/** What a raw server's handler is told about one request. */
interface Seen {
  /** Which request on its connection: 1 for the first. */
  n: number;
  head: string;
  body: string;
}
type State = { buffer: Buffer; n: number };

/** A TCP server that reads whole requests (Content-Length bodies) and lets `answer` write whatever bytes it likes. */
function rawServer(answer: (socket: Socket<State>, seen: Seen) => void) {
  const requests: Seen[] = [];
  const sockets = new Set<Socket<State>>();
  let connections = 0;
  let closed = 0;
  const server: TCPSocketListener<State> = Bun.listen<State>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { buffer: Buffer.alloc(0), n: 0 };
        connections++;
        sockets.add(socket);
      },
      close(socket) {
        closed++;
        sockets.delete(socket);
      },
      data(socket, chunk) {
        socket.data.buffer = Buffer.concat([socket.data.buffer, chunk]);
        for (;;) {
          const buffer = socket.data.buffer;
          const end = buffer.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = buffer.subarray(0, end).toString("latin1");
          const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
          if (buffer.byteLength < end + 4 + length) return;
          socket.data.buffer = buffer.subarray(end + 4 + length);
          const seen = { n: ++socket.data.n, head, body: buffer.subarray(end + 4, end + 4 + length).toString() };
          requests.push(seen);
          answer(socket, seen);
        }
      },
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    requests,
    get connections() {
      return connections;
    },
    get closed() {
      return closed;
    },
    stop() {
      for (const socket of sockets) socket.terminate();
      server.stop(true);
    },
  };
}

const OK = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";

let client: HttpClient;
const servers: { stop(): unknown }[] = [];
afterEach(() => {
  client?.close();
  for (const s of servers.splice(0)) s.stop();
});
function track<T extends { stop(): unknown }>(server: T): T {
  servers.push(server);
  return server;
}

const post = (url: string, more: Partial<HttpRequest> = {}) =>
  client.post({ url, host: new URL(url).host, headers: { "content-type": "application/json" }, body: '{"a":1}', timeout_ms: 2000, keep_response_bytes: 4096, ...more });

/** Posts to `url` and expects a complete 200 answer with this body. */
async function answersOk(url: string, body = "ok"): Promise<void> {
  expect(await post(url)).toMatchObject({ status: 200, body, error: null });
}

describe("the webhook HTTP client", () => {
  it("reuses kept-alive connections: a Bun.serve receiver sees fewer connections than requests", async () => {
    client = new HttpClient();
    const ports = new Set<number>();
    const server = track(Bun.serve({ port: 0, hostname: "127.0.0.1", async fetch(req, srv) {
      ports.add(srv.requestIP(req)!.port);
      return new Response(`got ${await req.text()}`, { headers: { "x-one": "1", "x-two": "2" } });
    } }));
    const url = `http://127.0.0.1:${server.port}/hook`;
    for (let round = 0; round < 5; round++) {
      const answers = await Promise.all(Array.from({ length: 4 }, () => post(url)));
      for (const a of answers) {
        expect(a).toMatchObject({ status: 200, body: 'got {"a":1}', error: null });
        expect(a.headers).toContainEqual(["x-one", "1"]);
      }
    }
    // 20 requests, at most 4 at once, over at most 4 connections.
    expect(ports.size).toBeLessThanOrEqual(4);
    expect(client.idleCount()).toBeGreaterThan(0);
  });

  it("closes a pooled connection left idle for IDLE_MS", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket) => socket.write(OK)));
    expect((await post(raw.url)).status).toBe(200);
    client.closeIdle(performance.now() + IDLE_MS / 2);
    expect(client.idleCount()).toBe(1);
    client.closeIdle(performance.now() + IDLE_MS);
    expect(client.idleCount()).toBe(0);
    await until(() => raw.closed === 1, "the idle connection to close", IDLE_MS / 4);
  });

  it("sends the Host it is given to the address in the URL, with the body's length in bytes", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket) => socket.write(OK)));
    const answer = await client.post({ url: raw.url, host: "hooks.example.com:8443", headers: { "x-a": "b" }, body: '{"é":1}', timeout_ms: 2000, keep_response_bytes: 10 });
    expect(answer).toMatchObject({ status: 200, body: "ok", error: null });
    expect(raw.requests[0]!.head).toContain("\r\nhost: hooks.example.com:8443\r\n");
    expect(raw.requests[0]!.head).toEndWith("\r\ncontent-length: 8");
    expect(raw.requests[0]!.body).toBe('{"é":1}');
  });

  it("sends a request longer than the socket takes at once whole, the rest as the socket drains", async () => {
    client = new HttpClient();
    const server = track(Bun.serve({ port: 0, hostname: "127.0.0.1", maxRequestBodySize: 64 * 1024 * 1024, async fetch(req) {
      const text = await req.text();
      return new Response(`${text.length} ${text === body}`);
    } }));
    // 16 MB in two-byte characters: far past what one write to a loopback socket takes.
    const body = "é".repeat(8_000_000);
    const answer = await post(`http://127.0.0.1:${server.port}/big`, { body, timeout_ms: 20_000 });
    expect(answer).toMatchObject({ status: 200, body: "8000000 true", error: null });
  });

  it("reaches an IPv6 literal", async () => {
    client = new HttpClient();
    let server: ReturnType<typeof Bun.serve>;
    try {
      server = track(Bun.serve({ port: 0, hostname: "::1", fetch: (req) => new Response(req.headers.get("host")) }));
    } catch {
      return console.warn("no IPv6 loopback here: test skipped");
    }
    const answer = await post(`http://[::1]:${server.port}/hook`);
    expect(answer).toMatchObject({ status: 200, body: `[::1]:${server.port}`, error: null });
  });

  it("reads chunked answers with extensions and trailers, then reuses the connection", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket) => {
      // In pieces, splitting a size line, the data and the trailers.
      const parts = ["HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;ext=", "1\r\nhel", "lo\r\n6;a=b;c\r\n world\r", "\n0\r\nx-trailer: t\r\n", "\r\n"];
      parts.forEach((part, i) => setTimeout(() => socket.write(part), i * 5));
    }));
    await answersOk(raw.url, "hello world");
    await answersOk(raw.url, "hello world");
    expect(raw.requests.length).toBe(2);
    expect(raw.connections).toBe(1);
  });

  it("skips an interim 100 Continue, and reads a 204 as bodiless", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket, seen) => {
      socket.write(seen.n === 1 ? "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 3\r\n\r\nnew" : "HTTP/1.1 204 No Content\r\n\r\n");
    }));
    expect(await post(raw.url)).toMatchObject({ status: 201, body: "new", error: null });
    expect(await post(raw.url)).toMatchObject({ status: 204, body: null, error: null });
    expect(await post(raw.url)).toMatchObject({ status: 204, body: null, error: null });
    expect(raw.connections).toBe(1);
  });

  it("does not reuse a connection whose 204 or 304 announced a body (its stray bytes would answer the next request)", async () => {
    client = new HttpClient();
    const answers = [
      "HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\n",
      "HTTP/1.1 304 Not Modified\r\ntransfer-encoding: chunked\r\n\r\n",
      "HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n",
    ];
    const raw = track(rawServer((socket) => {
      const answer = answers[raw.requests.length - 1]!;
      // The stray body comes a moment later, as a separate write.
      socket.write(answer);
      if (!answer.includes("length: 0")) setTimeout(() => socket.write(answer.includes("chunked") ? "5\r\nstray\r\n0\r\n\r\n" : "stray"), 5);
    }));
    expect(await post(raw.url)).toMatchObject({ status: 204, body: null, error: null });
    expect(client.idleCount()).toBe(0);
    expect(await post(raw.url)).toMatchObject({ status: 304, body: null, error: null });
    expect(client.idleCount()).toBe(0);
    expect(raw.connections).toBe(2);
    // An honest empty length: kept.
    expect(await post(raw.url)).toMatchObject({ status: 204, body: null, error: null });
    expect(client.idleCount()).toBe(1);
    expect(raw.connections).toBe(3);
  });

  describe("never reuses a connection that may be out of step", () => {
    it("bytes left over after a complete answer in the same write", async () => {
      client = new HttpClient();
      // A second answer nobody asked for, in the same write: it would answer the next request.
      const raw = track(rawServer((socket) => socket.write(OK + "HTTP/1.1 500 Stray\r\ncontent-length: 0\r\n\r\n")));
      await answersOk(raw.url);
      expect(client.idleCount()).toBe(0);
      await answersOk(raw.url);
      expect(raw.connections).toBe(2);
    });

    it("bytes arriving on an idle pooled connection", async () => {
      client = new HttpClient();
      const raw = track(rawServer((socket, seen) => {
        socket.write(OK);
        if (seen.n === 1) setTimeout(() => socket.write("HTTP/1.1 500 Stray\r\ncontent-length: 0\r\n\r\n"), 10);
      }));
      await answersOk(raw.url);
      expect(client.idleCount()).toBe(1);
      // The stray answer arrives while nothing is asked: the connection is dropped, not kept for the next request.
      await until(() => client.idleCount() === 0, "the connection that spoke unasked to be dropped", 1000);
      await answersOk(raw.url);
      expect(raw.connections).toBe(2);
    });

    it("an answer framed by both Transfer-Encoding and Content-Length", async () => {
      client = new HttpClient();
      const raw = track(rawServer((socket) => socket.write("HTTP/1.1 200 OK\r\ncontent-length: 3\r\ntransfer-encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")));
      // Transfer-Encoding wins (RFC 9112 §6.3), but the receiver's framing cannot be trusted again.
      await answersOk(raw.url);
      expect(client.idleCount()).toBe(0);
      await answersOk(raw.url);
      expect(raw.connections).toBe(2);
    });

    it("Connection: close, and HTTP/1.0 without keep-alive (but HTTP/1.0 with keep-alive is reused)", async () => {
      client = new HttpClient();
      const answers = [
        "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\ncontent-length: 2\r\n\r\nok",
        "HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
        "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok",
        "HTTP/1.0 200 OK\r\nconnection: keep-alive\r\ncontent-length: 2\r\n\r\nok",
      ];
      const raw = track(rawServer((socket) => socket.write(answers[raw.requests.length - 1]!)));
      await answersOk(raw.url);
      expect(client.idleCount()).toBe(0);
      await answersOk(raw.url);
      expect(client.idleCount()).toBe(0);
      await answersOk(raw.url);
      expect(client.idleCount()).toBe(1);
      await answersOk(raw.url);
      // Three connections for four requests: the last one reused the HTTP/1.0 keep-alive connection.
      expect(raw.connections).toBe(3);
    });
  });

  it("reads a close-delimited body to its end and does not pool that connection", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket) => {
      socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil the ");
      setTimeout(() => {
        socket.write("end");
        socket.end();
      }, 20);
    }));
    await answersOk(raw.url, "until the end");
    expect(client.idleCount()).toBe(0);
    await answersOk(raw.url, "until the end");
    expect(raw.connections).toBe(2);
  });

  it("keeps only keep_response_bytes of a longer body, closes that connection and opens a new one next time", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 10000\r\n\r\n${"y".repeat(10000)}`)));
    const answer = await post(raw.url, { keep_response_bytes: 100 });
    expect(answer).toMatchObject({ status: 200, body: "y".repeat(100), error: null });
    expect(client.idleCount()).toBe(0);
    // Closed by the cut, well before the idle sweep (IDLE_MS) would have.
    await until(() => raw.closed === 1, "the cut connection to close", IDLE_MS / 4);
    expect((await post(raw.url, { keep_response_bytes: 100 })).body).toBe("y".repeat(100));
    expect(raw.connections).toBe(2);
  });

  it("refuses to send a header that frames the request or governs the connection, in any case", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket) => socket.write(OK)));
    // A destination stored before the config and the API refused these still carries them:
    // a chunked Transfer-Encoding beside the client's own content-length would desynchronise the kept-alive connection.
    for (const name of ["Transfer-Encoding", "connection", "Upgrade", "te", "keep-alive", "trailer", "proxy-connection", "Content-Length", "host"]) {
      const answer = await post(raw.url, { headers: { "content-type": "application/json", [name]: name === "Transfer-Encoding" ? "chunked" : "x" } });
      expect({ name, status: answer.status, error: answer.error }).toEqual({ name, status: null, error: `the request header ${JSON.stringify(name)} is set by Herald or frames the request, and cannot be sent as a static header` });
    }
    expect(raw.requests.length).toBe(0);
    expect(raw.connections).toBe(0);
  });

  it("refuses an answer head over the cap, naming it", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket) => socket.write(`HTTP/1.1 200 OK\r\nx-big: ${"h".repeat(MAX_HEAD_BYTES + 10)}`)));
    const answer = await post(raw.url, { timeout_ms: 10_000 });
    expect(answer.status).toBeNull();
    expect(answer.error).toBe(`the answer's status line and headers are over ${MAX_HEAD_BYTES} bytes`);
  });

  it("names a malformed status line, a malformed header and a malformed chunk size", async () => {
    client = new HttpClient();
    const answers = ["HTTP/1.1 2OO OK\r\ncontent-length: 0\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon here\r\ncontent-length: 0\r\n\r\n", "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n"];
    const raw = track(rawServer((socket, seen) => socket.write(answers[raw.requests.length - 1]!)));
    const [status, header, chunk] = [await post(raw.url), await post(raw.url), await post(raw.url)];
    expect(status).toMatchObject({ status: null, error: 'malformed status line in the answer: "HTTP/1.1 2OO OK"' });
    expect(header).toMatchObject({ status: null, error: 'malformed header line in the answer: "no colon here"' });
    expect(chunk).toMatchObject({ status: 200, body: null, error: 'malformed chunk size in the answer: "zz"' });
    // None of them was sent twice, and no connection that spoke nonsense was kept.
    expect(raw.requests.length).toBe(3);
    expect(raw.connections).toBe(3);
  });

  it("retries once on a fresh connection when a reused one is closed before any answer, and only then", async () => {
    client = new HttpClient();
    // The second request on any connection is read and the connection closed unanswered:
    // what a server closing an idle keep-alive connection looks like to the client.
    const raw = track(rawServer((socket, seen) => (seen.n === 1 ? socket.write(OK) : socket.end())));
    expect(await post(raw.url)).toMatchObject({ status: 200, error: null });
    await answersOk(raw.url);
    // The request reached the server twice: once dropped, once answered.
    expect(raw.requests.map((r) => r.n)).toEqual([1, 2, 1]);
    expect(raw.connections).toBe(2);
  });

  it("does not retry a fresh connection closed before answering", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket) => socket.end()));
    const answer = await post(raw.url);
    expect(answer).toMatchObject({ status: null, error: "the receiver closed the connection before answering in full" });
    expect(raw.requests.length).toBe(1);
  });

  it("fails an answer whose connection closes mid-body, naming it, and never retries it (even on a reused connection)", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket, seen) => {
      if (seen.n === 1) return socket.write(OK);
      socket.write("HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten b");
      socket.end();
    }));
    expect(await post(raw.url)).toMatchObject({ status: 200, error: null });
    const cut = await post(raw.url);
    expect(cut).toMatchObject({ status: 200, body: null, error: "the receiver closed the connection mid-body (10 bytes received)" });
    expect(raw.requests.length).toBe(2);
  });

  it("names a reset", async () => {
    client = new HttpClient();
    const raw = track(rawServer((socket) => socket.terminate()));
    expect(await post(raw.url)).toMatchObject({ status: null, error: "the receiver closed the connection before answering in full (ECONNRESET)" });
  });

  it("names a refused connection", async () => {
    client = new HttpClient();
    const raw = rawServer(() => {});
    const url = raw.url;
    raw.stop();
    expect(await post(url)).toMatchObject({ status: null, error: "connection refused (ECONNREFUSED)" });
  });

  describe("times out the whole exchange", () => {
    const TIMEOUT = 300;
    const timed = async (url: string) => {
      const started = performance.now();
      const answer = await post(url, { timeout_ms: TIMEOUT });
      return { answer, took: performance.now() - started };
    };

    it("while connecting (a TLS handshake never answered)", async () => {
      client = new HttpClient();
      const raw = track(Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
      const { answer, took } = await timed(`https://127.0.0.1:${raw.port}/hook`);
      expect(answer).toMatchObject({ status: null, error: `timed out after ${TIMEOUT} ms` });
      expect(took).toBeGreaterThanOrEqual(TIMEOUT - 5);
      expect(took).toBeLessThan(TIMEOUT + 1000);
    });

    it("while waiting for the headers", async () => {
      client = new HttpClient();
      const raw = track(rawServer(() => {}));
      const { answer, took } = await timed(raw.url);
      expect(answer).toMatchObject({ status: null, error: `timed out after ${TIMEOUT} ms` });
      expect(took).toBeLessThan(TIMEOUT + 1000);
      await until(() => raw.closed === 1, "the connection to be dropped", IDLE_MS / 4);
    });

    it("for each call on its own: one started later, or with a shorter timeout, or after others ended, times out at its own deadline", async () => {
      client = new HttpClient();
      const hang = track(rawServer(() => {}));
      const quick = track(rawServer((socket) => socket.write(OK)));
      // Calls of one length that ended first (their deadlines still listed) keep no later call waiting.
      for (let i = 0; i < 3; i++) expect(await post(quick.url, { timeout_ms: TIMEOUT })).toMatchObject({ status: 200, error: null });
      const started = performance.now();
      const took = (answer: Promise<unknown>) => answer.then((a) => ({ answer: a, at: performance.now() - started }));
      const long = took(post(hang.url, { timeout_ms: TIMEOUT * 4 }));
      const first = took(post(hang.url, { timeout_ms: TIMEOUT }));
      await Bun.sleep(100);
      const second = took(post(hang.url, { timeout_ms: TIMEOUT }));
      const [a, b, c] = await Promise.all([first, second, long]);
      expect(a.answer).toMatchObject({ status: null, error: `timed out after ${TIMEOUT} ms` });
      expect(b.answer).toMatchObject({ status: null, error: `timed out after ${TIMEOUT} ms` });
      expect(c.answer).toMatchObject({ status: null, error: `timed out after ${TIMEOUT * 4} ms` });
      // Each at its own deadline: the shorter before the longer one started ahead of it, the later one after the first.
      expect(a.at).toBeGreaterThanOrEqual(TIMEOUT - 5);
      // Late by less than a timeout: a timer re-armed for a whole length, not the time left, would miss these.
      expect(a.at).toBeLessThan(TIMEOUT + 250);
      expect(b.at).toBeGreaterThanOrEqual(TIMEOUT + 100 - 5);
      expect(b.at).toBeLessThan(TIMEOUT + 100 + 250);
      expect(c.at).toBeGreaterThanOrEqual(TIMEOUT * 4 - 5);
    });

    it("while a body drips in", async () => {
      client = new HttpClient();
      const raw = track(rawServer((socket) => {
        socket.write("HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n");
        const drip = setInterval(() => socket.write("x"), 20);
        servers.push({ stop: () => clearInterval(drip) });
      }));
      const { answer, took } = await timed(raw.url);
      expect(answer).toMatchObject({ status: 200, body: null, error: `timed out after ${TIMEOUT} ms` });
      expect(took).toBeLessThan(TIMEOUT + 1000);
      await until(() => raw.closed === 1, "the connection to be dropped", IDLE_MS / 4);
    });
  });
});

describe("the webhook HTTP client over TLS", () => {
  let certs: TestCertificates;
  let plain: ReturnType<typeof Bun.serve>;
  let mutual: ReturnType<typeof Bun.serve>;
  const ports = { plain: new Set<number>(), mutual: new Set<number>() };
  beforeAll(() => {
    certs = makeCertificates(["hooks.test.invalid"]);
    plain = Bun.serve({ port: 0, hostname: "127.0.0.1", tls: { cert: certs.server.cert, key: certs.server.key }, fetch(req, srv) {
      ports.plain.add(srv.requestIP(req)!.port);
      return new Response("secure");
    } });
    mutual = Bun.serve({
      port: 0, hostname: "127.0.0.1",
      tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requestCert: true, rejectUnauthorized: true },
      fetch(req, srv) {
        ports.mutual.add(srv.requestIP(req)!.port);
        return new Response("mutual");
      },
    });
  });
  afterAll(() => {
    plain?.stop(true);
    mutual?.stop(true);
  });

  const at = (server: ReturnType<typeof Bun.serve>, tls: ClientTls) =>
    client.post({ url: `https://127.0.0.1:${server.port}/hook`, host: `hooks.test.invalid:${server.port}`, headers: {}, body: "{}", timeout_ms: 3000, keep_response_bytes: 100, tls });

  it("verifies the receiver's certificate for the pinned name (SNI) against the extra CA", async () => {
    client = new HttpClient();
    expect(await at(plain, { servername: "hooks.test.invalid", ca: [certs.ca] })).toMatchObject({ status: 200, body: "secure", error: null });
  });

  it("refuses a certificate it cannot verify, or one for another name, naming the problem", async () => {
    client = new HttpClient();
    const unknownCa = await at(plain, { servername: "hooks.test.invalid" });
    expect(unknownCa.status).toBeNull();
    expect(unknownCa.error).toContain("unable to verify the first certificate");
    const otherName = await at(plain, { servername: "other.test.invalid", ca: [certs.ca] });
    expect(otherName.status).toBeNull();
    expect(otherName.error).toContain("other.test.invalid");
    expect(otherName.error).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  it("checks the certificate against the URL's own host when no name is pinned", async () => {
    client = new HttpClient();
    // The certificate names hooks.test.invalid and 127.0.0.1, not localhost.
    const byName = await client.post({ url: `https://localhost:${plain.port}/hook`, host: `localhost:${plain.port}`, headers: {}, body: "{}", timeout_ms: 3000, keep_response_bytes: 100, tls: { ca: [certs.ca] } });
    expect(byName.status).toBeNull();
    expect(byName.error).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
    const byAddress = await client.post({ url: `https://127.0.0.1:${plain.port}/hook`, host: `127.0.0.1:${plain.port}`, headers: {}, body: "{}", timeout_ms: 3000, keep_response_bytes: 100, tls: { ca: [certs.ca] } });
    expect(byAddress).toMatchObject({ status: 200, error: null });
  });

  it("presents the client certificate a receiver requires, and fails without it", async () => {
    client = new HttpClient();
    const tls = { servername: "hooks.test.invalid", ca: [certs.ca] };
    expect(await at(mutual, { ...tls, cert: certs.client.cert, key: certs.client.key })).toMatchObject({ status: 200, body: "mutual", error: null });
    const without = await at(mutual, tls);
    expect(without.status).toBeNull();
    expect(without.error).toBeString();
  });

  it("never shares a connection between different TLS settings", async () => {
    client = new HttpClient();
    const ca = [certs.ca];
    const one = { servername: "hooks.test.invalid", ca };
    const two = { servername: "hooks.test.invalid", ca, cert: certs.client.cert, key: certs.client.key };
    ports.plain.clear();
    for (let i = 0; i < 3; i++) {
      expect((await at(plain, one)).status).toBe(200);
      expect((await at(plain, two)).status).toBe(200);
    }
    // Six requests in turn: one connection per identity, each reused.
    expect(ports.plain.size).toBe(2);
    // The same settings in another object share (the identity is the content, not the object).
    expect((await at(plain, { servername: "hooks.test.invalid", ca })).status).toBe(200);
    expect(ports.plain.size).toBe(2);
  });
});

describe("Herald's sends through the client", () => {
  it("reuse one connection for a destination's deliveries and close it when the engine stops", async () => {
    const raw = track(rawServer((socket) => socket.write(OK)));
    const herald = await startHerald(testConfig({
      event_types: [{ name: "a" }],
      destinations: [{ id: "d", url: raw.url }],
      subscriptions: [{ id: "s", destination: "d", event_types: ["a"] }],
    }));
    try {
      for (let i = 0; i < 5; i++) {
        expect((await herald.api("POST", "/v1/events", { type: "a", data: { i } })).status).toBe(202);
        await herald.app.engine.idle();
      }
      expect((await herald.api("GET", "/v1/deliveries?status=succeeded")).body.data.length).toBe(5);
      expect(raw.requests.length).toBe(5);
      expect(raw.connections).toBe(1);
      expect(raw.closed).toBe(0);
    } finally {
      await herald.stop();
    }
    await until(() => raw.closed === 1, "the pooled connection to close at stop");
  });
});
