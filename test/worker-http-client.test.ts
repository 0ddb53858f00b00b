// The webhook client with its sockets on a worker thread (src/engine/worker-http-client.ts
// and src/engine/http-client/client-worker.ts), against real receivers: it answers
// as the in-thread client does, matches each answer to its request when many are
// in flight, fails the requests of a stopped worker at once and starts another,
// and never keeps a process alive while idle.
import { afterEach, describe, expect, it } from "bun:test";
import { join } from "node:path";
import { HttpClient } from "../src/engine/http-client.ts";
import type { HttpRequest } from "../src/engine/http-client/request-and-answer.ts";
import { WorkerHttpClient } from "../src/engine/worker-http-client.ts";
import { until } from "./support/eventually.ts";

const clients: { close(): void }[] = [];
const servers: { stop(force?: boolean): unknown }[] = [];
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
  for (const s of servers.splice(0)) s.stop(true);
});

function request(url: string, more: Partial<HttpRequest> = {}): HttpRequest {
  return { url, host: new URL(url).host, headers: { "content-type": "application/json" }, body: '{"a":1}', timeout_ms: 2000, keep_response_bytes: 4096, ...more };
}

/**
 * A receiver that answers each request with a few headers and its own body
 * back; /never is never answered, /chunked in two chunks, /gone with a 410.
 * `seen` counts the requests that reached it.
 */
function echoReceiver() {
  let seen = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      seen++;
      const body = await req.text();
      const path = new URL(req.url).pathname;
      if (path === "/never") return new Promise<Response>(() => {});
      if (path === "/chunked") {
        return new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("par")); c.enqueue(new TextEncoder().encode("ts")); c.close(); } }));
      }
      if (path === "/gone") return new Response("gone", { status: 410, headers: { "x-reason": "deleted" } });
      return new Response(`echo ${body}`, { headers: { "x-one": "1", "x-id": req.headers.get("webhook-id") ?? "" } });
    },
  });
  servers.push(server);
  return { base: `http://127.0.0.1:${server.port}`, seen: () => seen };
}

/** An answer without the date header, which differs by the second between two requests. */
function comparable(answer: Awaited<ReturnType<HttpClient["post"]>>) {
  return { ...answer, headers: answer.headers?.filter(([name]) => name !== "date") ?? null };
}

describe("the webhook client on a worker thread", () => {
  it("answers as the in-thread client does: statuses, headers, bodies, framings, refusals and network errors", async () => {
    const { base } = echoReceiver();
    const local = new HttpClient();
    const worker = new WorkerHttpClient();
    clients.push(local, worker);
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const refusedUrl = `http://127.0.0.1:${closed.port}/x`;
    closed.stop(true);
    const cases: HttpRequest[] = [
      request(`${base}/ok`),
      request(`${base}/chunked`),
      request(`${base}/gone`),
      request(`${base}/ok`, { keep_response_bytes: 0 }),
      request(`${base}/ok`, { headers: { "bad name": "x" } }),
      request(`${base}/ok`, { host: "a\r\nb" }),
      request("ftp://127.0.0.1/x"),
      request(refusedUrl),
      request(`${base}/never`, { timeout_ms: 300 }),
      // 16 MB: more than one write to the socket takes.
      request(`${base}/ok`, { body: "é".repeat(8_000_000), keep_response_bytes: 64, timeout_ms: 20_000 }),
    ];
    // Twice: the first request waits for the worker to start, the rest find it running.
    for (let round = 0; round < 2; round++) {
      for (const r of cases) {
        const [a, b] = await Promise.all([local.post(r), worker.post(r)]);
        expect(comparable(b)).toEqual(comparable(a));
      }
    }
    // Equal could mean failing alike: the long request must have gone out whole.
    expect(await worker.post(cases.at(-1)!)).toMatchObject({ status: 200, error: null });
  });

  it("matches every answer to its request with a thousand in flight", async () => {
    const { base } = echoReceiver();
    const worker = new WorkerHttpClient();
    clients.push(worker);
    const answers = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => worker.post(request(`${base}/ok`, { headers: { "webhook-id": `msg_${i}` }, body: `{"n":${i}}` }))),
    );
    answers.forEach((a, i) => {
      expect(a.status).toBe(200);
      expect(a.body).toBe(`echo {"n":${i}}`);
      expect(a.headers).toContainEqual(["x-id", `msg_${i}`]);
    });
  });

  it("fails the requests in hand at once when stopped, and sends again afterwards", async () => {
    const { base, seen } = echoReceiver();
    const worker = new WorkerHttpClient();
    clients.push(worker);
    const hanging = Array.from({ length: 5 }, () => worker.post(request(`${base}/never`, { timeout_ms: 60_000 })));
    await until(() => seen() === 5, "the five requests to reach the receiver");
    const started = performance.now();
    worker.close();
    for (const a of await Promise.all(hanging)) expect(a).toEqual({ status: null, headers: null, body: null, error: "connection lost: the sending thread stopped" });
    expect(performance.now() - started).toBeLessThan(5_000); // not the requests' 60 s timeout
    expect(await worker.post(request(`${base}/ok`))).toMatchObject({ status: 200, body: 'echo {"a":1}', error: null });
  });

  it("does not keep a process alive once its requests are answered", async () => {
    const { base } = echoReceiver();
    const script = `
      import { WorkerHttpClient } from ${JSON.stringify(join(import.meta.dir, "../src/engine/worker-http-client.ts"))};
      const client = new WorkerHttpClient();
      const first = await client.post({ url: ${JSON.stringify(`${base}/ok`)}, host: "x", headers: {}, body: "1", timeout_ms: 2000, keep_response_bytes: 100 });
      await Bun.sleep(200);
      const second = await client.post({ url: ${JSON.stringify(`${base}/ok`)}, host: "x", headers: {}, body: "2", timeout_ms: 2000, keep_response_bytes: 100 });
      console.log(first.status, second.status);
    `;
    const proc = Bun.spawn([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    const [code, out] = await Promise.all([proc.exited, new Response(proc.stdout).text()]);
    clearTimeout(timer);
    expect(out.trim()).toBe("200 200");
    expect(code).toBe(0); // SIGKILLed after 10 s otherwise
  });
});
