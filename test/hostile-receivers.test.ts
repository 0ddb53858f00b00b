// Receivers that answer in ways meant to hurt the sender: a body dripped a
// byte every 200 ms, a body that never ends, 100 MB of body, and redirects.
// Herald runs as a child process so its resident memory can be read from
// /proc: every attempt must end by the timeout (plus a margin), the huge
// answer is read only up to keep_response_bytes and its connection dropped,
// a redirect is a failure that names it and is never followed, and Herald's
// RSS stays under 200 MB throughout.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { spawnSourceHerald, type HeraldProcess } from "./support/process.ts";
import { ADMIN_TOKEN, removeDir, tempDir } from "./support/herald.ts";
import { rssOf } from "./support/fuzz-watch.ts";

const TIMEOUT_MS = 1000;
/** Scheduling slack on a loaded 2-core machine: the attempt must end well before a second timeout would. */
const MARGIN_MS = 1500;
const KEEP = 4096;
const PER_KIND = 20;
const HUGE_BYTES = 100 * 1024 * 1024;
const RSS_LIMIT = 200 * 1024 * 1024;
const REDIRECTS = [301, 302, 303, 307, 308];

/** What the receiver saw of one request: when it came, when its connection was given up, bytes it produced. */
interface Seen {
  path: string;
  id: string;
  at: number;
  closedAt: number | null;
  bytes: number;
}
const seen: Seen[] = [];
let followed = 0;

const bytes = new TextEncoder();
const server: Bun.Server<undefined> = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  idleTimeout: 0,
  async fetch(req): Promise<Response> {
    await req.arrayBuffer();
    const path = new URL(req.url).pathname;
    if (path === "/followed") {
      followed++;
      return new Response("you followed a redirect");
    }
    const entry: Seen = { path, id: req.headers.get("webhook-id") ?? "", at: performance.now(), closedAt: null, bytes: 0 };
    seen.push(entry);
    const closed = (): void => void (entry.closedAt ??= performance.now());
    if (path.startsWith("/redirect/")) {
      return new Response(null, { status: Number(path.slice("/redirect/".length)), headers: { location: `http://127.0.0.1:${server.port}/followed` } });
    }
    if (path === "/drip") {
      // One byte every 200 ms, forever: only the sender's timeout can end it.
      let timer: ReturnType<typeof setInterval>;
      return new Response(
        new ReadableStream({
          start(controller) {
            timer = setInterval(() => {
              try {
                controller.enqueue(bytes.encode("x"));
                entry.bytes++;
              } catch {
                clearInterval(timer);
                closed();
              }
            }, 200);
          },
          cancel() {
            clearInterval(timer);
            closed();
          },
        }),
      );
    }
    if (path === "/endless") {
      // Headers and a first chunk, then nothing, and the stream is never closed.
      return new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(bytes.encode("{\"partial\":"));
            entry.bytes = 11;
          },
          cancel: closed,
        }),
      );
    }
    if (path === "/huge") {
      // 100 MB produced on demand (pull): what the sender does not read is never made.
      const chunk = new Uint8Array(64 * 1024).fill(0x61);
      return new Response(
        new ReadableStream({
          pull(controller) {
            if (entry.bytes >= HUGE_BYTES) return controller.close();
            controller.enqueue(chunk);
            entry.bytes += chunk.byteLength;
          },
          cancel: closed,
        }),
        { headers: { "content-type": "text/plain" } },
      );
    }
    return new Response("not found", { status: 404 });
  },
});
const base = `http://127.0.0.1:${server.port}`;

const dir = tempDir("herald-hostile-");
let herald: HeraldProcess;
let peakRss = 0;
let rssTimer: ReturnType<typeof setInterval> | undefined;

const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(herald.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
};

beforeAll(async () => {
  const redirectDestinations = REDIRECTS.map((code) => `{ id: r${code}, url: "${base}/redirect/${code}" }`).join(", ");
  const redirectSubscriptions = REDIRECTS.map((code) => `{ id: r${code}, destination: r${code}, event_types: [redirect] }`).join(", ");
  herald = await spawnSourceHerald(dir, ADMIN_TOKEN, {
    // One attempt each within the test: the next would be an hour away.
    delivery: `timeout: ${TIMEOUT_MS}ms, keep_response_bytes: ${KEEP}, retry_schedule: [1h]`,
    resources: `event_types: [ { name: drip }, { name: endless }, { name: huge }, { name: redirect } ]
destinations: [ { id: drip, url: "${base}/drip" }, { id: endless, url: "${base}/endless" }, { id: huge, url: "${base}/huge" }, ${redirectDestinations} ]
subscriptions: [ { id: drip, destination: drip, event_types: [drip] }, { id: endless, destination: endless, event_types: [endless] }, { id: huge, destination: huge, event_types: [huge] }, ${redirectSubscriptions} ]
`,
  });
  rssTimer = setInterval(() => (peakRss = Math.max(peakRss, rssOf(herald.proc.pid))), 25);
});

afterAll(async () => {
  clearInterval(rssTimer);
  herald?.proc.kill("SIGKILL");
  await herald?.proc.exited;
  await server.stop(true);
  removeDir(dir);
});

