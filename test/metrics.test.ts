// /metrics after real traffic: `promtool check metrics` accepts a real scrape,
// and the figures match what was done (events published by type, attempts by
// class, deliveries, latency, the oldest due delivery, per-destination series,
// HTTP requests by route pattern, store size, sweep durations), on every store.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

/** The value of one sample: `name{labels}` exactly as rendered (labels in Herald's order). */
function sample(text: string, series: string): number {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  if (line === undefined) throw new Error(`no sample ${series} in:\n${text}`);
  return Number(line.slice(series.length + 1));
}

/** promtool's verdict on a scrape: its exit code and what it printed (lint problems included). */
async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  const proc = Bun.spawn(["promtool", "check", "metrics"], { stdin: new Blob([text]), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, output: out + err };
}

describeOnEachStore("metrics after traffic", () => {
  let herald: TestHerald;
  let ok: Receiver;
  let bad: Receiver;
  let slow: Receiver;
  let scrape: string;
  const answers: Response[] = [];

  beforeAll(async () => {
    ok = startReceiver([], { status: 200 });
    bad = startReceiver([], { status: 500 });
    slow = startReceiver([], { hang: true });
    herald = await startHerald(
      testConfig({
        delivery: { retry_schedule: ["1h", "1h"], breaker: { failures: 0 } },
        metrics: { busiest: 1, per_destination: ["quiet"] },
        event_types: [{ name: "a.one" }, { name: "b.two" }, { name: "c.three" }],
        destinations: [
          { id: "ok", url: ok.url },
          { id: "bad", url: bad.url },
          { id: "slow", url: slow.url, timeout: "200ms" },
          { id: "quiet", url: ok.url },
        ],
        subscriptions: [
          { id: "ok-all", destination: "ok", event_types: ["*"] },
          { id: "bad-a", destination: "bad", event_types: ["a.one"] },
          { id: "slow-b", destination: "slow", event_types: ["b.two"] },
          { id: "quiet-c", destination: "quiet", event_types: ["c.three"] },
        ],
      }),
    );
    const publish = (type: string, headers: Record<string, string> = {}) =>
      fetch(herald.url + "/v1/events", {
        method: "POST",
        headers: { authorization: "Bearer test-admin-token-0123456789", "content-type": "application/json", ...headers },
        body: JSON.stringify({ type, data: { n: 1 } }),
      });
    for (let i = 0; i < 3; i++) answers.push(await publish("a.one"));
    answers.push(await publish("b.two", { "x-request-id": "client-chosen.id:1" }));
    answers.push(await publish("b.two", { "x-request-id": "not usable: spaces" }));
    // A repeat (the same Idempotency-Key) is not a second published event.
    answers.push(await publish("a.one", { "idempotency-key": "k1" }), await publish("a.one", { "idempotency-key": "k1" }));
    await herald.api("GET", "/v1/destinations/no-such-one");
    await herald.api("GET", "/v1/no/such/route");
    await herald.app.engine.idle();
    // Every retry is due in 1 h: 2 h on, a sweep sends them (and they fail again,
    // due 1 h later); 1.5 h on from there, the oldest due has waited 30 min.
    herald.clock.advance(2 * 3_600_000);
    await herald.app.engine.sweeper.runOnce(herald.clock.now());
    await herald.app.engine.idle();
    herald.clock.advance(90 * 60_000);
    const res = await fetch(herald.url + "/metrics", { headers: { authorization: "Bearer test-admin-token-0123456789" } });
    scrape = await res.text();
  });

  afterAll(async () => {
    await herald?.stop();
    await Promise.all([ok.stop(), bad.stop(), slow.stop()]);
  });

  it("passes promtool check metrics", async () => {
    const { code, output } = await promtoolCheck(scrape);
    expect(output).toBe("");
    expect(code).toBe(0);
  });

  it("counts events published by type, attempts by class and deliveries by outcome", () => {
    expect(sample(scrape, 'herald_events_published_total{type="a.one"}')).toBe(4);
    expect(sample(scrape, 'herald_events_published_total{type="b.two"}')).toBe(2);
    // ok: 6 events; bad: 4 (a.one) then retried once at the sweep; slow: 2 (b.two), retried once each.
    expect(sample(scrape, 'herald_attempts_by_class_total{class="2xx"}')).toBe(6);
    expect(sample(scrape, 'herald_attempts_by_class_total{class="5xx"}')).toBe(8);
    expect(sample(scrape, 'herald_attempts_by_class_total{class="timeout"}')).toBe(4);
    expect(sample(scrape, 'herald_attempts_by_class_total{class="error"}')).toBe(0);
    expect(sample(scrape, 'herald_delivery_outcomes_total{outcome="succeeded"}')).toBe(6);
    expect(sample(scrape, 'herald_delivery_outcomes_total{outcome="retrying"}')).toBe(12);
    expect(sample(scrape, "herald_attempt_duration_seconds_count")).toBe(18);
    // The timeouts took at least 0.2 s each.
    expect(sample(scrape, "herald_attempt_duration_seconds_sum")).toBeGreaterThanOrEqual(0.8);
    expect(sample(scrape, 'herald_attempt_duration_seconds_bucket{le="0.1"}')).toBeLessThanOrEqual(14);
    expect(sample(scrape, "herald_delivered_latency_seconds_count")).toBe(6);
    expect(sample(scrape, 'herald_deliveries{status="succeeded"}')).toBe(6);
    expect(sample(scrape, 'herald_deliveries{status="pending"}')).toBe(6);
  });

  it("reads the age of the oldest due delivery from the store", () => {
    // Due 1 h (±20 % jitter) after the sweep's attempts; the clock is 1.5 h past them.
    const age = sample(scrape, "herald_oldest_due_seconds");
    expect(age).toBeGreaterThanOrEqual(1800 - 720);
    expect(age).toBeLessThanOrEqual(1800 + 720);
  });

  it("keeps per-destination series to the busiest N plus those named", () => {
    const destinations = new Set([...scrape.matchAll(/^herald_destination_attempts_total\{destination="([^"]+)"/gm)].map((m) => m[1]));
    // busiest: 1 → bad (8 attempts); quiet by name, with zeros; ok and slow left out.
    expect([...destinations].sort()).toEqual(["bad", "quiet"]);
    expect(sample(scrape, 'herald_destination_attempts_total{destination="bad",class="5xx"}')).toBe(8);
    expect(sample(scrape, 'herald_destination_attempts_total{destination="quiet",class="2xx"}')).toBe(0);
  });

  it("counts HTTP requests by route pattern, never the raw path, and answers each with its request id", () => {
    expect(sample(scrape, 'herald_http_requests_total{route="/v1/events",method="POST",status="202"}')).toBe(6);
    expect(sample(scrape, 'herald_http_requests_total{route="/v1/events",method="POST",status="200"}')).toBe(1);
    expect(sample(scrape, 'herald_http_requests_total{route="/v1/destinations/:id",method="GET",status="404"}')).toBe(1);
    expect(sample(scrape, 'herald_http_requests_total{route="unmatched",method="GET",status="404"}')).toBe(1);
    expect(scrape).not.toContain("no-such-one");
    expect(sample(scrape, 'herald_http_request_duration_seconds_count{route="/v1/events"}')).toBe(7);
    const ids = answers.map((a) => a.headers.get("x-request-id"));
    expect(ids[3]).toBe("client-chosen.id:1");
    expect(ids[4]).toMatch(/^req_[0-9a-f-]{36}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("shows process memory, the store's size and sweep durations", () => {
    expect(sample(scrape, "herald_process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    expect(sample(scrape, "herald_process_heap_used_bytes")).toBeGreaterThan(0);
    expect(sample(scrape, "herald_store_size_bytes")).toBeGreaterThan(10_000);
    expect(sample(scrape, "herald_sweep_duration_seconds_count")).toBe(1);
    expect(sample(scrape, 'herald_breakers{state="open"}')).toBe(0);
  });
});
