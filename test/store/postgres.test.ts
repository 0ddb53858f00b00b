// What only the PostgreSQL store has to prove, on a real server: migrations
// applied once when several instances open together, liveness by advisory lock
// (a dead session's leases come back at once), storage failures answered as
// StoreUnavailableError, and publishes gathered into few transactions (and,
// while other instances share the database, one small one at a time).
// Declared only when HERALD_TEST_STORES names postgres (stores.ts says so otherwise).
import { afterEach, describe, expect, it } from "bun:test";
import { openPostgresStore, type PostgresStore } from "../../src/store/postgres/postgres-store.ts";
import { PG_MIGRATIONS } from "../../src/store/postgres/migrations.ts";
import { StoreUnavailableError } from "../../src/store/unavailable.ts";
import { lease, newEvent, T0, withDestinations } from "./records.ts";
import { holdTableLock, postgresSchema, STORE_NAMES } from "./stores.ts";
import { until } from "../support/eventually.ts";
import { configuredKeys } from "../../src/store/sealing-keys.ts";
import { TEST_KEY_ENV } from "../support/test-stores.ts";

const keys = configuredKeys({ driver: "postgres", path: "" }, TEST_KEY_ENV);

// Not named: not declared at all (no skipped tests to count); stores.ts prints the one line that says so.
if (STORE_NAMES.includes("postgres")) describe("the PostgreSQL store", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });
  async function fresh(options = "") {
    const schema = await postgresSchema(options);
    cleanup.push(schema.drop);
    return schema;
  }
  /**
   * The next transaction id the server will hand out, read without taking one:
   * the write transactions between two reads. The test server is this suite's
   * own, and its tests run one at a time.
   */
  async function nextXid(schema: Awaited<ReturnType<typeof fresh>>): Promise<number> {
    return Number((await schema.admin`SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS x`)[0].x);
  }
  async function open(url: string, extra: Partial<Parameters<typeof openPostgresStore>[0]> = {}): Promise<PostgresStore> {
    const store = await openPostgresStore({ url, pool_size: 4, keys, ...extra });
    cleanup.push(() => store.close());
    return store;
  }

  it("migrates an empty database once when several instances open it at the same moment", async () => {
    const schema = await fresh();
    const stores = await Promise.all(Array.from({ length: 4 }, () => open(schema.url)));
    const [row] = await stores[0]!.sql`SELECT version FROM herald_schema`;
    expect(row.version).toBe(PG_MIGRATIONS.length);
    expect(await Promise.all(stores.map((s) => s.catalog.version()))).toEqual([1, 1, 1, 1]);
  });

  it("returns a dead instance's leases at once: its session's advisory lock is gone, whatever its heartbeat says", async () => {
    const schema = await fresh();
    const sweeper = await open(schema.url);
    const doomed = await open(schema.url);
    await withDestinations(sweeper, "a");
    await sweeper.queue.publish(newEvent({ to: ["a"] }));
    await doomed.queue.registerInstance("ins_doomed", T0);
    expect(await doomed.queue.claimDue(T0, lease(T0 + 60_000, "ins_doomed"), 10)).toHaveLength(1);
    expect(await sweeper.queue.releaseLeasesOfDeadInstances(T0 + 1, T0 - 3_600_000)).toBe(0);
    // The server ends the session that holds the instance's lock, as when its process is SIGKILLed.
    const [{ n }] = await schema.admin`SELECT count(pg_terminate_backend(pid)) AS n FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
        AND ((classid::bigint << 32) | objid::bigint) = (SELECT lock_key FROM ${schema.admin(schema.name)}.instances WHERE id = 'ins_doomed')`;
    expect(Number(n)).toBe(1);
    // The heartbeat cut-off is an hour back: only the lock can have told.
    let released = 0;
    for (let i = 0; i < 50 && released === 0; i++) {
      released = await sweeper.queue.releaseLeasesOfDeadInstances(T0 + 2, T0 - 3_600_000);
      if (released === 0) await Bun.sleep(20); // the backend's exit is asynchronous
    }
    expect(released).toBe(1);
    expect((await sweeper.log.listDeliveries({ status: "pending", limit: 10 })).data).toHaveLength(1);
  });

  it("takes its lock back at the next heartbeat when its lock's connection was lost while it lives on", async () => {
    const schema = await fresh();
    const sweeper = await open(schema.url);
    const survivor = await open(schema.url);
    await withDestinations(sweeper, "a");
    await sweeper.queue.publish(newEvent({ to: ["a"] }));
    await survivor.queue.registerInstance("ins_survivor", T0);
    await schema.admin`SELECT pg_terminate_backend(pid) FROM pg_locks
      WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()
        AND ((classid::bigint << 32) | objid::bigint) = (SELECT lock_key FROM ${schema.admin(schema.name)}.instances WHERE id = 'ins_survivor')`;
    await Bun.sleep(100);
    await survivor.queue.heartbeat("ins_survivor", T0 + 1_000);
    const [job] = await survivor.queue.claimDue(T0 + 1_000, lease(T0 + 60_000, "ins_survivor"), 1);
    expect(job).toBeDefined();
    expect(await sweeper.queue.releaseLeasesOfDeadInstances(T0 + 2_000, T0 + 2_000)).toBe(0);
    expect((await sweeper.log.getDelivery(job!.delivery.id))!.lease_owner).toBe("ins_survivor");
  });

  it("answers StoreUnavailableError and a failed probe when the server takes no writes (read-only)", async () => {
    const schema = await fresh();
    const writable = await open(schema.url);
    expect(await writable.admin.probeWritable()).toBe(true);
    const readOnly = await open(`${schema.url}${encodeURIComponent(" -c default_transaction_read_only=on")}`);
    expect(await readOnly.admin.probeWritable()).toBe(false);
    await withDestinations(writable, "a");
    const failure = await readOnly.queue.publish(newEvent({ to: ["a"] })).catch((e) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
    expect(failure.reason).toBe("SQLSTATE 25006");
    // Reads still work there.
    expect((await readOnly.catalog.getDestination("a"))!.id).toBe("a");
  });

  it("answers StoreUnavailableError when the server cannot be reached", async () => {
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = closed.port;
    closed.stop(true);
    const failure = await openPostgresStore({ url: `postgres://herald@127.0.0.1:${port}/postgres`, keys }).catch((e) => e);
    expect(failure).toBeInstanceOf(StoreUnavailableError);
  });

  it("gathers concurrent publishes into a few transactions", async () => {
    const schema = await fresh();
    const store = await open(schema.url);
    await withDestinations(store, "a", "b");
    // Write transactions counted by the transaction ids the server handed out.
    const before = await nextXid(schema);
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => store.queue.publish(newEvent({ at: T0 + i, to: ["a", "b"] }))));
    expect(results.every((r) => r.created)).toBe(true);
    const used = (await nextXid(schema)) - before;
    // One at a time would be 200 transactions; gathered, a handful.
    expect(used).toBeLessThan(20);
    expect((await store.log.countDeliveriesByStatus()).pending).toBe(400);
  });

  /**
   * Publishes one event, holds its write (its INSERT waits on a lock of the
   * events table), then publishes another: the most publish batches seen
   * waiting at once. The second comes once the first waits, so it can
   * only be a batch of its own, beside the first or after it.
   */
  async function publishBatchesBesideAHeldOne(othersShare: boolean): Promise<number> {
    const schema = await fresh();
    const store = await open(schema.url, { pool_size: 6 });
    await withDestinations(store, "a");
    await store.queue.registerInstance("ins_here", T0);
    if (othersShare) await (await open(schema.url)).queue.registerInstance("ins_other", T0);
    // What the engine's start and its sweeps do: the store learns who shares the database.
    expect(await store.queue.countInstances()).toBe(othersShare ? 2 : 1);
    const letGo = await holdTableLock(schema, "events", "EXCLUSIVE");
    cleanup.push(letGo);
    const waiting = async () =>
      Number((await store.sql`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO events%'`)[0].n);
    const first = store.queue.publish(newEvent({ at: T0, to: ["a"] }));
    await until(async () => (await waiting()) === 1, "the first publish's write to wait on the lock");
    const second = store.queue.publish(newEvent({ at: T0 + 1, to: ["a"] }));
    // A bounded wait for an absence: a batch started beside the first waits on the lock within milliseconds.
    let most = 1;
    const deadline = Date.now() + 1_000;
    while (Date.now() < deadline && most < 2) {
      most = Math.max(most, await waiting());
      await Bun.sleep(20);
    }
    await letGo();
    expect((await Promise.all([first, second])).map((r) => r.created)).toEqual([true, true]);
    return most;
  }

  it("alone, starts a publish batch beside one in flight", async () => {
    expect(await publishBatchesBesideAHeldOne(false)).toBe(2);
  });

  it("while other instances share the database, starts a small publish batch only after the one in flight", async () => {
    expect(await publishBatchesBesideAHeldOne(true)).toBe(1);
  });

  /**
   * Publishes events together (one gathered batch) while the events table is
   * locked and reads how their waiting INSERT runs: whether it is the first
   * statement of its transaction (no BEGIN before it), and whether the
   * deliveries' INSERT is in the same statement.
   */
  async function howAPublishWaits(...events: ReturnType<typeof newEvent>[]) {
    const schema = await fresh();
    const store = await open(schema.url);
    await withDestinations(store, "a", "b");
    const letGo = await holdTableLock(schema, "events", "EXCLUSIVE");
    cleanup.push(letGo);
    const publishing = store.queue.publishMany(events);
    let seen: { alone: boolean; with_deliveries: boolean } | undefined;
    await until(async () => {
      [seen] = await store.sql`SELECT xact_start = query_start AS alone, query LIKE '%INSERT INTO deliveries%' AS with_deliveries
        FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%INSERT INTO events%'`;
      return seen !== undefined;
    }, "the publish to wait on the lock");
    await letGo();
    expect((await publishing).map((r) => r.created)).toEqual(events.map(() => true));
    expect(await store.log.countDeliveriesByStatus()).toMatchObject({ pending: 2 * events.length });
    return { ...seen! };
  }

  it("writes publishes with no keys of their producers', events and deliveries, in one statement outside a transaction", async () => {
    expect(await howAPublishWaits(newEvent({ to: ["a", "b"] }), newEvent({ to: ["a", "b"] }))).toEqual({ alone: true, with_deliveries: true });
  });

  it("writes publishes with idempotency keys or ids of their own in one statement outside a transaction too", async () => {
    const events = [newEvent({ to: ["a", "b"], idempotency_key: "k1" }), newEvent({ to: ["a", "b"], id: "order-1" })];
    expect(await howAPublishWaits(...events)).toEqual({ alone: true, with_deliveries: true });
  });

  it("writes a batch that mixes the two in a transaction", async () => {
    const events = [newEvent({ to: ["a", "b"], idempotency_key: "k1" }), newEvent({ to: ["a", "b"] })];
    expect(await howAPublishWaits(...events)).toEqual({ alone: false, with_deliveries: false });
  });

  it("answers a repeat within a batch written in one statement with its original, and writes the rest once", async () => {
    const schema = await fresh();
    const store = await open(schema.url);
    await withDestinations(store, "a", "b");
    const original = await store.queue.publish(newEvent({ to: ["a"], idempotency_key: "k1" }));
    const [repeat, other, byId] = await store.queue.publishMany([
      newEvent({ to: ["a", "b"], idempotency_key: "k1" }),
      newEvent({ to: ["a", "b"], idempotency_key: "k2" }),
      newEvent({ to: ["b"], id: "order-1" }),
    ]);
    expect(repeat!.created).toBe(false);
    expect(repeat!.event.id).toBe(original.event.id);
    expect(repeat!.deliveries.map((d) => d.id)).toEqual(original.deliveries.map((d) => d.id));
    expect([other!.created, byId!.created, byId!.event.id]).toEqual([true, true, "order-1"]);
    const [counts] = await store.sql`SELECT (SELECT count(*) FROM events)::int AS events, (SELECT count(*) FROM deliveries)::int AS deliveries`;
    expect(counts).toEqual({ events: 3, deliveries: 1 + 2 + 1 });
  });

  it("writes a gathered batch's many deliveries in its one transaction, text with tabs, line breaks and backslashes intact (the COPY path)", async () => {
    const schema = await fresh();
    const store = await open(schema.url);
    await withDestinations(store, "a", "b");
    const tenant = "t\tab\t\nline\r\\N\\";
    const before = await nextXid(schema);
    // A row COPY could not read fails the batch, and the batch's replay, one
    // publish at a time, would take 200 transactions.
    const items = Array.from({ length: 200 }, (_, i) => newEvent({ at: T0 + i, to: ["a", "b"], tenant, status: i % 2 ? "pending" : "delivering" }));
    const results = await Promise.all(items.map((item) => store.queue.publish(item)));
    expect(results.every((r) => r.created)).toBe(true);
    expect((await nextXid(schema)) - before).toBeLessThan(20);
    for (const item of [items[0]!, items[199]!]) {
      const rows = await store.log.deliveriesOfEvent(item.event.id);
      expect(rows.sort((x, y) => x.id.localeCompare(y.id))).toEqual([...item.deliveries].sort((x, y) => x.id.localeCompare(y.id)));
      expect(rows[0]!.tenant).toBe(tenant);
    }
  });

  it("wakes the other instances (herald_work) only for due rows some instance could claim: never for a disabled destination's, nor one whose breaker is open", async () => {
    const schema = await fresh();
    const store = await open(schema.url);
    await withDestinations(store, "on", "off", "broken");
    await store.catalog.setDestinationEnabled("off", false, "paused", T0);
    // The breaker's state as an attempt record leaves it (the recording is the breaker tests' subject).
    await store.sql`UPDATE destinations SET breaker_opened_at = ${T0}, breaker_probe_at = ${T0 + 60_000} WHERE id = 'broken'`;
    const heard: string[] = [];
    const listening = await store.sql.listen("herald_work", (payload) => void heard.push(payload));
    cleanup.push(() => listening.unlisten());
    // Notifications arrive in commit order: once a marker sent after a write is
    // heard, anything that write notified has been heard before it.
    const settled = async (marker: string) => {
      await store.sql`SELECT pg_notify('herald_work', ${marker})`;
      await until(() => heard.includes(marker), `the ${marker} notification`);
    };
    await store.queue.publish(newEvent({ to: ["off"] }));
    await settled("after-disabled");
    await store.queue.publish(newEvent({ to: ["broken"] }));
    await settled("after-broken");
    await store.queue.publish(newEvent({ to: ["on"] }));
    await settled("after-enabled");
    // A keyed publish's deliveries go in by a statement's WITH part (publish.ts): it wakes too.
    await store.queue.publish(newEvent({ to: ["on"], idempotency_key: "k1" }));
    await settled("after-keyed");
    // A deleted destination's rows still wake: the dispatcher claims and cancels them.
    await store.queue.publish(newEvent({ to: ["gone"] }));
    await settled("after-deleted");
    expect(heard).toEqual(["after-disabled", "after-broken", "", "after-enabled", "", "after-keyed", "", "after-deleted"]);
  });

  it("keeps every text column of its schema in byte order (COLLATE \"C\"), whatever the database's collation", async () => {
    const schema = await fresh();
    await open(schema.url);
    const columns = await schema.admin`SELECT table_name, column_name, collation_name FROM information_schema.columns
      WHERE table_schema = ${schema.name} AND data_type = 'text'`;
    expect(columns.length).toBeGreaterThan(50);
    // A column a later migration adds without COLLATE "C" shows here by name.
    expect(columns.filter((c: { collation_name: string | null }) => c.collation_name !== "C").map((c: { table_name: string; column_name: string }) => `${c.table_name}.${c.column_name}`)).toEqual([]);
  });

  it("lists ids in byte order, as SQLite does, on a database whose collation is a language's (ICU en-US)", async () => {
    // A database of its own: a schema takes its database's collation.
    const name = `herald_test_icu_${process.pid}`;
    const { admin, url: schemaUrl } = await fresh();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE ${name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'`);
    cleanup.push(async () => void (await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)));
    // The same server, that database, its default schema.
    const url = new URL(schemaUrl);
    url.pathname = `/${name}`;
    url.search = "";
    const store = await open(url.toString());
    const ids = ["alpha", "Beta", "_x", "Zed", "a-b", "ab", "B"];
    await withDestinations(store, ...ids);
    // Page by page, so the cursor's comparison is in the order too. (en-US would give _x, a-b, ab, alpha, B, Beta, Zed.)
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.catalog.listDestinations({ limit: 2, ...(cursor ? { cursor } : {}) });
      listed.push(...page.data.map((d) => d.id));
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    expect(listed).toEqual(["B", "Beta", "Zed", "_x", "a-b", "ab", "alpha"]);
  });

  it("refuses a backup plainly, naming pg_dump", async () => {
    const schema = await fresh();
    const store = await open(schema.url);
    expect(store.admin.backup("/tmp/nowhere.db")).rejects.toThrow(/pg_dump/);
  });
});
