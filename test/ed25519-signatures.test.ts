// Asymmetric signatures (Standard Webhooks `v1a`, ed25519), on every store: a real
// receiver verifies each message with node:crypto and the public key the API shows
// (the official libraries do not implement v1a), a wrong key fails, a rotation's grace
// gives two v1a signatures, and the private key is in no answer, audit entry or stored byte.
import { afterEach, describe, expect, it } from "bun:test";
import { createPublicKey, generateKeyPairSync, verify, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { validateConfig } from "../src/config/schema.ts";
import type { PostgresStore } from "../src/store/postgres/postgres-store.ts";
import { removeDir, startHerald, tempDir, testConfig, verifyWithStandardWebhooks, type TestHerald } from "./support/herald.ts";
import { eventually } from "./support/eventually.ts";
import { startReceiver, type ReceivedRequest, type Receiver } from "./support/receiver.ts";
import { currentHeraldStore, describeOnEachStore } from "./support/test-stores.ts";

/** A `whpk_` public key as a node:crypto key, read as JWK: independent of Herald's own key code. */
function publicKey(whpk: string): KeyObject {
  expect(whpk).toStartWith("whpk_");
  const raw = Buffer.from(whpk.slice("whpk_".length), "base64");
  expect(raw.length).toBe(32);
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}

/** A private key the test chose, in Herald's `whsk_` form (base64 of the 32-byte seed), and its `whpk_`. */
function keyPair(): { whsk: string; whpk: string; seed: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url").toString("base64");
  return { whsk: "whsk_" + seed, whpk: "whpk_" + Buffer.from(publicKey.export({ format: "jwk" }).x!, "base64url").toString("base64"), seed };
}

/** The `v1a` signatures of a request, in header order. */
const v1aSignatures = (request: ReceivedRequest): string[] =>
  request.headers["webhook-signature"]!.split(" ").map((part) => {
    const [version, signature] = part.split(",");
    expect(version).toBe("v1a");
    return signature!;
  });

/** Whether `signature` is a valid ed25519 signature of the request's `id.timestamp.body` under `key`. */
function verifies(request: ReceivedRequest, signature: string, key: KeyObject): boolean {
  const content = `${request.headers["webhook-id"]}.${request.headers["webhook-timestamp"]}.${request.body}`;
  return verify(null, Buffer.from(content), key, Buffer.from(signature, "base64"));
}

/**
 * A receiver that verifies as a real one would: 204 when a v1a signature verifies with one of
 * the public keys it trusts, 401 otherwise (Herald then records a failed attempt).
 */
function verifyingReceiver(trusted: () => string[]): Receiver {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const body = await req.text();
      const request: ReceivedRequest = { method: req.method, path: new URL(req.url).pathname, headers: Object.fromEntries(req.headers), body, at: Date.now() };
      const signatures = request.headers["webhook-signature"]!.split(" ").filter((s) => s.startsWith("v1a,")).map((s) => s.slice(4));
      const ok = trusted().some((whpk) => signatures.some((signature) => verifies(request, signature, publicKey(whpk))));
      return new Response(null, { status: ok ? 204 : 401 });
    },
  });
  return { url: `http://127.0.0.1:${server.port}/hook`, port: server.port!, requests: [], waitFor: () => Promise.reject(new Error("not recorded")), release: () => {}, stop: () => server.stop(true) };
}

/** Polls the delivery of `eventId` until it has an attempt; its status and last HTTP status. */
async function firstOutcome(herald: TestHerald, eventId: string): Promise<{ status: string; last_status: number | null }> {
  return eventually(async () => {
    const delivery = (await herald.api("GET", `/v1/events/${eventId}`)).body.deliveries?.[0];
    return delivery && delivery.attempt_count > 0 ? delivery : undefined;
  }, "the delivery's first attempt");
}

