// Destinations' signing secrets and static header values are sealed at rest:
// neither the database file, its WAL nor a `herald backup` copy holds them
// (searched as bytes), PostgreSQL's rows read back raw hold none, while a real
// receiver still gets valid signatures and the headers. A plaintext database
// from before is sealed by the next start; a wrong or missing key refuses it.
import { makeCertificates } from "./support/certificates.ts";
import { afterAll, describe, expect, it } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../src/app.ts";
import { silentLogger, type Logger } from "../src/engine/deps.ts";
import { newKeyText, parseKey } from "../src/store/sealing.ts";
import type { PostgresStore } from "../src/store/postgres/postgres-store.ts";
import { removeDir, startHerald, tempDir, testConfig, verifyWithStandardWebhooks, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { currentHeraldStore, describeOnEachStore, postgresSchema, STORE_NAMES, TEST_KEY_ENV } from "./support/test-stores.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");
// Distinct, searchable values: a config destination's and an API destination's secret and headers.
const CONFIG_SECRET = `whsec_${Buffer.from("config-secret-bytes-0123456789ab").toString("base64")}`;
const API_SECRET = `whsec_${Buffer.from("api-secret-bytes-abcdefghijklmnop").toString("base64")}`;
const CONFIG_HEADER = "config-header-value-5e1d77";
const API_HEADER = "api-header-value-93c0aa";
const PLAINTEXTS = [CONFIG_SECRET, API_SECRET, CONFIG_HEADER, API_HEADER];

const dirs: string[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
/** Stops what the tests so far started, last first. */
async function cleanUp(): Promise<void> {
  for (const step of cleanups.splice(0).reverse()) await step();
}
afterAll(async () => {
  await cleanUp();
  dirs.forEach(removeDir);
});

function dir(): string {
  const d = tempDir("herald-sealed-");
  dirs.push(d);
  return d;
}

function receiver(): Receiver {
  const r = startReceiver();
  cleanups.push(() => r.stop());
  return r;
}

/** Whether `bytes` holds `text` or, for a secret, the base64 body after `whsec_` (the bytes an encoder would keep). */
function holds(bytes: Buffer, text: string): boolean {
  const needles = [text, ...(text.startsWith("whsec_") ? [text.slice("whsec_".length)] : [])];
  return needles.some((needle) => bytes.includes(Buffer.from(needle)));
}

function configFor(hook: Receiver, d: string) {
  return testConfig(
    {
      event_types: [{ name: "order.paid" }],
      destinations: [{ id: "crm", url: hook.url, secret: CONFIG_SECRET, headers: { "x-auth-token": CONFIG_HEADER } }],
      subscriptions: [{ id: "crm-all", destination: "crm", event_types: ["*"] }],
    },
    d,
  );
}

/** An API destination with its own secret (rotated, so the row holds two) and a header, subscribed to everything; the secret made by the rotation. */
async function addApiDestination(herald: TestHerald, hook: Receiver): Promise<string> {
  const created = await herald.api("POST", "/v1/destinations", { url: hook.url + "?api", secret: API_SECRET, headers: { "x-api-token": API_HEADER } });
  expect(created.status).toBe(201);
  const id = created.body.id;
  const rotated = await herald.api("POST", `/v1/destinations/${id}/rotate-secret`, { grace_period: "1h" });
  expect(rotated.status).toBe(200);
  expect((await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["*"] })).status).toBe(201);
  const revealed = await herald.api("GET", `/v1/destinations/${id}/secret`);
  expect(revealed.body.previous.map((p: { secret: string }) => p.secret)).toEqual([API_SECRET]);
  return revealed.body.secret;
}

/** Publishes one event and checks both receivers' requests with standardwebhooks and their headers. */
async function deliverAndVerify(herald: TestHerald, hook: Receiver, count: number): Promise<void> {
  expect((await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: count } })).status).toBe(202);
  const requests = await hook.waitFor(count * 2);
  const latest = requests.slice(-2);
  const viaConfig = latest.find((r) => !r.path.includes("?api"))!;
  const viaApi = latest.find((r) => r.path.includes("?api"))!;
  expect(verifyWithStandardWebhooks(CONFIG_SECRET, viaConfig)).toMatchObject({ type: "order.paid" });
  expect(viaConfig.headers["x-auth-token"]).toBe(CONFIG_HEADER);
  // The rotated destination signs with its new secret and, during the grace period, the old one.
  expect(verifyWithStandardWebhooks(API_SECRET, viaApi)).toMatchObject({ type: "order.paid" });
  expect(viaApi.headers["x-api-token"]).toBe(API_HEADER);
}

