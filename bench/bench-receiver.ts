// The benchmarks' webhook receiver: a quiet Bun server in its own process (so
// it never shares the load generator's event loop) that counts what it gets.
// PORT (0 = any), FAIL_RATE (0..1, answered 500) and LATENCY=1 (read `sent_at`
// from the body and keep publish-to-received times) set its behaviour.
// GET /__stats answers the counts; POST /__reset clears them.
const failRate = Number(process.env.FAIL_RATE ?? 0);
const trackLatency = process.env.LATENCY === "1";

let requests = 0;
let ok = 0;
let failed = 0;
let firstAt = 0;
let lastAt = 0;
// Distinct (path, webhook-id) pairs: at-least-once means a repeat is allowed, a gap is not.
let seen = new Set<string>();
let latencies: number[] = [];
// A counter rather than Math.random: exactly FAIL_RATE of the answers fail, run after run.
let failCounter = 0;

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/__stats") {
      return Response.json({ requests, ok, failed, unique: seen.size, first_at: firstAt, last_at: lastAt, latencies: summary(latencies) });
    }
    if (url.pathname === "/__reset") {
      requests = ok = failed = firstAt = lastAt = failCounter = 0;
      seen = new Set();
      latencies = [];
      return new Response("reset");
    }
    const body = await request.text();
    const now = performance.timeOrigin + performance.now();
    requests++;
    if (firstAt === 0) firstAt = now;
    lastAt = now;
    if (failRate > 0) {
      failCounter += failRate;
      if (failCounter >= 1) {
        failCounter -= 1;
        failed++;
        return new Response("no", { status: 500 });
      }
    }
    ok++;
    seen.add(url.pathname + " " + request.headers.get("webhook-id"));
    if (trackLatency) {
      const match = /"sent_at":([0-9.]+)/.exec(body);
      if (match) latencies.push(now - Number(match[1]));
    }
    return new Response("ok");
  },
});

function summary(values: number[]) {
  if (values.length === 0) return null;
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}

console.log(JSON.stringify({ listening: server.port }));
