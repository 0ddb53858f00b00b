// A receiver that misbehaves the way real ones do — 30 % 500, 10 % hangs past
// the timeout, 5 % connection resets, 5 % 429 with Retry-After: 1, else 200 —
// decided by a seeded hash of (webhook-id, attempt number), so every run and
// every store sees the same story. Every event must be delivered, and each
// delivery's recorded attempts must match, one for one, what the receiver did.
import { afterEach, expect, it } from "bun:test";
import type { Socket, TCPSocketListener } from "bun";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

const SEED = "flaky-13";
const EVENTS = 100;
// Short, but with room for a loaded machine: a 200 that arrived late would read as a timeout.
const TIMEOUT_MS = 800;

type Action = "500" | "hang" | "reset" | "429" | "200";

/** What the receiver does with attempt `n` of `id`: a hash, not Math.random, so a failure can be replayed. */
function actionFor(id: string, n: number): Action {
  const r = Number(Bun.hash.wyhash(`${SEED}:${id}:${n}`) % 10_000n) / 10_000;
  if (r < 0.3) return "500";
  if (r < 0.4) return "hang";
  if (r < 0.45) return "reset";
  if (r < 0.5) return "429";
  return "200";
}

interface Done {
  id: string;
  n: number;
  action: Action;
}

/**
 * A raw TCP server speaking just enough HTTP/1.1: Bun.serve cannot reset a
 * connection, and a reset must be a real one. `socket.terminate()` closes
 * abortively (the peer sees ECONNRESET, where `end()` gives it a FIN).
 */
