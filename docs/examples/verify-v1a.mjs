// Verifying Herald's asymmetric signatures (`v1a`, ed25519) with node:crypto alone
// (Node 18+, Bun, Deno): the official Standard Webhooks libraries check only `v1`.
// docs/receiving.md explains it; test/ed25519-signatures.test.ts runs it against Herald.
import { createPublicKey, verify } from "node:crypto";

const TOLERANCE_S = 5 * 60;

/** A `whpk_…` public key (GET /v1/destinations/{id}/secret) as a node:crypto key. */
export function publicKeyFrom(whpk) {
  if (!whpk.startsWith("whpk_")) throw new Error("not a whpk_ public key");
  const x = Buffer.from(whpk.slice("whpk_".length), "base64").toString("base64url");
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x }, format: "jwk" });
}

/**
 * True when one `v1a,` signature in the header verifies with one of `keys` over
 * "webhook-id.webhook-timestamp.raw body", and the timestamp is within 5 minutes of `now`.
 * `body` is the raw body (a Buffer or the string as received), never re-serialized JSON.
 */
export function verifyV1a(keys, headers, body, now = Date.now()) {
  const id = headers["webhook-id"];
  const timestamp = headers["webhook-timestamp"];
  const signatures = headers["webhook-signature"];
  if (!id || !/^\d+$/.test(timestamp ?? "") || !signatures) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > TOLERANCE_S) return false;
  const content = Buffer.concat([Buffer.from(`${id}.${timestamp}.`), Buffer.from(body)]);
  // Several signatures during a key rotation (and v1 ones from other senders): try each v1a.
  return signatures.split(" ").some((entry) => {
    const [version, signature] = entry.split(",");
    if (version !== "v1a" || !signature) return false;
    const bytes = Buffer.from(signature, "base64");
    return bytes.length === 64 && keys.some((key) => verify(null, content, key, bytes));
  });
}