/** The destinations and attempts rows as PostgreSQL holds them, as text. */
async function rawPostgresRows(herald: TestHerald): Promise<string> {
  const sql = (herald.app.store as PostgresStore).sql;
  const rows = await sql`SELECT (SELECT coalesce(json_agg(d)::text, '') FROM destinations d) AS destinations,
    (SELECT coalesce(json_agg(a)::text, '') FROM attempts a) AS attempts, (SELECT coalesce(json_agg(s)::text, '') FROM sealing s) AS sealing`;
  return rows[0].destinations + rows[0].attempts + rows[0].sealing;
}

describeOnEachStore("secrets at rest", () => {
  // Each store's Heralds stopped before its schema is dropped: a Herald still
  // running then (a sweep, a claim) deadlocked with the DROP once.
  afterAll(cleanUp);
  it("keeps every secret and header value out of the stored bytes while receivers get valid signatures and headers", async () => {
    const d = dir();
    const hook = receiver();
    const herald = await startHerald(configFor(hook, d));
    cleanups.push(() => herald.stop());
    const rotated = await addApiDestination(herald, hook);
    // A client certificate for mutual TLS: its private key is sealed like a signing secret.
    const client = makeCertificates(["receiver.example"]).client;
    const mtls = await herald.api("POST", "/v1/destinations", { url: hook.url + "?mtls", tls: client });
    expect(mtls.status).toBe(201);
    const keyLines = client.key.split("\n").filter((line) => line && !line.startsWith("-----"));
    const searched = [...PLAINTEXTS, rotated, ...keyLines.filter((line) => line.length >= 32)];
    expect(searched.length).toBeGreaterThan(PLAINTEXTS.length + 1);
    await deliverAndVerify(herald, hook, 1);

    if (currentHeraldStore() === "sqlite") {
      const db = join(d, "herald.db");
      // `herald backup` as an operator runs it, beside the running Herald (the key file is found beside the database).
      writeFileSync(join(d, "config.yaml"), `storage: { path: ./herald.db }\n`);
      const backup = Bun.spawnSync([process.execPath, MAIN, "backup", "copy.db"], { cwd: d, stdout: "pipe", stderr: "pipe" });
      expect(backup.exitCode).toBe(0);
      // It says that the copy does not hold the key, and where the key is.
      expect(backup.stderr.toString()).toContain("a backup of the database alone does not hold the key");
      expect(backup.stderr.toString()).toContain("herald.db.key");
      const files = { db: readFileSync(db), wal: readFileSync(`${db}-wal`), backup: readFileSync(join(d, "copy.db")) };
      // The search is not vacuous: the WAL holds the rows written (a fresh database checkpoints
      // only at 1,000 pages), sealed values among them, and the backup holds them too.
      for (const bytes of [files.wal, files.backup]) {
        expect(bytes.includes(Buffer.from("crm-all"))).toBe(true);
        expect(bytes.includes(Buffer.from("hv1:"))).toBe(true);
      }
      for (const [name, bytes] of Object.entries(files)) {
        for (const text of searched) expect({ file: name, holds: holds(bytes, text) }).toEqual({ file: name, holds: false });
      }
      // The key file beside the database: 0600, base64 of 32 bytes.
      expect(statSync(`${db}.key`).mode & 0o777).toBe(0o600);
      expect(() => parseKey(readFileSync(`${db}.key`, "utf8"), "key")).not.toThrow();
    } else {
      const raw = await rawPostgresRows(herald);
      expect(raw).toContain("hv1:");
      for (const text of searched) expect({ value: text.slice(0, 12), holds: holds(Buffer.from(raw), text) }).toEqual({ value: text.slice(0, 12), holds: false });
    }
  });

  it("seals a plaintext database from before at start, and delivery goes on with the same secrets", async () => {
    const d = dir();
    const hook = receiver();
    let herald = await startHerald(configFor(hook, d));
    await addApiDestination(herald, hook);
    const config = herald.app.config;
    // Back to how a Herald before sealing left it: plaintext JSON in the columns, no check value.
    const plain = (await herald.app.store.catalog.allDestinations()).map((x) => ({ id: x.id, secrets: JSON.stringify(x.secrets), headers: JSON.stringify(x.headers) }));
    if (currentHeraldStore() === "sqlite") {
      await herald.stop();
      const db = new Database(join(d, "herald.db"));
      for (const row of plain) db.query("UPDATE destinations SET secrets = ?, headers = ? WHERE id = ?").run(row.secrets, row.headers, row.id);
      db.run("DELETE FROM sealing");
      db.close();
      // And no key file: the first start with sealing makes it.
      unlinkSync(join(d, "herald.db.key"));
    } else {
      const sql = (herald.app.store as PostgresStore).sql;
      for (const row of plain) await sql`UPDATE destinations SET secrets = ${row.secrets}, headers = ${row.headers} WHERE id = ${row.id}`;
      await sql`DELETE FROM sealing`;
      await herald.stop();
    }
    herald = await startHerald(config);
    cleanups.push(() => herald.stop());
    const stored = currentHeraldStore() === "sqlite"
      ? readRows(join(d, "herald.db"))
      : await rawPostgresRows(herald);
    for (const text of PLAINTEXTS) expect(holds(Buffer.from(stored), text)).toBe(false);
    expect(stored).toContain("hv1:");
    if (currentHeraldStore() === "sqlite") expect(existsSync(join(d, "herald.db.key"))).toBe(true);
    await deliverAndVerify(herald, hook, 1);
  });
});

