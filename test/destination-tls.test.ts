// A destination's client certificate (`tls: {cert, key}`, for receivers that
// require mutual TLS) is write-only: answers say only whether one is set; a
// broken or mismatched pair is refused without being echoed; a change reaches
// what the engine sends with. On every store in HERALD_TEST_STORES.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { makeCertificates, type TestCertificates } from "./support/certificates.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

let certs: TestCertificates;
beforeAll(() => {
  certs = makeCertificates(["receiver.example"]);
});

/** The base64 body of a PEM block: what must never appear in an answer. */
const pemBody = (pem: string) => pem.split("\n").filter((line) => line && !line.startsWith("-----")).join("");
const leaks = (answer: unknown, pem: string) => {
  const text = JSON.stringify(answer).replace(/\\n/g, "");
  return pemBody(pem).match(/.{1,40}/g)!.some((chunk) => text.includes(chunk));
};

describeOnEachStore("client certificates for mutual TLS", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startHerald(testConfig({ destinations: [{ id: "from-config", url: "https://receiver.example/hook", tls: certs.client }] }));
  });
  afterAll(() => herald?.stop());

  it("keeps the certificate and key out of every answer, and says whether one is set", async () => {
    const created = await herald.api("POST", "/v1/destinations", { id: "mtls", url: "https://receiver.example/in", tls: certs.client });
    expect(created.status).toBe(201);
    expect(created.body.client_certificate).toBe(true);
    const answers = [
      created.body,
      (await herald.api("GET", "/v1/destinations/mtls")).body,
      (await herald.api("GET", "/v1/destinations")).body,
      (await herald.api("GET", "/v1/destinations/from-config")).body,
      (await herald.api("GET", "/v1/destinations/mtls/headers")).body,
    ];
    for (const answer of answers) {
      expect(leaks(answer, certs.client.key)).toBe(false);
      expect(leaks(answer, certs.client.cert)).toBe(false);
    }
    expect(answers[3].client_certificate).toBe(true);
    // The engine sends with what was stored.
    expect((await herald.app.store.catalog.getDestination("mtls"))!.client_tls).toEqual(certs.client);
  });

  it("replaces or removes it with PATCH, and the catalogue every instance follows moves with it", async () => {
    const version = await herald.app.store.catalog.version();
    const replaced = await herald.api("PATCH", "/v1/destinations/mtls", { tls: certs.stranger });
    expect(replaced.status).toBe(200);
    expect(await herald.app.store.catalog.version()).toBeGreaterThan(version);
    expect((await herald.app.store.catalog.getDestination("mtls"))!.client_tls).toEqual(certs.stranger);
    const removed = await herald.api("PATCH", "/v1/destinations/mtls", { tls: null });
    expect(removed.body.client_certificate).toBe(false);
    expect((await herald.app.store.catalog.getDestination("mtls"))!.client_tls).toBeNull();
    // Other changes leave it alone.
    await herald.api("PATCH", "/v1/destinations/mtls", { tls: certs.client });
    await herald.api("PATCH", "/v1/destinations/mtls", { description: "changed" });
    expect((await herald.app.store.catalog.getDestination("mtls"))!.client_tls).toEqual(certs.client);
    // The audit log says the certificate changed, never what it is.
    const audit = (await herald.api("GET", "/v1/audit?resource_id=mtls&limit=100")).body.data;
    const tlsChanges = audit.filter((e: { changes: Record<string, unknown> }) => "tls" in e.changes).map((e: { changes: { tls: unknown } }) => e.changes.tls);
    expect(tlsChanges).toContainEqual({ from: "[redacted]", to: null });
    for (const pem of [certs.client.key, certs.stranger.key, certs.client.cert]) expect(leaks(audit, pem)).toBe(false);
  });

  it("refuses a broken certificate, a broken key and a key of another certificate, echoing neither", async () => {
    const cases: [string, unknown, string][] = [
      ["not PEM", { cert: "hello", key: certs.client.key }, "tls.cert"],
      ["a broken key", { cert: certs.client.cert, key: certs.client.key.replace(/[A-Za-z]{8}/, "AAAAAAAA") }, "tls.key"],
      ["another certificate's key", { cert: certs.client.cert, key: certs.stranger.key }, "tls.key"],
      ["no key", { cert: certs.client.cert }, "tls.key"],
    ];
    for (const [name, tls, path] of cases) {
      const refused = await herald.api("POST", "/v1/destinations", { url: "https://receiver.example/x", tls });
      expect({ name, status: refused.status }).toEqual({ name, status: 400 });
      expect(refused.body.details.map((d: { path: string }) => d.path)).toContain(path);
      expect(leaks(refused.body, certs.client.key)).toBe(false);
      expect(leaks(refused.body, certs.stranger.key)).toBe(false);
    }
  });
});
