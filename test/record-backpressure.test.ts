// Sends wait for their records: at most `concurrency` answered attempts await
// their commit. An answered attempt that is not recorded is sent again after a
// crash (its lease comes back), so a store that records slower than receivers
// answer must slow the sends, not let them run ahead of it. PostgreSQL makes
// the slow store real: the test holds a lock that every attempt record waits for.
// Declared only when HERALD_TEST_STORES names postgres (test/store/stores.ts says so otherwise).
import { afterEach, describe, expect, it } from "bun:test";
import { validateConfig } from "../src/config/schema.ts";
import { ADMIN_TOKEN, startHerald, type TestHerald } from "./support/herald.ts";
import { startReceiver } from "./support/receiver.ts";
import { holdTableLock, postgresSchema, STORE_NAMES } from "./store/stores.ts";

if (STORE_NAMES.includes("postgres")) describe("attempt records and sends", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it("stops sending while `concurrency` answered attempts wait for their records", async () => {
    const CONCURRENCY = 4;
    const schema = await postgresSchema();
    cleanups.push(() => schema.drop());
    const hook = startReceiver();
    cleanups.push(() => hook.stop());
    const checked = validateConfig({
      server: { port: 0 },
      storage: { driver: "postgres", url: schema.url, pool_size: 6 },
      auth: { tokens: [{ name: "admin", token: ADMIN_TOKEN, role: "admin" }] },
      delivery: { https_only: false, allow_private_networks: true, concurrency: CONCURRENCY },
      event_types: [{ name: "job.done" }],
      destinations: [{ id: "sink", url: hook.url }],
      subscriptions: [{ id: "all", destination: "sink", event_types: ["*"] }],
    });
    if (!checked.ok) throw new Error(JSON.stringify(checked.errors));
    const herald: TestHerald = await startHerald(checked.config);
    cleanups.push(() => herald.stop());

    // Every attempt record inserts into attempts: this lock makes each wait until it is let go.
    const letGo = await holdTableLock(schema, "attempts", "SHARE");
    cleanups.push(letGo);

    const published = await herald.api("POST", "/v1/events/batch", { events: Array.from({ length: 40 }, (_, n) => ({ type: "job.done", data: { n } })) });
    expect(published.status).toBe(202);
    // Sends start while fewer than CONCURRENCY answers wait for their records, and
    // those in flight then are answered too: 2 × CONCURRENCY at the most.
    await hook.waitFor(CONCURRENCY, 5_000);
    // A bounded wait for an absence: sends unbounded by the records reach all 40 within milliseconds.
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline && hook.requests.length <= 2 * CONCURRENCY) await Bun.sleep(20);
    expect(hook.requests.length).toBeLessThanOrEqual(2 * CONCURRENCY);

    await letGo();
    await hook.waitFor(40, 10_000);
    await herald.app.engine.idle();
    expect(new Set(hook.requests.map((r) => r.headers["webhook-id"])).size).toBe(40);
    expect(hook.requests.length).toBe(40);
  });
});
