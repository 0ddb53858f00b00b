// Sends hand-written HTTP/1.1 bytes over a plain TCP socket, for requests that
// fetch refuses to send (a NUL in a header, a raw space in the path, a negative
// Content-Length, a 60 KB header), and reads back whatever the server answers.
import { connect } from "node:net";

export interface RawAnswer {
  /** 0 when the server closed without a status line. */
  status: number;
  headers: Record<string, string>;
  body: string;
  raw: string;
}

/** Writes `request` (latin1 bytes) to host:port and collects the answer until the server closes or `timeout_ms` passes. */
export function rawRequest(port: number, request: string | Uint8Array, timeout_ms = 5_000, host = "127.0.0.1"): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect(port, host);
    const chunks: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parseAnswer(Buffer.concat(chunks).toString("latin1")));
    };
    const timer = setTimeout(finish, timeout_ms);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // One answer is enough: stop once the declared body has arrived.
      const answer = parseAnswer(Buffer.concat(chunks).toString("latin1"));
      const length = Number(answer.headers["content-length"]);
      if (answer.status && Number.isFinite(length) && Buffer.byteLength(answer.body, "latin1") >= length) finish();
    });
    socket.on("close", finish);
    socket.on("error", finish);
    socket.write(typeof request === "string" ? Buffer.from(request, "latin1") : request);
  });
}

export function parseAnswer(all: string): RawAnswer {
  // Interim answers (100 Continue) come before the real one.
  let raw = all;
  while (/^HTTP\/\d\.\d 1\d\d /.test(raw) && raw.includes("\r\n\r\n")) raw = raw.slice(raw.indexOf("\r\n\r\n") + 4);
  const end = raw.indexOf("\r\n\r\n");
  const head = end < 0 ? raw : raw.slice(0, end);
  const [statusLine = "", ...lines] = head.split("\r\n");
  const status = Number(statusLine.match(/^HTTP\/\d\.\d (\d{3})/)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, body: end < 0 ? "" : raw.slice(end + 4), raw };
}
