// `herald rekey` run as an operator runs it, against real Herald processes:
// online beside a running Herald (which keeps delivering and writing), then a
// restart on the new key with the old one as the previous, then one without
// it (every value now sealed under the new key alone), and a start with the
// old key alone is refused with the clear message. On each store in HERALD_TEST_STORES.
import { afterAll, describe, expect, it } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseKey } from "../src/store/sealing.ts";
import { ADMIN_TOKEN, removeDir, tempDir, verifyWithStandardWebhooks } from "./support/herald.ts";
import { SOURCE_SERVE, spawnSourceHerald, type HeraldProcess } from "./support/process.ts";
import { startReceiver, type ReceivedRequest, type Receiver } from "./support/receiver.ts";
import { postgresSchema, STORE_NAMES, TEST_ENCRYPTION_KEY, type StoreName } from "./support/test-stores.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");
const SECRET = `whsec_${Buffer.from("rekey-config-secret-0123456789ab").toString("base64")}`;
const HEADER = "rekey-header-value-0c4e21";
const API_HEADER = "rekey-api-header-value-77aa10";

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const step of cleanups.reverse()) await step();
});

const RESOURCES = (hook: Receiver) => `event_types: [ { name: order.paid } ]
destinations: [ { id: crm, url: "${hook.url}", secret: "${SECRET}", headers: { x-auth-token: "${HEADER}" } } ]
subscriptions: [ { id: crm-all, destination: crm, event_types: ["*"] } ]
`;

async function api(herald: HeraldProcess, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(herald.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function stop(herald: HeraldProcess): Promise<void> {
  herald.proc.kill("SIGTERM");
  await herald.proc.exited;
}

/** The request of event `n` to the config destination (`api`: to the API one), polled for with a deadline. */
async function arrival(hook: Receiver, n: number, api = false): Promise<ReceivedRequest> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const found = hook.requests.find((r) => r.path.endsWith("?api") === api && JSON.parse(r.body).data.n === n);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`event ${n} did not arrive${api ? " at the API destination" : ""}`);
    await Bun.sleep(20);
  }
}

/** Publishes event `n` and checks what reached the config destination: signed with SECRET (standardwebhooks), with its header. */
async function deliverAndVerify(herald: HeraldProcess, hook: Receiver, n: number): Promise<void> {
  expect((await api(herald, "POST", "/v1/events", { type: "order.paid", data: { n } })).status).toBe(202);
  const request = await arrival(hook, n);
  expect(verifyWithStandardWebhooks(SECRET, request)).toMatchObject({ data: { n } });
  expect(request.headers["x-auth-token"]).toBe(HEADER);
}

function cli(args: string[], cwd: string, env: Record<string, string>) {
  const out = Bun.spawnSync([process.execPath, MAIN, ...args], { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: out.exitCode, stdout: out.stdout.toString(), stderr: out.stderr.toString() };
}

for (const store of STORE_NAMES) {
  describe(`herald rekey [${store}]`, () => {
    it("re-seals online, keeps delivery working through the switch to the new key, and the old key alone is then refused", async () => {
      const dir = tempDir("herald-rekey-");
      cleanups.push(() => removeDir(dir));
      const hook = startReceiver();
      cleanups.push(() => hook.stop());
      const { storage, env, oldKeyFile, sealedValues } = await storeSetup(store, dir);

      // 1. Herald runs on the first key; the rekey runs beside it.
      let herald = await spawnSourceHerald(dir, ADMIN_TOKEN, { storage: storage(), resources: RESOURCES(hook), env });
      cleanups.push(() => herald.proc.kill("SIGKILL"));
      await deliverAndVerify(herald, hook, 1);
      const oldId = parseKey(readFileSync(join(dir, oldKeyFile), "utf8"), "old").id;
      const rekey = cli(["rekey", "--new-key-file", "new.key", "--config", "config.yaml"], dir, env);
      expect(rekey.stderr).not.toContain("herald rekey:");
      expect(rekey.code).toBe(0);
      const newId = parseKey(readFileSync(join(dir, "new.key"), "utf8"), "new").id;
      expect(statSync(join(dir, "new.key")).mode & 0o777).toBe(0o600);
      expect(rekey.stdout).toContain(`sealed 1 destinations' secrets and headers again under key id ${newId}`);
      expect(rekey.stdout).toContain("previous_encryption_key_file");
      // Every value now opens with either key.
      for (const value of await sealedValues()) expect(value).toMatch(new RegExp(`^hv1:${newId}:[^,]+,${oldId}:[^,]+$`));
      // The running Herald reads on (a catalogue change makes it reload) and writes under its key alone.
      const created = await api(herald, "POST", "/v1/destinations", { url: hook.url + "?api", headers: { "x-api-token": API_HEADER } });
      expect(created.status).toBe(201);
      const apiSecret = (await api(herald, "GET", `/v1/destinations/${created.body.id}/secret`)).body.secret;
      expect((await api(herald, "POST", "/v1/subscriptions", { destination_id: created.body.id, event_types: ["*"] })).status).toBe(201);
      await deliverAndVerify(herald, hook, 2);
      await stop(herald);

      // 2. The switch: the new key, the old one as the previous.
      herald = await spawnSourceHerald(dir, ADMIN_TOKEN, {
        storage: storage(`encryption_key_file: ./new.key, previous_encryption_key_file: ./${oldKeyFile}`),
        resources: RESOURCES(hook),
        env: { HERALD_ENCRYPTION_KEY: "" },
      });
      cleanups.push(() => herald.proc.kill("SIGKILL"));
      await deliverAndVerify(herald, hook, 4);
      const viaApi = await arrival(hook, 4, true);
      expect(verifyWithStandardWebhooks(apiSecret, viaApi)).toMatchObject({ data: { n: 4 } });
      expect(viaApi.headers["x-api-token"]).toBe(API_HEADER);
      await stop(herald);

      // 3. Every instance is on the new key: without the previous, the start seals under it alone.
      herald = await spawnSourceHerald(dir, ADMIN_TOKEN, { storage: storage("encryption_key_file: ./new.key"), resources: RESOURCES(hook), env: { HERALD_ENCRYPTION_KEY: "" } });
      cleanups.push(() => herald.proc.kill("SIGKILL"));
      await deliverAndVerify(herald, hook, 6);
      const values = await sealedValues();
      expect(values.length).toBe(5); // two destinations' secrets and headers, and the check value
      for (const value of values) expect(value).toMatch(new RegExp(`^hv1:${newId}:[^,]+$`));
      await stop(herald);

      // 4. The old key alone no longer opens the database: a clear refusal, exit code 1.
      writeFileSync(join(dir, "config.yaml"), readFileSync(join(dir, "config.yaml"), "utf8").replace("encryption_key_file: ./new.key", `encryption_key_file: ./${oldKeyFile}`));
      const refused = Bun.spawnSync(SOURCE_SERVE, { cwd: dir, env: { ...process.env, HERALD_ENCRYPTION_KEY: "" }, stdout: "pipe", stderr: "pipe", timeout: 20_000 });
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr.toString()).toContain(`the encryption key does not match the one the database was sealed with (key id ${newId}; this Herald holds key id ${oldId})`);
    });
  });
}