function startFlakyReceiver() {
  const log: Done[] = [];
  const counts = new Map<string, number>();
  const open = new Set<Socket<{ buffer: Buffer; answered: boolean }>>();
  const reply = (socket: Socket<any>, status: number, reason: string, extra = "") => {
    const body = reason;
    socket.write(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n${extra}\r\n${body}`);
    socket.end();
  };
  const server: TCPSocketListener<{ buffer: Buffer; answered: boolean }> = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(socket) {
        socket.data = { buffer: Buffer.alloc(0), answered: false };
        open.add(socket);
      },
      close(socket) {
        open.delete(socket);
      },
      data(socket, chunk) {
        if (socket.data.answered) return;
        socket.data.buffer = Buffer.concat([socket.data.buffer, chunk]);
        const end = socket.data.buffer.indexOf("\r\n\r\n");
        if (end < 0) return;
        const head = socket.data.buffer.subarray(0, end).toString("latin1");
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (socket.data.buffer.length < end + 4 + length) return; // the whole request first: a reset is a reset of an answer
        socket.data.answered = true;
        const id = /\r\nwebhook-id:\s*([^\r]+)/i.exec(head)?.[1]?.trim() ?? "";
        const n = (counts.get(id) ?? 0) + 1;
        counts.set(id, n);
        const action = actionFor(id, n);
        log.push({ id, n, action });
        if (action === "500") reply(socket, 500, "Internal Server Error");
        else if (action === "429") reply(socket, 429, "Too Many Requests", "retry-after: 1\r\n");
        else if (action === "200") reply(socket, 200, "OK");
        else if (action === "reset") socket.terminate();
        // "hang": nothing, ever; Herald's timeout ends it.
      },
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    log,
    stop() {
      for (const socket of open) socket.terminate();
      server.stop(true);
    },
  };
}

describeOnEachStore("a flaky receiver", () => {
  let herald: TestHerald | undefined;
  let receiver: ReturnType<typeof startFlakyReceiver> | undefined;
  afterEach(async () => {
    await herald?.stop();
    receiver?.stop();
  });

  it("gets every event delivered, and each delivery's attempts tell what the receiver did", async () => {
    receiver = startFlakyReceiver();
    herald = await startHerald(
      testConfig({
        // Many short retries: the story is in the attempts, not in the waiting.
        // The breaker off: half of all answers fail, so ten in a row come often, and an
        // open breaker's probes (test/breaker.test.ts) are not what this test is about.
        delivery: { timeout: `${TIMEOUT_MS}ms`, retry_schedule: Array(30).fill("100ms"), breaker: { failures: 0 } },
        event_types: [{ name: "flaky.event" }],
        destinations: [{ id: "flaky", url: receiver.url }],
        subscriptions: [{ id: "flaky", destination: "flaky", event_types: ["*"] }],
      }),
    );
    const ids = Array.from({ length: EVENTS }, (_, i) => `flaky-${String(i).padStart(3, "0")}`);
    const published = await herald.api("POST", "/v1/events/batch", { events: ids.map((id, i) => ({ id, type: "flaky.event", data: { i } })) });
    expect(published.status).toBe(202);
    await herald.app.engine.idle();

    // Each round: the clock passes the 100 ms retries due, the sweep claims them.
    // Steps of 250 ms, shorter than Retry-After: 1, so a retry that ignored it would show.
    const deliveryOf = async (id: string) => (await herald!.api("GET", `/v1/events/${id}`)).body.deliveries[0];
    for (let round = 0; ; round++) {
      const succeeded = (await herald.api("GET", "/v1/deliveries?status=succeeded&limit=1000")).body.data.length;
      if (succeeded === EVENTS) break;
      if (round > 200) throw new Error(`not all delivered after ${round} rounds: ${EVENTS - succeeded} left`);
      herald.clock.advance(250);
      await herald.app.engine.sweeper.runOnce(herald.clock.now());
      await herald.app.engine.idle();
    }

    const tally: Record<Action, number> = { "500": 0, hang: 0, reset: 0, "429": 0, "200": 0 };
    for (const id of ids) {
      const delivery = (await herald.api("GET", `/v1/deliveries/${(await deliveryOf(id)).id}`)).body;
      const done = receiver.log.filter((d) => d.id === id).sort((a, b) => a.n - b.n);
      const story = `${id}: receiver ${done.map((d) => d.action).join(",")}; recorded ${delivery.attempts.map((a: any) => a.response?.status ?? a.error).join(",")}`;
      // One recorded attempt per request the receiver saw, in order, nothing lost and nothing extra.
      expect(delivery.attempts.map((a: any) => a.number), story).toEqual(done.map((d) => d.n));
      expect(done.at(-1)?.action, story).toBe("200");
      expect(delivery.status).toBe("succeeded");
      delivery.attempts.forEach((attempt: any, i: number) => {
        const action = done[i]!.action;
        tally[action]++;
        if (action === "200") {
          expect(attempt.response.status, story).toBe(200);
          expect(attempt.error, story).toBeNull();
        } else if (action === "500" || action === "429") {
          expect(attempt.response.status, story).toBe(Number(action));
          expect(attempt.error, story).toBe(`HTTP ${action}`);
        } else if (action === "hang") {
          expect(attempt.response, story).toBeNull();
          expect(attempt.error, story).toBe(`timed out after ${TIMEOUT_MS} ms`);
          expect(attempt.duration_ms, story).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
        } else {
          expect(attempt.response, story).toBeNull();
          expect(attempt.error, story).toBe("the receiver closed the connection before answering in full (ECONNRESET)");
        }
        // Retry-After: 1 was honoured: the next try came at least a second later (on Herald's clock).
        if (action === "429") {
          expect(Date.parse(delivery.attempts[i + 1].started_at) - Date.parse(attempt.started_at), story).toBeGreaterThanOrEqual(1000);
        }
      });
    }
    // The seed really exercised every kind of misbehaviour.
    for (const action of ["500", "hang", "reset", "429"] as const) expect(tally[action]).toBeGreaterThan(0);
    console.log(`flaky receiver: ${EVENTS} events, attempts ${JSON.stringify(tally)}`);
  }, 30_000);
});
