// Standard Webhooks signing: secrets are `whsec_` + base64 of random bytes, and
// a signature is base64(HMAC-SHA256(key, "id.timestamp.body")).
import { createHmac, randomBytes } from "node:crypto";

const PREFIX = "whsec_";

/** A new secret of 32 random bytes (Standard Webhooks allows 24 to 64). */
export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString("base64");
}

/** True for `whsec_` followed by base64 of 24 to 64 bytes. */
export function isValidSecret(secret: string): boolean {
  if (!secret.startsWith(PREFIX)) return false;
  const encoded = secret.slice(PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return false;
  const bytes = Buffer.from(encoded, "base64").length;
  return bytes >= 24 && bytes <= 64;
}

/** The `webhook-signature` header value: one `v1,<sig>` per secret, space-separated. */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  const content = `${id}.${timestamp}.${body}`;
  return secrets
    .map((secret) => "v1," + createHmac("sha256", Buffer.from(secret.slice(PREFIX.length), "base64")).update(content).digest("base64"))
    .join(" ");
}