/**
 * The store's `storage` section (with extra keys), the environment of the
 * first Herald, its key file, and every sealed value read back raw.
 */
async function storeSetup(store: StoreName, dir: string) {
  if (store === "sqlite") {
    return {
      storage: (extra = "") => `{ path: ./herald.db${extra ? `, ${extra}` : ""} }`,
      env: {} as Record<string, string>,
      // Made by the first start, beside the database.
      oldKeyFile: "herald.db.key",
      sealedValues: async () => {
        const db = new Database(join(dir, "herald.db"), { readonly: true });
        try {
          const rows = db.query("SELECT secrets, headers FROM destinations").all() as { secrets: string; headers: string }[];
          const check = db.query("SELECT check_value FROM sealing").all() as { check_value: string }[];
          return [...rows.flatMap((r) => [r.secrets, r.headers]), ...check.map((c) => c.check_value)];
        } finally {
          db.close();
        }
      },
    };
  }
  const schema = await postgresSchema();
  cleanups.push(schema.drop);
  writeFileSync(join(dir, "old.key"), TEST_ENCRYPTION_KEY + "\n", { mode: 0o600 });
  return {
    storage: (extra = "") => `{ driver: postgres, url: "${schema.url}", pool_size: 4${extra ? `, ${extra}` : ""} }`,
    env: { HERALD_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY } as Record<string, string>,
    oldKeyFile: "old.key",
    sealedValues: async () => {
      const rows = await schema.admin.unsafe(`SELECT secrets, headers FROM ${schema.name}.destinations`);
      const check = await schema.admin.unsafe(`SELECT check_value FROM ${schema.name}.sealing`);
      return [...rows.flatMap((r: any) => [r.secrets, r.headers]), ...check.map((c: any) => c.check_value)];
    },
  };
}

describe("herald rekey's command line", () => {
  it("shows its usage, needs --new-key-file, and refuses the key already in use", () => {
    const dir = tempDir("herald-rekey-cli-");
    cleanups.push(() => removeDir(dir));
    const help = cli(["rekey", "--help"], dir, {});
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("herald rekey --new-key-file F [--config FILE]");
    const missing = cli(["rekey"], dir, {});
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("herald rekey needs --new-key-file F");
    // The database's own key as the "new" one: refused, and nothing is written.
    writeFileSync(join(dir, "config.yaml"), "storage: { path: ./herald.db }\n");
    expect(cli(["rekey", "--new-key-file", "first.key"], dir, {}).code).toBe(0);
    const same = cli(["rekey", "--new-key-file", "herald.db.key"], dir, {});
    expect(same.code).toBe(1);
    expect(same.stderr).toContain("herald rekey: the new key is the one in use (key id");
  });
});
