// The attempt log keeps a bounded part of each receiver's answer: a receiver
// answering with a megabyte of headers must not cost a megabyte per attempt.
import { afterEach, describe, expect, it } from "bun:test";
import { statSync } from "node:fs";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";

let herald: TestHerald;
let receiver: Receiver;
afterEach(async () => {
  await herald?.stop();
  await receiver?.stop();
});

function bigHeaders(count: number, bytes: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`x-big-${i}`, String(i % 10).repeat(bytes)]));
}

function databaseBytes(path: string): number {
  let total = 0;
  for (const file of [path, `${path}-wal`]) {
    try {
      total += statSync(file).size;
    } catch {}
  }
  return total;
}

describe("the attempt log", () => {
  it("keeps at most 8 KiB of response headers, says how many it dropped, and stays small on disk", async () => {
    receiver = startReceiver([], { status: 200, headers: bigHeaders(250, 4096), body: "fine" });
    const config = testConfig({
      event_types: [{ name: "a" }],
      destinations: [{ id: "d", url: receiver.url }],
      subscriptions: [{ id: "s", destination: "d", event_types: ["a"] }],
    });
    herald = await startHerald(config);
    const before = databaseBytes(config.storage.path);

    const res = await herald.api("POST", "/v1/events/batch", { events: Array.from({ length: 10 }, (_, i) => ({ type: "a", data: { i } })) });
    expect(res.status).toBe(202);
    await receiver.waitFor(10);
    await herald.app.engine.idle();

    const [delivery] = (await herald.api("GET", "/v1/deliveries?status=succeeded")).body.data;
    const response = await fetch(`${herald.url}/v1/deliveries/${delivery.id}`, { headers: { authorization: "Bearer test-admin-token-0123456789" } });
    const text = await response.text();
    // 8 KiB of headers, the 4-byte body, the request's headers and the delivery itself.
    expect(text.length).toBeLessThan(12 * 1024);
    const { attempts } = JSON.parse(text);
    const headers: Record<string, string> = attempts[0].response.headers;
    const kept = Object.entries(headers).filter(([name]) => name.startsWith("x-big-"));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(250);
    for (const [, value] of kept) expect(value.length).toBeLessThanOrEqual(1024);
    // Every header the receiver sent is either kept or counted as dropped.
    const [, dropped, total] = headers["(dropped)"]!.match(/^(\d+) headers of (\d+)/)!;
    expect(Number(total)).toBeGreaterThanOrEqual(250);
    expect(Number(dropped) + Object.keys(headers).length - 1).toBe(Number(total));
    expect(attempts[0].response.body).toBe("fine");

    // Ten attempts: ~10 MB before the bound, well under 1 MB with it.
    expect(databaseBytes(config.storage.path) - before).toBeLessThan(1024 * 1024);
  });

  it("keeps a small answer's headers whole", async () => {
    // A header named __proto__ is a header like any other, not the record's prototype.
    receiver = startReceiver([], { status: 200, headers: { "x-request-id": "abc-123", ["__proto__"]: "odd" } });
    herald = await startHerald(
      testConfig({
        event_types: [{ name: "a" }],
        destinations: [{ id: "d", url: receiver.url }],
        subscriptions: [{ id: "s", destination: "d", event_types: ["a"] }],
      }),
    );
    await herald.api("POST", "/v1/events", { type: "a", data: {} });
    await receiver.waitFor(1);
    await herald.app.engine.idle();
    const [delivery] = (await herald.api("GET", "/v1/deliveries")).body.data;
    const { attempts } = (await herald.api("GET", `/v1/deliveries/${delivery.id}`)).body;
    expect(attempts[0].response.headers["x-request-id"]).toBe("abc-123");
    expect(Object.getOwnPropertyDescriptor(attempts[0].response.headers, "__proto__")?.value).toBe("odd");
    expect(attempts[0].response.headers["(dropped)"]).toBeUndefined();
  });
});