/** The sealed columns and the check value of a SQLite database, read back raw. */
function readRows(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return JSON.stringify([db.query("SELECT secrets, headers FROM destinations").all(), db.query("SELECT * FROM sealing").all()]);
  } finally {
    db.close();
  }
}

describe("the key at start", () => {
  /** A logger that keeps what it is told. */
  function recording(): Logger & { lines: { message: string; fields?: Record<string, unknown> }[] } {
    const lines: { message: string; fields?: Record<string, unknown> }[] = [];
    const keep = (message: string, fields?: Record<string, unknown>) => void lines.push({ message, fields });
    return { lines, debug: keep, info: keep, warn: keep, error: keep };
  }

  it("makes a key file beside a new SQLite database once, says at each start that backups lack it, and never overwrites it", async () => {
    const d = dir();
    const config = testConfig({}, d);
    const log = recording();
    const first = await createApp(config, { log });
    await first.stop();
    const key = readFileSync(join(d, "herald.db.key"), "utf8");
    const notice = log.lines.find((l) => l.fields?.key_file === join(d, "herald.db.key"));
    expect(notice?.message).toContain("a backup of the database alone does not hold the key");
    expect(notice?.fields?.created).toBe(true);
    const again = recording();
    const second = await createApp(config, { log: again });
    await second.stop();
    expect(readFileSync(join(d, "herald.db.key"), "utf8")).toBe(key);
    expect(again.lines.filter((l) => l.fields?.key_file).map((l) => l.fields?.created)).toEqual([false]);
  });

  it("refuses a SQLite database whose key file is gone, without making a new one", async () => {
    const d = dir();
    const config = testConfig({}, d);
    await (await createApp(config, { log: silentLogger })).stop();
    unlinkSync(join(d, "herald.db.key"));
    const failure = await createApp(config, { log: silentLogger }).catch((e: Error) => e);
    expect(String(failure)).toContain("the database is sealed (key id");
    expect(String(failure)).toContain("herald.db.key does not exist");
    expect(existsSync(join(d, "herald.db.key"))).toBe(false);
  });

  it("refuses a malformed key, and both a key and a key file at once, naming neither's value", async () => {
    const config = testConfig({}, dir());
    const short = await createApp(config, { env: { HERALD_ENCRYPTION_KEY: "c2hvcnQ=" } }).catch((e: Error) => e);
    expect(String(short)).toContain("HERALD_ENCRYPTION_KEY is not base64 of 32 bytes");
    expect(String(short)).not.toContain("c2hvcnQ=");
    const d = dir();
    writeFileSync(join(d, "k"), newKeyText());
    const both = testConfig({ storage: { encryption_key_file: join(d, "k") } }, d);
    const failure = await createApp(both, { env: { HERALD_ENCRYPTION_KEY: newKeyText() } }).catch((e: Error) => e);
    expect(String(failure)).toContain("both HERALD_ENCRYPTION_KEY and storage.encryption_key_file are set");
  });

  if (STORE_NAMES.includes("postgres")) {
    it("refuses to start on PostgreSQL without a key, and with another key than the database's", async () => {
      const schema = await postgresSchema();
      cleanups.push(schema.drop);
      const base = testConfig();
      const config = { ...base, storage: { ...base.storage, driver: "postgres" as const, url: schema.url, pool_size: 2 } };
      const none = await createApp(config).catch((e: Error) => e);
      expect(String(none)).toContain("no encryption key: on PostgreSQL set HERALD_ENCRYPTION_KEY or storage.encryption_key_file");
      await (await createApp(config, { env: TEST_KEY_ENV })).stop();
      const other = newKeyText();
      const wrong = await createApp(config, { env: { HERALD_ENCRYPTION_KEY: other } }).catch((e: Error) => e);
      const id = parseKey(TEST_KEY_ENV.HERALD_ENCRYPTION_KEY, "k").id;
      expect(String(wrong)).toContain(`the encryption key does not match the one the database was sealed with (key id ${id}`);
      expect(String(wrong)).toContain(`this Herald holds key id ${parseKey(other, "k").id}`);
    });
  }
});
