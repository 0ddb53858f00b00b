// Standard Webhooks secrets: `whsec_` + base64 of random bytes. Their format is
// checked by the config file and the management API alike, and new ones are
// made by the engine (a destination created without one) and by reconcile.
import { randomBytes } from "node:crypto";

export const SECRET_PREFIX = "whsec_";

/** A new secret of 32 random bytes (Standard Webhooks allows 24 to 64). */
export function generateSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString("base64");
}

/** True for `whsec_` followed by padded base64 of 24 to 64 bytes. */
export function isValidSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  const encoded = secret.slice(SECRET_PREFIX.length);
  // Padded to a multiple of 4: Buffer.from would quietly decode a truncated one.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return false;
  const bytes = Buffer.from(encoded, "base64").length;
  return bytes >= 24 && bytes <= 64;
}