describeOnEachStore("ed25519 signatures (v1a)", () => {
  let herald: TestHerald | undefined;
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await herald?.stop();
    herald = undefined;
    for (const r of receivers.splice(0)) await r.stop();
  });

  async function destination(url: string, body: Record<string, unknown> = {}): Promise<any> {
    const created = await herald!.api("POST", "/v1/destinations", { url, signature: "ed25519", ...body });
    expect(created.status).toBe(201);
    expect((await herald!.api("POST", "/v1/subscriptions", { destination_id: created.body.id, event_types: ["*"] })).status).toBe(201);
    return created.body;
  }

  it("signs v1a that a real receiver verifies with the API's public key; a wrong public key fails", async () => {
    herald = await startHerald(testConfig({ event_types: [{ name: "order.paid" }] }));
    let trusted: string[] = [];
    const hook = verifyingReceiver(() => trusted);
    receivers.push(hook);
    const created = await destination(hook.url);
    // The create answer carries the public key and no secret; list and get show the scheme and the key.
    expect(created.secret).toBeUndefined();
    expect(created.signature).toBe("ed25519");
    const one = (await herald.api("GET", `/v1/destinations/${created.id}`)).body;
    const listed = (await herald.api("GET", "/v1/destinations")).body.data.find((d: any) => d.id === created.id);
    const revealed = (await herald.api("GET", `/v1/destinations/${created.id}/secret`)).body;
    expect(revealed).toEqual({ public_key: created.public_key, previous_public_keys: [] });
    expect([one.public_key, listed.public_key]).toEqual([created.public_key, created.public_key]);
    expect([one.signature, listed.signature]).toEqual(["ed25519", "ed25519"]);

    trusted = [keyPair().whpk];
    const wrong = await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 1 } });
    expect(await firstOutcome(herald, wrong.body.id)).toMatchObject({ status: "pending", last_status: 401 });

    trusted = [revealed.public_key];
    const right = await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 2 } });
    expect(await firstOutcome(herald, right.body.id)).toMatchObject({ status: "succeeded", last_status: 204 });
  });

  it("checks the signature over id.timestamp.body: a changed body or id does not verify", async () => {
    herald = await startHerald(testConfig({ event_types: [{ name: "order.paid" }] }));
    const hook = startReceiver();
    receivers.push(hook);
    const created = await destination(hook.url);
    await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 1 } });
    const [request] = await hook.waitFor(1);
    const [signature] = v1aSignatures(request!);
    const key = publicKey(created.public_key);
    expect(verifies(request!, signature!, key)).toBe(true);
    expect(verifies({ ...request!, body: request!.body.replace('"n":1', '"n":2') }, signature!, key)).toBe(false);
    expect(verifies({ ...request!, headers: { ...request!.headers, "webhook-id": "evt_other" } }, signature!, key)).toBe(false);
  });

  it("during a rotation's grace sends two v1a signatures, one per key, and one again after it", async () => {
    herald = await startHerald(testConfig({ event_types: [{ name: "order.paid" }] }));
    const hook = startReceiver();
    receivers.push(hook);
    const created = await destination(hook.url);
    const rotated = await herald.api("POST", `/v1/destinations/${created.id}/rotate-secret`, { grace_period: "1h" });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toBeUndefined();
    const keys = (await herald.api("GET", `/v1/destinations/${created.id}/secret`)).body;
    expect(keys.public_key).toBe(rotated.body.public_key);
    expect(keys.previous_public_keys.map((p: any) => p.public_key)).toEqual([created.public_key]);
    expect(keys.public_key).not.toBe(created.public_key);

    await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 1 } });
    const [during] = await hook.waitFor(1);
    const signatures = v1aSignatures(during!);
    expect(signatures).toHaveLength(2);
    const current = publicKey(keys.public_key);
    const previous = publicKey(created.public_key);
    // The first is the new key's, the second the old key's: each verifies with its own key only.
    expect(signatures.map((s) => [verifies(during!, s, current), verifies(during!, s, previous)])).toEqual([[true, false], [false, true]]);

    herald.clock.advance(3_600_000 + 1000);
    await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 2 } });
    const after = (await hook.waitFor(2))[1]!;
    const alone = v1aSignatures(after);
    expect(alone).toHaveLength(1);
    expect(verifies(after, alone[0]!, current)).toBe(true);
    expect((await herald.api("GET", `/v1/destinations/${created.id}/secret`)).body.previous_public_keys).toEqual([]);
  });

  it("switches scheme through PATCH with a fresh key each way, and refuses a key of the other scheme", async () => {
    herald = await startHerald(testConfig({ event_types: [{ name: "order.paid" }] }));
    const hook = startReceiver();
    receivers.push(hook);
    const plain = await herald.api("POST", "/v1/destinations", { url: hook.url });
    expect(plain.body).toMatchObject({ signature: "hmac", public_key: null });
    expect(plain.body.secret).toStartWith("whsec_");
    const id = plain.body.id;
    expect((await herald.api("POST", "/v1/subscriptions", { destination_id: id, event_types: ["*"] })).status).toBe(201);

    const switched = await herald.api("PATCH", `/v1/destinations/${id}`, { signature: "ed25519" });
    expect(switched.status).toBe(200);
    expect(switched.body.signature).toBe("ed25519");
    await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 1 } });
    const [signed] = await hook.waitFor(1);
    // No grace on a switch: the HMAC secret stops signing at once.
    const signatures = v1aSignatures(signed!);
    expect(signatures).toHaveLength(1);
    expect(verifies(signed!, signatures[0]!, publicKey(switched.body.public_key))).toBe(true);

    // A key of the other scheme is refused, in a rotation and at creation.
    const hmacKey = plain.body.secret;
    const refused = await herald.api("POST", `/v1/destinations/${id}/rotate-secret`, { secret: hmacKey });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).not.toContain(hmacKey);
    expect((await herald.api("POST", "/v1/destinations", { url: hook.url, signature: "ed25519", secret: hmacKey })).status).toBe(400);
    expect((await herald.api("POST", "/v1/destinations", { url: hook.url, signature: "hmac", secret: keyPair().whsk })).status).toBe(400);
    // A malformed whsk_ is refused like a malformed whsec_.
    expect((await herald.api("POST", "/v1/destinations", { url: hook.url, secret: "whsk_" + Buffer.alloc(31).toString("base64") })).status).toBe(400);

    const back = await herald.api("PATCH", `/v1/destinations/${id}`, { signature: "hmac" });
    expect(back.body).toMatchObject({ signature: "hmac", public_key: null });
    const secret = (await herald.api("GET", `/v1/destinations/${id}/secret`)).body;
    expect(secret.secret).toStartWith("whsec_");
    expect(secret.secret).not.toBe(hmacKey);
    await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 2 } });
    const hmacSigned = (await hook.waitFor(2))[1]!;
    expect(verifyWithStandardWebhooks(secret.secret, hmacSigned)).toMatchObject({ type: "order.paid" });
  });

  it("shows the private key in no API answer, audit entry or stored byte", async () => {
    const dir = tempDir("herald-ed25519-");
    herald = await startHerald(testConfig({ event_types: [{ name: "order.paid" }] }, dir));
    const hook = startReceiver();
    receivers.push(hook);
    const given = keyPair();
    const rotatedTo = keyPair();
    const answers: unknown[] = [];
    const call = async (method: string, path: string, body?: unknown) => {
      const answer = await herald!.api(method, path, body);
      expect(answer.status).toBeLessThan(300);
      answers.push(answer.body);
      return answer.body;
    };
    const created = await call("POST", "/v1/destinations", { url: hook.url, secret: given.whsk });
    expect(created.public_key).toBe(given.whpk);
    expect(created.signature).toBe("ed25519");
    await call("POST", "/v1/subscriptions", { destination_id: created.id, event_types: ["*"] });
    await call("POST", `/v1/destinations/${created.id}/rotate-secret`, { secret: rotatedTo.whsk, grace_period: "1h" });
    const generated = await call("POST", `/v1/destinations/${created.id}/rotate-secret`, { grace_period: "1h" });
    await call("PATCH", `/v1/destinations/${created.id}`, { description: "signed with ed25519" });
    await call("GET", `/v1/destinations/${created.id}`);
    await call("GET", "/v1/destinations");
    const revealed = await call("GET", `/v1/destinations/${created.id}/secret`);
    expect(revealed.previous_public_keys.map((p: any) => p.public_key).sort()).toEqual([given.whpk, rotatedTo.whpk].sort());
    const event = await call("POST", "/v1/events", { type: "order.paid", data: { n: 1 } });
    await hook.waitFor(1);
    await firstOutcome(herald, event.id);
    await call("GET", `/v1/events/${event.id}`);
    const audit = await call("GET", "/v1/audit");
    expect(audit.data.filter((e: any) => e.action === "destination.secret_rotated")).toHaveLength(2);
    expect(audit.data.find((e: any) => e.action === "destination.created").changes.signature).toEqual({ from: null, to: "ed25519" });

    // The third key was generated by Herald: read it from the store to search for it too.
    const stored = (await herald.app.store.catalog.getDestination(created.id))!.secrets.map((s) => s.secret);
    expect(stored).toHaveLength(3);
    expect(stored).toContain(given.whsk);
    const generatedKey = stored.find((s) => s !== given.whsk && s !== rotatedTo.whsk)!;
    expect(generated.public_key).not.toBe(given.whpk);
    // Each key whole and as its bare base64 seed.
    const needles = [given.whsk, rotatedTo.whsk, generatedKey].flatMap((k) => [k, k.slice("whsk_".length)]);
    const text = JSON.stringify(answers);
    for (const needle of needles) expect({ needle: needle.slice(0, 10), found: text.includes(needle) }).toEqual({ needle: needle.slice(0, 10), found: false });

    let bytes: Buffer[];
    if (currentHeraldStore() === "sqlite") {
      const db = join(dir, "herald.db");
      bytes = [readFileSync(db), readFileSync(`${db}-wal`)];
      // Not vacuous: the WAL holds the destination's row (its sealed columns among it).
      expect(bytes[1]!.includes(Buffer.from(created.id))).toBe(true);
    } else {
      const sql = (herald.app.store as PostgresStore).sql;
      const rows = await sql`SELECT (SELECT coalesce(json_agg(d)::text, '') FROM destinations d) AS d, (SELECT coalesce(json_agg(a)::text, '') FROM audit_log a) AS a`;
      bytes = [Buffer.from(rows[0].d + rows[0].a)];
      expect(bytes[0]!.includes(Buffer.from(created.id))).toBe(true);
    }
    for (const [i, b] of bytes.entries()) {
      for (const needle of needles) expect({ file: i, needle: needle.slice(0, 10), found: b.includes(Buffer.from(needle)) }).toEqual({ file: i, needle: needle.slice(0, 10), found: false });
    }
    removeDir(dir);
  });

  it("signs for destinations the config declares: a whsk_ key given, or one generated and kept across restarts", async () => {
    const given = keyPair();
    const hook = startReceiver();
    receivers.push(hook);
    const config = testConfig({
      event_types: [{ name: "order.paid" }],
      destinations: [
        { id: "given", url: hook.url + "?given", secret: given.whsk },
        { id: "generated", url: hook.url + "?generated", signature: "ed25519" },
      ],
      subscriptions: [
        { id: "given-all", destination: "given", event_types: ["*"] },
        { id: "generated-all", destination: "generated", event_types: ["*"] },
      ],
    });
    herald = await startHerald(config);
    const givenBody = (await herald.api("GET", "/v1/destinations/given")).body;
    const generatedBody = (await herald.api("GET", "/v1/destinations/generated")).body;
    expect(givenBody).toMatchObject({ signature: "ed25519", public_key: given.whpk, managed_by: "config" });
    expect(generatedBody).toMatchObject({ signature: "ed25519", managed_by: "config" });

    await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 1 } });
    const requests = await hook.waitFor(2);
    for (const [name, whpk] of [["given", given.whpk], ["generated", generatedBody.public_key]] as const) {
      const request = requests.find((r) => r.path.endsWith(`?${name}`))!;
      const signatures = v1aSignatures(request);
      expect({ name, ok: signatures.length === 1 && verifies(request, signatures[0]!, publicKey(whpk)) }).toEqual({ name, ok: true });
    }

    // A restart reconciles the file again: the generated key is kept, so receivers keep verifying.
    const appConfig = herald.app.config;
    await herald.app.stop();
    herald = await startHerald(appConfig);
    expect((await herald.api("GET", "/v1/destinations/generated")).body.public_key).toBe(generatedBody.public_key);
  });
});

