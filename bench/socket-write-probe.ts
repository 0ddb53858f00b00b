// `bun bench/socket-write-probe.ts N`: what one keep-alive request's write costs
// in Bun, by the way it is handed to `socket.write` — the whole request as one
// string, as one Uint8Array (encoded first), or head and body in two writes —
// over loopback to a Bun.listen server in the same process that answers each
// request with a bodiless 200, 64 connections at once, rounds interleaved with
// the order turned. Prints CPU µs per request (the process: both ends, and the
// kernel's loopback work) per round and the median of each way.
export {};

const total = Number(process.argv[2] ?? 60_000);
const head =
  "POST /hooks HTTP/1.1\r\nhost: 127.0.0.1:1\r\ncontent-type: application/json\r\nuser-agent: Herald/bench\r\n" +
  "webhook-id: evt_0192aaaa-bbbb-7ccc-8ddd-eeeeffff0000\r\nwebhook-timestamp: 1733260000\r\n" +
  "webhook-signature: v1,abcdefghijklmnopqrstuvwxyzabcdefghijklmnopq=\r\ncontent-length: 120\r\n\r\n";
const body = JSON.stringify({ type: "bench.event", timestamp: new Date().toISOString(), data: { order_id: 1, amount: 4200 } }).padEnd(120);
const server = Bun.listen<undefined>({
  hostname: "127.0.0.1", port: 0,
  socket: { data: (socket) => void socket.write("HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n") },
});
type Waiting = { resolve: (() => void) | null };
const sockets = await Promise.all(
  Array.from({ length: 64 }, () =>
    Bun.connect<Waiting>({
      hostname: "127.0.0.1", port: server.port, data: { resolve: null },
      socket: {
        data(socket: Bun.Socket<Waiting>) {
          const resolve = socket.data.resolve;
          socket.data.resolve = null;
          resolve?.();
        },
      },
    }),
  ),
);
const WAYS = { string: (s: (typeof sockets)[number]) => s.write(head + body), bytes: (s: (typeof sockets)[number]) => s.write(Buffer.from(head + body)), "two writes": (s: (typeof sockets)[number]) => (s.write(head), s.write(body)) };
type Way = keyof typeof WAYS;
async function round(way: Way, n: number): Promise<number> {
  const c0 = process.cpuUsage();
  let left = n;
  await Promise.all(sockets.map(async (socket) => {
    while (left-- > 0) {
      const answered = new Promise<void>((resolve) => (socket.data.resolve = resolve));
      WAYS[way](socket);
      await answered;
    }
  }));
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / n;
}
const ways = Object.keys(WAYS) as Way[];
const spent: Record<string, number[]> = {};
const ROUNDS = 6;
for (let r = 0; r < ROUNDS; r++) for (const way of r % 2 ? [...ways].reverse() : ways) (spent[way] ??= []).push(await round(way, Math.floor(total / ROUNDS)));
for (const way of ways) {
  const sorted = [...spent[way]!].sort((a, b) => a - b);
  console.log(`${way.padEnd(10)} ${spent[way]!.map((us) => us.toFixed(1)).join(" ")}  median ${sorted[ROUNDS / 2]!.toFixed(1)} µs CPU per request`);
}
for (const socket of sockets) socket.end();
server.stop(true);
