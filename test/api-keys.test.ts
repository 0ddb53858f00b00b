// API keys through /v1/api-keys, on every store: the key is answered once and
// kept only as a hash; lists never show it; a revoked or expired key is a 401
// at once, with the very body an unknown token gets; a revocation through one
// instance is refused by another sharing the store within a short poll
// (PostgreSQL: LISTEN/NOTIFY); last_used_at is written at most once a minute;
// a publisher's patterns are enforced.
import { afterEach, describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, startHerald, TestClock, testConfig, type TestHerald } from "./support/herald.ts";
import { until } from "./support/eventually.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describeOnEachStore("API keys", () => {
  const heralds: TestHerald[] = [];
  afterEach(async () => {
    for (const h of heralds.splice(0).reverse()) await h.stop();
  });

  async function start(clock = new TestClock(), overrides: Record<string, any> = {}) {
    const herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), event_types: [{ name: "order.created" }, { name: "invoice.paid" }], ...overrides }), { clock });
    heralds.push(herald);
    return herald;
  }

  it("answers the key once, lists keys and config tokens without it or its hash, and keeps only the hash", async () => {
    const herald = await start();
    const made = await herald.api("POST", "/v1/api-keys", { name: "producer", role: "publisher", tenant: "acme", event_types: ["order.*"] });
    expect(made.status).toBe(201);
    const { key, ...record } = made.body;
    expect(key).toMatch(/^hrk_[A-Za-z0-9_-]{43}$/);
    expect(record).toMatchObject({ name: "producer", role: "publisher", tenant: "acme", event_types: ["order.*"], managed_by: "api", revoked_at: null, expires_at: null, last_used_at: null });
    expect(record.id).toMatch(/^key_/);

    const list = await herald.api("GET", "/v1/api-keys");
    expect(list.status).toBe(200);
    expect(list.body.data.map((k: any) => [k.id, k.managed_by, k.role, k.tenant])).toEqual([
      ["cfg_acme", "config", "tenant", "acme"],
      ["cfg_admin", "config", "admin", null],
      ["cfg_globex", "config", "tenant", "globex"],
      [record.id, "api", "publisher", "acme"],
    ]);
    const one = await herald.api("GET", `/v1/api-keys/${record.id}`);
    expect(one.body).toEqual(record);
    expect((await herald.api("GET", "/v1/api-keys/cfg_acme")).body).toMatchObject({ id: "cfg_acme", managed_by: "config" });
    // Neither the key nor its hash, nor a config token or its hash, in any answer.
    const answers = JSON.stringify([list.body, one.body, (await herald.api("GET", "/v1/api-keys/cfg_acme")).body]);
    for (const secret of [key, sha256(key), ACME_TOKEN, sha256(ACME_TOKEN), ADMIN_TOKEN, sha256(ADMIN_TOKEN)]) expect(answers).not.toContain(secret);
    // The store holds the hash, never the key (SQLite: the file and its WAL, as bytes).
    if (herald.app.config.storage.driver === "sqlite") {
      const path = herald.app.config.storage.path;
      const bytes = Buffer.concat([readFileSync(path), readFileSync(`${path}-wal`)]);
      expect(bytes.includes(Buffer.from(key))).toBe(false);
      expect(bytes.includes(Buffer.from(sha256(key)))).toBe(true);
    }
    // The key works: a publish within its patterns.
    expect((await herald.api("POST", "/v1/events", { type: "order.created", data: {} }, { token: key })).status).toBe(202);
  });

  it("writes issuing and revoking to the audit log, naming the key and never holding it", async () => {
    const herald = await start();
    const created = await herald.api("POST", "/v1/api-keys", { name: "ci-publisher", role: "publisher", tenant: "acme", event_types: ["order.*"] });
    expect(created.status).toBe(201);
    expect((await herald.api("POST", `/v1/api-keys/${created.body.id}/revoke`)).status).toBe(200);
    const entries = (await herald.api("GET", `/v1/audit?resource_id=${created.body.id}`)).body.data;
    expect(entries.map((e: { action: string }) => e.action)).toEqual(["api_key.revoked", "api_key.created"]);
    expect(entries[1].actor).toEqual({ type: "token", name: "admin" });
    expect(entries[1].tenant).toBe("acme");
    expect(entries[1].changes.role).toEqual({ from: null, to: "publisher" });
    expect(entries[1].changes.event_types).toEqual({ from: null, to: ["order.*"] });
    const text = JSON.stringify(entries);
    expect(text).not.toContain(created.body.key);
    expect(text).not.toContain(created.body.key.slice(4, 20));
  });

  it("checks a new key's fields", async () => {
    const herald = await start();
    const refused = async (body: object) => {
      const answer = await herald.api("POST", "/v1/api-keys", body);
      expect(answer.status).toBe(400);
      return answer.body.details.map((d: any) => d.path);
    };
    expect(await refused({ name: "t", role: "tenant" })).toEqual(["tenant"]);
    expect(await refused({ name: "a", role: "admin", tenant: "acme" })).toEqual(["tenant"]);
    expect(await refused({ name: "r", role: "reader", event_types: ["*"] })).toEqual(["event_types"]);
    expect(await refused({ name: "p", role: "publisher", expires_at: new Date(herald.clock.now() - 1000).toISOString() })).toEqual(["expires_at"]);
    expect(await refused({ name: "p", role: "publisher", expires_at: "tomorrow" })).toEqual(["expires_at"]);
    expect((await herald.api("POST", "/v1/api-keys", { name: "x", role: "owner" })).status).toBe(400);
    // A config token is revoked in the file, not through the API.
    expect((await herald.api("POST", "/v1/api-keys/cfg_acme/revoke")).status).toBe(409);
    expect((await herald.api("DELETE", "/v1/api-keys/cfg_acme")).status).toBe(409);
    expect((await herald.api("DELETE", "/v1/api-keys/key_nothing")).status).toBe(404);
  });

  it("refuses a revoked key and an expired key at once, with the body an unknown token gets", async () => {
    const clock = new TestClock();
    const herald = await start(clock);
    const a = (await herald.api("POST", "/v1/api-keys", { name: "a", role: "reader" })).body;
    const b = (await herald.api("POST", "/v1/api-keys", { name: "b", role: "reader", expires_at: new Date(clock.now() + 60_000).toISOString() })).body;
    expect((await herald.api("GET", "/v1/events", undefined, { token: a.key })).status).toBe(200);
    expect((await herald.api("GET", "/v1/events", undefined, { token: b.key })).status).toBe(200);

    expect((await herald.api("DELETE", `/v1/api-keys/${a.id}`)).status).toBe(204);
    const revoked = await herald.api("GET", "/v1/events", undefined, { token: a.key });
    clock.advance(60_000);
    const expired = await herald.api("GET", "/v1/events", undefined, { token: b.key });
    const unknown = await herald.api("GET", "/v1/events", undefined, { token: "hrk_" + "A".repeat(43) });
    const notAKey = await herald.api("GET", "/v1/events", undefined, { token: "some-other-token-0123456789" });
    for (const answer of [revoked, expired, unknown, notAKey]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual(unknown.body);
    }
    // Kept, for the record.
    const listed = (await herald.api("GET", `/v1/api-keys/${a.id}`)).body;
    expect(listed.revoked_at).not.toBeNull();
    // Revoking again changes nothing.
    expect((await herald.api("POST", `/v1/api-keys/${a.id}/revoke`)).body.revoked_at).toBe(listed.revoked_at);
  });

  it("is refused by a second instance sharing the store soon after a revocation through the first", async () => {
    const clock = new TestClock();
    const a = await start(clock);
    // The same database: the first instance's storage (its PostgreSQL schema, or its SQLite file).
    const b = await startHerald(a.app.config, { clock });
    heralds.push(b);
    const made = (await a.api("POST", "/v1/api-keys", { name: "shared", role: "reader" })).body;
    // Made through A a moment ago: B accepts it now.
    expect((await b.api("GET", "/v1/events", undefined, { token: made.key })).status).toBe(200);
    expect((await b.api("GET", "/v1/events", undefined, { token: made.key })).status).toBe(200);

    expect((await a.api("POST", `/v1/api-keys/${made.id}/revoke`)).status).toBe(200);
    // No sweep runs and the clock stands still: B hears of it from the store (NOTIFY, or the version it reads).
    await until(async () => (await b.api("GET", "/v1/events", undefined, { token: made.key })).status === 401, "B to refuse the revoked key", 2_000);
    // And a key made through B works on A.
    const other = (await b.api("POST", "/v1/api-keys", { name: "other", role: "reader" })).body;
    expect((await a.api("GET", "/v1/events", undefined, { token: other.key })).status).toBe(200);
  });

  it("writes last_used_at at most once a minute per key", async () => {
    const clock = new TestClock();
    const herald = await start(clock);
    const made = (await herald.api("POST", "/v1/api-keys", { name: "r", role: "reader" })).body;
    const lastUsed = async () => (await herald.api("GET", `/v1/api-keys/${made.id}`)).body.last_used_at;
    const use = () => herald.api("GET", "/v1/events", undefined, { token: made.key });

    const first = clock.now();
    await use();
    // Written without the request waiting for it.
    await until(async () => (await lastUsed()) === new Date(first).toISOString(), "last_used_at to be written", 2_000);
    clock.advance(30_000);
    await use();
    await Bun.sleep(50);
    expect(await lastUsed()).toBe(new Date(first).toISOString());
    clock.advance(31_000);
    await use();
    await until(async () => (await lastUsed()) === new Date(clock.now()).toISOString(), "last_used_at to move on", 2_000);
  });

  it("lets a publisher publish only within its tenant and patterns", async () => {
    const herald = await start();
    const key = (await herald.api("POST", "/v1/api-keys", { name: "p", role: "publisher", tenant: "acme", event_types: ["order.*"] })).body.key;
    const publish = (body: object, path = "/v1/events") => herald.api("POST", path, body, { token: key });

    const ok = await publish({ type: "order.created", data: {} });
    expect(ok.status).toBe(202);
    expect((await herald.api("GET", `/v1/events/${ok.body.id}`)).body.tenant).toBe("acme");
    const outside = await publish({ type: "invoice.paid", data: {} });
    expect(outside.status).toBe(403);
    expect(outside.body.message).toContain('"invoice.paid"');
    expect(outside.body.message).toContain("order.*");
    expect((await publish({ type: "order.created", tenant: "globex" })).status).toBe(403);

    // One event outside the patterns refuses the whole batch: nothing is written.
    const before = (await herald.api("GET", "/v1/events?limit=1000")).body.data.length;
    const batch = await publish({ events: [{ type: "order.created" }, { type: "invoice.paid" }] }, "/v1/events/batch");
    expect(batch.status).toBe(403);
    expect(batch.body.message).toStartWith("events[1]:");
    expect((await herald.api("GET", "/v1/events?limit=1000")).body.data.length).toBe(before);
    expect((await publish({ events: [{ type: "order.created" }, { type: "order.created" }] }, "/v1/events/batch")).status).toBe(202);
  });

  it("limits a tenant-scoped reader to its tenant's resources", async () => {
    const herald = await start();
    const acme = (await herald.api("POST", "/v1/destinations", { url: "http://127.0.0.1:9/a", tenant: "acme" })).body.id;
    const globex = (await herald.api("POST", "/v1/destinations", { url: "http://127.0.0.1:9/g", tenant: "globex" })).body.id;
    const key = (await herald.api("POST", "/v1/api-keys", { name: "r", role: "reader", tenant: "acme" })).body.key;
    expect((await herald.api("GET", "/v1/destinations", undefined, { token: key })).body.data.map((d: any) => d.id)).toEqual([acme]);
    expect((await herald.api("GET", `/v1/destinations/${globex}`, undefined, { token: key })).status).toBe(404);
    expect((await herald.api("GET", "/v1/destinations?tenant=globex", undefined, { token: key })).status).toBe(403);
  });
});