describe("ed25519 in the config file", () => {
  const base = (destination: Record<string, unknown>) => ({
    storage: { path: join(tempDir(), "herald.db") },
    destinations: [{ id: "crm", url: "https://crm.example/hook", ...destination }],
  });

  it("refuses a secret of the other scheme, and a malformed whsk_, without echoing either", () => {
    const key = keyPair().whsk;
    const hmac = "whsec_" + Buffer.alloc(32, 7).toString("base64");
    const cases = [
      { destination: { signature: "ed25519", secret: hmac }, path: "destinations[0].secret" },
      { destination: { signature: "hmac", secret: key }, path: "destinations[0].secret" },
      { destination: { secret: "whsk_" + Buffer.alloc(33, 1).toString("base64") }, path: "destinations[0].secret" },
      { destination: { signature: "rsa" }, path: "destinations[0].signature" },
    ];
    for (const { destination, path } of cases) {
      const result = validateConfig(base(destination));
      expect(result.ok).toBe(false);
      if (result.ok) continue;
      expect(result.errors.map((e) => e.path)).toContain(path);
      expect(JSON.stringify(result.errors)).not.toContain(key.slice(5));
      expect(JSON.stringify(result.errors)).not.toContain(hmac.slice(6));
    }
    expect(validateConfig(base({ signature: "ed25519", secret: key })).ok).toBe(true);
    expect(validateConfig(base({ signature: "ed25519" })).ok).toBe(true);
  });
});

