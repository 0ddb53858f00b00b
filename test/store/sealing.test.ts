// Sealing at the store boundary (src/store/sealing.ts), on every store: the
// destinations' secrets and headers are written sealed (a fresh nonce each
// write) and read back as written; a sealed value copied onto another row does
// not open there (the read fails, it never yields the other row's secret);
// `reseal` moves every value to a new keyring and is idempotent.
import { expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import type { Database } from "bun:sqlite";
import type { SQL } from "bun";
import { keyOf } from "../../src/store/sealing.ts";
import type { Store } from "../../src/store/store.ts";
import { describeEachStore } from "./stores.ts";
import { destination } from "./records.ts";

const SECRET = "whsec_" + Buffer.from("store-sealing-test-secret-bytes!").toString("base64");
const HEADER = "store-sealing-header-value-1f2e";

/** The destinations row's sealed columns, read with the store's own connection, past its row mapping. */
async function raw(store: Store, id: string): Promise<{ secrets: string; headers: string }> {
  if ("db" in store) return (store.db as Database).query("SELECT secrets, headers FROM destinations WHERE id = ?").get(id) as any;
  const [row] = await (store as unknown as { sql: SQL }).sql`SELECT secrets, headers FROM destinations WHERE id = ${id}`;
  return row;
}

async function setRawSecrets(store: Store, id: string, secrets: string): Promise<void> {
  if ("db" in store) (store.db as Database).query("UPDATE destinations SET secrets = ? WHERE id = ?").run(secrets, id);
  else await (store as unknown as { sql: SQL }).sql`UPDATE destinations SET secrets = ${secrets} WHERE id = ${id}`;
}

const sealed = (id: string) =>
  destination({ id, url: "https://example.com/hooks", secrets: [{ secret: SECRET, expires_at: null }], headers: { "x-auth-token": HEADER } });

describeEachStore("sealed secrets", (current) => {
  it("writes secrets and headers sealed under the store's key, a fresh nonce each write, and reads them back as written", async () => {
    const { store } = current;
    await store.catalog.createDestination(sealed("a"));
    const first = await raw(store, "a");
    const id = store.sealing.keyring.currentId;
    for (const value of [first.secrets, first.headers]) {
      expect(value).toMatch(new RegExp(`^hv1:${id}:[A-Za-z0-9+/=]+$`));
      expect(value).not.toContain(SECRET.slice("whsec_".length));
      expect(value).not.toContain(HEADER);
    }
    expect(await store.catalog.getDestination("a")).toMatchObject({ secrets: [{ secret: SECRET }], headers: { "x-auth-token": HEADER } });
    expect((await store.catalog.load()).destinations[0]).toMatchObject({ secrets: [{ secret: SECRET }], headers: { "x-auth-token": HEADER } });
    await store.catalog.updateDestination(sealed("a"));
    expect((await raw(store, "a")).secrets).not.toBe(first.secrets);
  });

  it("refuses a sealed value copied onto another row: the read fails and never yields the other row's secret", async () => {
    const { store } = current;
    await store.catalog.createDestination(sealed("a"));
    await store.catalog.createDestination(destination({ id: "b", url: "https://example.com/b" }));
    // Opened once under its own row first, so a remembered plaintext cannot stand in for the check.
    expect((await store.catalog.getDestination("a"))!.secrets[0]!.secret).toBe(SECRET);
    await setRawSecrets(store, "b", (await raw(store, "a")).secrets);
    const failure = await store.catalog.getDestination("b").catch((e: Error) => e);
    expect(String(failure)).toContain("destination b's secrets does not open with key id");
    expect(String(failure)).not.toContain(SECRET);
    // A value with one bit of its ciphertext flipped fails the same way.
    const [prefix, id, box] = (await raw(store, "a")).secrets.split(":") as [string, string, string];
    const bytes = Buffer.from(box, "base64");
    bytes[20]! ^= 1;
    await setRawSecrets(store, "a", `${prefix}:${id}:${bytes.toString("base64")}`);
    const altered = await store.catalog.getDestination("a").catch((e: Error) => e);
    expect(String(altered)).toContain("destination a's secrets does not open with key id");
  });

  it("reseals every value under a new keyring, once: running it again changes nothing", async () => {
    const { store } = current;
    for (const id of ["a", "b", "c"]) await store.catalog.createDestination(sealed(id));
    const old = store.sealing.keyring.currentId;
    const next = store.sealing.keyring.toward(keyOf(randomBytes(32)));
    expect(await store.sealing.reseal(next)).toBe(3);
    expect(await store.sealing.reseal(next)).toBe(0);
    const row = await raw(store, "b");
    expect(row.secrets).toMatch(new RegExp(`^hv1:${next.currentId}:[^,]+,${old}:[^,]+$`));
    // The store's own keyring (the old key) still reads every row.
    expect((await store.catalog.load()).destinations.map((d) => d.secrets[0]!.secret)).toEqual([SECRET, SECRET, SECRET]);
  });
});