describe("config tokens with the new roles", () => {
  it("takes a reader and a publisher from the config, listed as managed_by config", async () => {
    const herald = await startHerald(
      testConfig({
        auth: {
          tokens: [
            { name: "admin", token: ADMIN_TOKEN, role: "admin" },
            { name: "scraper", token: "scraper-token-0123456789", role: "reader" },
            { name: "shop", token: "shop-token-0123456789ab", role: "publisher", tenant: "acme", event_types: ["order.*"] },
          ],
        },
        event_types: [{ name: "order.created" }, { name: "invoice.paid" }],
      }),
    );
    try {
      expect((await herald.api("GET", "/metrics", undefined, { token: "scraper-token-0123456789" })).status).toBe(200);
      expect((await herald.api("POST", "/v1/events", { type: "order.created" }, { token: "scraper-token-0123456789" })).status).toBe(403);
      expect((await herald.api("POST", "/v1/events", { type: "order.created" }, { token: "shop-token-0123456789ab" })).status).toBe(202);
      expect((await herald.api("POST", "/v1/events", { type: "invoice.paid" }, { token: "shop-token-0123456789ab" })).status).toBe(403);
      expect((await herald.api("GET", "/v1/events", undefined, { token: "shop-token-0123456789ab" })).status).toBe(403);
      expect((await herald.api("GET", "/v1/api-keys/cfg_shop")).body).toMatchObject({ role: "publisher", tenant: "acme", event_types: ["order.*"], managed_by: "config" });
    } finally {
      await herald.stop();
    }
  });
});