describe("docs/examples/verify-v1a.mjs, the guide's node:crypto check", () => {
  it("accepts Herald's message with the API's public key and refuses a wrong key, a changed body and a stale timestamp", async () => {
    const { publicKeyFrom, verifyV1a } = (await import(join(import.meta.dir, "../docs/examples/verify-v1a.mjs"))) as {
      publicKeyFrom(whpk: string): KeyObject;
      verifyV1a(keys: KeyObject[], headers: Record<string, string>, body: string, now?: number): boolean;
    };
    const hook = startReceiver();
    const herald = await startHerald(testConfig({ event_types: [{ name: "order.paid" }] }), { store: "sqlite" });
    try {
      const created = (await herald.api("POST", "/v1/destinations", { url: hook.url, signature: "ed25519" })).body;
      await herald.api("POST", "/v1/subscriptions", { destination_id: created.id, event_types: ["*"] });
      await herald.api("POST", "/v1/events", { type: "order.paid", data: { n: 1 } });
      const [request] = await hook.waitFor(1);
      const sentAt = Number(request!.headers["webhook-timestamp"]) * 1000;
      const key = publicKeyFrom((await herald.api("GET", `/v1/destinations/${created.id}/secret`)).body.public_key);
      expect(verifyV1a([key], request!.headers, request!.body, sentAt)).toBe(true);
      expect(verifyV1a([publicKeyFrom(keyPair().whpk)], request!.headers, request!.body, sentAt)).toBe(false);
      expect(verifyV1a([key], request!.headers, request!.body + " ", sentAt)).toBe(false);
      expect(verifyV1a([key], request!.headers, request!.body, sentAt + 6 * 60_000)).toBe(false);
    } finally {
      await herald.stop();
      await hook.stop();
    }
  });
});