/** Publishes `count` events of `type` in one batch and waits until each of their deliveries has one attempt recorded. */
async function attemptsOf(type: string, count: number): Promise<any[]> {
  const published = await api("POST", "/v1/events/batch", { events: Array.from({ length: count }, (_, i) => ({ type, data: { i } })) });
  expect(published.status).toBe(202);
  const ids: string[] = published.body.data.map((e: any) => e.id);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const deliveries = (await Promise.all(ids.map(async (id) => (await api("GET", `/v1/events/${id}`)).body.deliveries))).flat();
    if (deliveries.length > 0 && deliveries.every((d: any) => d.attempt_count >= 1)) {
      return Promise.all(deliveries.map(async (d: any) => (await api("GET", `/v1/deliveries/${d.id}`)).body));
    }
    if (Date.now() > deadline) throw new Error(`${type}: not every delivery was attempted: ${deliveries.map((d: any) => `${d.status}/${d.attempt_count}`).join(" ")}`);
    await Bun.sleep(50);
  }
}

/** Waits (with a deadline) until the receiver saw every request on `path` given up by Herald. */
async function allClosed(path: string): Promise<Seen[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const mine = seen.filter((s) => s.path === path);
    if (mine.every((s) => s.closedAt !== null) || Date.now() > deadline) return mine;
    await Bun.sleep(25);
  }
}

describe("hostile receivers", () => {
  it("cuts a body dripped a byte every 200 ms off at the timeout, with an error saying so", async () => {
    const deliveries = await attemptsOf("drip", PER_KIND);
    expect(deliveries.length).toBe(PER_KIND);
    for (const d of deliveries) {
      expect(d.status).toBe("pending"); // a failure, retried later
      const [attempt] = d.attempts;
      // What came is kept (the 200 and its headers), and the error says why it still failed.
      expect(attempt.response.status).toBe(200);
      expect(attempt.error).toBe(`HTTP 200, body not received in full: timed out after ${TIMEOUT_MS} ms`);
      expect(attempt.duration_ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      expect(attempt.duration_ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    }
    // The receiver saw its connection dropped at the timeout, not left open.
    const requests = await allClosed("/drip");
    expect(requests.length).toBe(PER_KIND);
    for (const r of requests) {
      // Dropped at all (allClosed gives up at its deadline), and in time.
      expect(r.closedAt).not.toBeNull();
      expect(r.closedAt! - r.at).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    }
  }, 30_000);

  it("cuts a body that never ends off at the timeout", async () => {
    const deliveries = await attemptsOf("endless", PER_KIND);
    expect(deliveries.length).toBe(PER_KIND);
    for (const d of deliveries) {
      const [attempt] = d.attempts;
      expect(attempt.response.status).toBe(200);
      expect(attempt.error).toBe(`HTTP 200, body not received in full: timed out after ${TIMEOUT_MS} ms`);
      expect(attempt.duration_ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    }
    const requests = await allClosed("/endless");
    expect(requests.length).toBe(PER_KIND);
    for (const r of requests) {
      // Dropped at all (allClosed gives up at its deadline), and in time.
      expect(r.closedAt).not.toBeNull();
      expect(r.closedAt! - r.at).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    }
  }, 30_000);

  it("reads a 100 MB answer only up to keep_response_bytes and drops the connection", async () => {
    const deliveries = await attemptsOf("huge", PER_KIND);
    expect(deliveries.length).toBe(PER_KIND);
    for (const d of deliveries) {
      expect(d.status).toBe("succeeded");
      const [attempt] = d.attempts;
      expect(attempt.error).toBeNull();
      expect(attempt.response.body.length).toBe(KEEP);
      expect(attempt.duration_ms).toBeLessThan(TIMEOUT_MS + MARGIN_MS);
    }
    const requests = await allClosed("/huge");
    expect(requests.length).toBe(PER_KIND);
    for (const r of requests) {
      expect(r.closedAt).not.toBeNull(); // the stream was cancelled: Herald hung up
      // Produced on demand, so this is what Herald's socket took before hanging
      // up: socket buffers' worth, nowhere near the 100 MB on offer.
      expect(r.bytes).toBeLessThan(HUGE_BYTES / 10);
    }
  }, 30_000);

  it("fails a redirect naming its status and Location, and never follows it", async () => {
    const deliveries = await attemptsOf("redirect", 1);
    expect(deliveries.length).toBe(REDIRECTS.length);
    const errors = deliveries.map((d) => [d.attempts[0].response.status, d.attempts[0].error]).sort();
    expect(errors).toEqual(REDIRECTS.map((code) => [code, `redirect ${code} to ${base}/followed not followed`]));
    for (const d of deliveries) expect(d.status).toBe("pending");
    expect(followed).toBe(0);
  }, 30_000);

  it("kept Herald's memory under 200 MB through all of it", () => {
    peakRss = Math.max(peakRss, rssOf(herald.proc.pid));
    console.log(`hostile receivers: Herald's peak RSS ${(peakRss / 1024 / 1024).toFixed(1)} MB over ${PER_KIND * 3 + REDIRECTS.length} attempts`);
    expect(peakRss).toBeGreaterThan(0);
    expect(peakRss).toBeLessThan(RSS_LIMIT);
  });
});
