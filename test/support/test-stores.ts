// Which stores the tests run against, and a fresh PostgreSQL schema for a test.
// HERALD_TEST_STORES names them (comma-separated; default "sqlite"). PostgreSQL
// needs a server: HERALD_TEST_POSTGRES_URL (CI starts one with
// test/support/postgres-cluster.ts). Named but unreachable is a failure, not a
// skip: CI must not pass on a missing server.
import { SQL } from "bun";
import { afterAll, beforeAll, describe } from "bun:test";

export type StoreName = "sqlite" | "postgres";
const KNOWN: readonly StoreName[] = ["sqlite", "postgres"];

export const STORE_NAMES: readonly StoreName[] = (process.env.HERALD_TEST_STORES ?? "sqlite")
  .split(",")
  .map((name) => name.trim())
  .filter(Boolean)
  .map((name) => {
    if (!KNOWN.includes(name as StoreName)) throw new Error(`HERALD_TEST_STORES names "${name}", which is not a store the tests know (${KNOWN.join(", ")})`);
    return name as StoreName;
  });

if (STORE_NAMES.includes("postgres")) postgresUrl();
else {
  console.log(
    "PostgreSQL tests not run (HERALD_TEST_STORES=" + STORE_NAMES.join(",") + "); to run them: " +
      "HERALD_TEST_POSTGRES_URL=$(bun test/support/postgres-cluster.ts start | head -1) HERALD_TEST_STORES=sqlite,postgres npm test",
  );
}

/**
 * The sealing key of every PostgreSQL Herald the tests start (HERALD_ENCRYPTION_KEY):
 * on PostgreSQL Herald refuses to start without one, and a restart on the same
 * schema needs the same key. SQLite Heralds keep their own key file beside the database.
 */
export const TEST_ENCRYPTION_KEY = "aGVyYWxkLXRlc3Qtc2VhbGluZy1rZXktMzItYnl0ZXM=";
export const TEST_KEY_ENV = { HERALD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } as const;

/** The store startHerald puts a test's Herald on (describeOnEachStore sets it for its tests). */
let heraldStore: StoreName = "sqlite";
export const currentHeraldStore = (): StoreName => heraldStore;

/**
 * Schemas the tests of the running describeOnEachStore made, dropped after its
 * last test rather than at each Herald's stop: a test may stop a Herald and
 * start another on the same database.
 */
let schemasToDrop: (() => Promise<void>)[] | null = null;

/** Drops `drop`'s schema after the running describeOnEachStore; false outside one (the caller drops it). */
export function dropAfterThisStore(drop: () => Promise<void>): boolean {
  if (!schemasToDrop) return false;
  schemasToDrop.push(drop);
  return true;
}

/**
 * Declares `body` once per store in HERALD_TEST_STORES; the Heralds its tests
 * start (startHerald) keep their state in that store: end-to-end tests that
 * must hold on every store.
 */
export function describeOnEachStore(title: string, body: () => void): void {
  for (const name of STORE_NAMES) {
    describe(`${title} [${name}]`, () => {
      beforeAll(() => {
        heraldStore = name;
        schemasToDrop = [];
      });
      body();
      // After the body's own afterAll hooks (registered first, run first), which stop its Heralds.
      afterAll(async () => {
        heraldStore = "sqlite";
        const drops = schemasToDrop ?? [];
        schemasToDrop = null;
        for (const drop of drops) await drop();
      });
    });
  }
}

/**
 * A new empty schema in the test server's database, and the URL that puts it
 * first in each connection's search_path (PostgreSQL's `options` startup parameter).
 */
export async function postgresSchema(extraOptions = ""): Promise<{ name: string; url: string; admin: SQL; drop(): Promise<void> }> {
  const name = `herald_test_${process.pid}_${++schemas}`;
  const admin = postgresAdmin();
  await admin.unsafe(`CREATE SCHEMA ${name}`);
  const url = new URL(postgresUrl());
  url.searchParams.set("options", `-c search_path=${name}${extraOptions}`);
  return { name, url: url.toString(), admin, drop: async () => void (await admin.unsafe(`DROP SCHEMA ${name} CASCADE`)) };
}

/**
 * Holds a lock on `table` of `schema` in a transaction of its own (a reserved
 * connection of the admin client) until the returned `letGo` is called: the
 * writes that need the table wait for it meanwhile. `letGo` may be called
 * more than once (a test's own call, then its cleanup).
 */
export async function holdTableLock(schema: { name: string; admin: SQL }, table: string, mode: string): Promise<() => Promise<void>> {
  const holder = await schema.admin.reserve();
  await holder`BEGIN`;
  await holder.unsafe(`LOCK TABLE ${schema.name}.${table} IN ${mode} MODE`);
  let held = true;
  return async () => {
    if (!held) return;
    held = false;
    await holder`COMMIT`;
    holder.release();
  };
}

let schemas = 0;
let admin: SQL | null = null;

function postgresUrl(): string {
  const url = process.env.HERALD_TEST_POSTGRES_URL;
  if (!url) {
    throw new Error(
      "HERALD_TEST_STORES names postgres but HERALD_TEST_POSTGRES_URL is not set: start a server with " +
        "`bun test/support/postgres-cluster.ts start` and export the URL it prints",
    );
  }
  return url;
}

/** One connection for the whole run, to make and drop the tests' schemas. */
function postgresAdmin(): SQL {
  admin ??= new SQL(postgresUrl(), { max: 1, idleTimeout: 5 });
  return admin;
}
