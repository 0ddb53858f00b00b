// A producer-chosen event id belongs to its tenant (DESIGN §4), like an
// Idempotency-Key: another tenant may use the same id for its own event, and
// neither can block the other or read the other's event through it.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import { MIGRATIONS } from "../src/store/sqlite/migrations.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { removeDir, startHerald, tempDir, testConfig, type TestHerald } from "./support/herald.ts";

const ACME = "acme-tenant-token-0123456789";
const GLOBEX = "globex-tenant-token-0123456789";

let herald: TestHerald;
const receivers: Record<string, Receiver> = {};

beforeAll(async () => {
  for (const name of ["acme", "globex"]) receivers[name] = startReceiver();
  herald = await startHerald(
    testConfig({
      auth: {
        tokens: [
          { name: "admin", token: "test-admin-token-0123456789", role: "admin" },
          { name: "acme", token: ACME, role: "tenant", tenant: "acme" },
          { name: "globex", token: GLOBEX, role: "tenant", tenant: "globex" },
        ],
      },
      event_types: [{ name: "order.created" }],
      destinations: [
        { id: "acme", url: receivers.acme!.url, tenant: "acme" },
        { id: "globex", url: receivers.globex!.url, tenant: "globex" },
      ],
      subscriptions: [
        { id: "acme", destination: "acme", event_types: ["*"] },
        { id: "globex", destination: "globex", event_types: ["*"] },
      ],
    }),
  );
});

afterAll(async () => {
  await herald.stop();
  for (const r of Object.values(receivers)) await r.stop();
});

const publish = (token: string, id: string, data: unknown) => herald.api("POST", "/v1/events", { type: "order.created", id, data }, { token });

describe("producer event ids per tenant", () => {
  it("lets a tenant publish an id another tenant already used: 202 with its own event, sent with its own webhook-id", async () => {
    const first = await publish(ACME, "acme-order-42", { by: "acme" });
    expect(first).toEqual({ status: 202, body: { id: "acme-order-42", deliveries: 1, deliver_at: null } });

    const second = await publish(GLOBEX, "acme-order-42", { by: "globex" });
    expect(second.status).toBe(202);
    expect(second.body.deliveries).toBe(1);
    // The stored id stays globally unique: globex's event gets a generated one.
    expect(second.body.id).toMatch(/^evt_[0-9a-f]{32}$/);

    const own = await herald.api("GET", `/v1/events/${second.body.id}`, undefined, { token: GLOBEX });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ tenant: "globex", data: { by: "globex" } });
    // The bare id names acme's event, which globex can neither read…
    expect((await herald.api("GET", "/v1/events/acme-order-42", undefined, { token: GLOBEX })).status).toBe(404);
    // …nor have changed.
    const acme = await herald.api("GET", "/v1/events/acme-order-42", undefined, { token: ACME });
    expect(acme.body).toMatchObject({ tenant: "acme", data: { by: "acme" } });

    // Each receiver gets its own tenant's event once, under its stored id.
    const [toGlobex] = await receivers.globex!.waitFor(1);
    expect(toGlobex!.headers["webhook-id"]).toBe(second.body.id);
    expect(JSON.parse(toGlobex!.body).data).toEqual({ by: "globex" });
    const [toAcme] = await receivers.acme!.waitFor(1);
    expect(toAcme!.headers["webhook-id"]).toBe("acme-order-42");
  });

  it("a repeat by the same tenant returns its own original (200); another body is a 409 that names only its own event", async () => {
    const original = await publish(GLOBEX, "shared-7", { n: 1 });
    expect(original).toEqual({ status: 202, body: { id: "shared-7", deliveries: 1, deliver_at: null } });
    const other = await publish(ACME, "shared-7", { n: 2 });
    expect(other.status).toBe(202);
    const otherId = other.body.id as string;
    expect(otherId).not.toBe("shared-7");

    // Each tenant's repeat finds its own event, whichever of them holds the bare id.
    expect(await publish(GLOBEX, "shared-7", { n: 1 })).toEqual({ status: 200, body: { id: "shared-7", deliveries: 1, deliver_at: null } });
    expect(await publish(ACME, "shared-7", { n: 2 })).toEqual({ status: 200, body: { id: otherId, deliveries: 1, deliver_at: null } });

    const conflict = await publish(ACME, "shared-7", { n: 3 });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toBe("idempotency_conflict");
    expect(conflict.body.message).toContain(otherId);
    expect(conflict.body.message).not.toContain("shared-7 ");
    expect((await publish(GLOBEX, "shared-7", { n: 3 })).status).toBe(409);
  });

  it("repeats of one producer id in one batch make one event per tenant", async () => {
    await publish(ACME, "batch-9", { n: 0 });
    const res = await herald.api("POST", "/v1/events/batch", {
      events: [1, 2, 3].map(() => ({ type: "order.created", id: "batch-9", data: { n: 1 } })),
    }, { token: GLOBEX });
    expect(res.status).toBe(202);
    const ids = res.body.data.map((d: any) => d.id);
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).not.toBe("batch-9");
    expect(res.body.data.map((d: any) => d.created)).toEqual([true, false, false]);
  });
});

describe("migration 5", () => {
  it("keeps events published with an id before it: a repeat still finds them, another tenant gets its own", async () => {
    const dir = tempDir("herald-ids-");
    try {
      const path = join(dir, "herald.db");
      const db = new Database(path, { create: true, strict: true });
      db.run("PRAGMA journal_mode = WAL");
      for (const [i, sql] of MIGRATIONS.slice(0, 4).entries()) {
        db.run(sql);
        db.run(`PRAGMA user_version = ${i + 1}`);
      }
      db.query("INSERT INTO events (id, type, tenant, data, created_at, idempotency_key, request_hash) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .run("order-7", "order.created", "acme", "{}", 1, null, "h-acme");
      db.close();

      const store = new SqliteStore(path, "normal");
      const item = (tenant: string, request_hash: string) => ({
        event: { id: "order-7", type: "order.created", tenant, data: {}, created_at: 2 },
        data_json: "{}", idempotency_key: null, producer_id: "order-7", request_hash, deliveries: [],
      });
      const repeat = await store.queue.publish(item("acme", "h-acme"));
      expect(repeat).toMatchObject({ created: false, same_request: true, event: { id: "order-7", tenant: "acme" } });
      const other = await store.queue.publish(item("globex", "h-globex"));
      expect(other.created).toBe(true);
      expect(other.event.id).not.toBe("order-7");
      expect((await store.log.getEvent("order-7"))!.tenant).toBe("acme");
      await store.close();
    } finally {
      removeDir(dir);
    }
  });
});
