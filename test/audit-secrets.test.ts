// Nothing secret reaches the audit log, on every store: a destination created
// and changed with a signing secret and static headers, its secret rotated (to
// a generated one and to a given one), and the rows of audit_log itself and
// every entry GET /v1/audit answers are searched for each secret and header
// value. What changed must still show, redacted.
import { afterEach, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.ts";
import { PostgresStore } from "../src/store/postgres/postgres-store.ts";

/** Every row of audit_log, every column, as the database holds it. */
async function auditRows(herald: TestHerald): Promise<unknown[]> {
  const store = herald.app.store;
  if (store instanceof SqliteStore) return store.db.query("SELECT * FROM audit_log").all();
  if (store instanceof PostgresStore) return [...(await store.sql`SELECT * FROM audit_log`)];
  throw new Error("a store this test cannot read raw");
}

const SECRET_A = "whsec_" + Buffer.from("audit-secret-A-0123456789abcdef").toString("base64");
const SECRET_B = "whsec_" + Buffer.from("audit-secret-B-0123456789abcdef").toString("base64");
const TOKEN_1 = "header-token-one-7f3a9c";
const TOKEN_2 = "header-token-two-81bd22";
const SIGNATURE_KEY = "api-key-value-5e6d7c";

describeOnEachStore("the audit log keeps no secret", () => {
  let herald: TestHerald;
  let receiver: Receiver;
  afterEach(async () => {
    await herald?.stop();
    await receiver?.stop();
  });

  it("holds neither signing secrets nor header values, in its answers or its rows, after create, update and rotations", async () => {
    receiver = startReceiver();
    herald = await startHerald(testConfig());
    const created = await herald.api("POST", "/v1/destinations", {
      url: receiver.url, secret: SECRET_A, headers: { "x-auth-token": TOKEN_1, "x-api-key": SIGNATURE_KEY },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    expect((await herald.api("PATCH", `/v1/destinations/${id}`, { headers: { "x-auth-token": TOKEN_2 } })).status).toBe(200);
    const generated = await herald.api("POST", `/v1/destinations/${id}/rotate-secret`, {});
    expect(generated.status).toBe(200);
    expect((await herald.api("POST", `/v1/destinations/${id}/rotate-secret`, { secret: SECRET_B })).status).toBe(200);

    const secrets = [SECRET_A, SECRET_B, generated.body.secret as string, TOKEN_1, TOKEN_2, SIGNATURE_KEY];
    // Each secret also without its prefix: base64 alone would still give it away.
    const needles = [...secrets, ...secrets.map((s) => s.replace(/^whsec_/, ""))];

    const answered = (await herald.api("GET", "/v1/audit")).body.data as any[];
    expect(answered.map((e) => e.action)).toEqual([
      "destination.secret_rotated", "destination.secret_rotated", "destination.updated", "destination.created",
    ]);
    const text = JSON.stringify(answered);
    for (const needle of needles) expect({ needle, found: text.includes(needle) }).toEqual({ needle, found: false });

    // The rows as stored: the table itself, read with SQL past the store's own reads.
    const rows = JSON.stringify(await auditRows(herald));
    expect(rows).toContain("destination.created");
    for (const needle of needles) expect({ needle, found: rows.includes(needle) }).toEqual({ needle, found: false });

    // What changed is still told, redacted: which header, and that the secret changed.
    const update = answered.find((e) => e.action === "destination.updated");
    expect(update.changes.headers).toEqual({
      "x-auth-token": { from: "[redacted]", to: "[redacted]" },
      "x-api-key": { from: "[redacted]", to: null },
    });
    const create = answered.find((e) => e.action === "destination.created");
    expect(create.changes.secret).toEqual({ from: null, to: "[redacted]" });
    expect(create.changes.headers).toEqual({
      "x-auth-token": { from: null, to: "[redacted]" }, "x-api-key": { from: null, to: "[redacted]" },
    });
    for (const rotation of answered.filter((e) => e.action === "destination.secret_rotated")) {
      expect(rotation.changes).toEqual({ secret: { from: "[redacted]", to: "[redacted]" } });
    }
  });
});
