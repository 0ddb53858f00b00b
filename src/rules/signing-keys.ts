// Standard Webhooks asymmetric keys (signature scheme `v1a`, ed25519): the private
// key is `whsk_` + base64, the public key `whpk_` + base64 of its 32 raw bytes. Which
// scheme a destination signs with follows from its current secret's prefix, so the
// stored secrets list (sealed at rest as a whole) needs no extra column.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { generateSecret, SECRET_PREFIX } from "./secrets.ts";

export const PRIVATE_KEY_PREFIX = "whsk_";
export const PUBLIC_KEY_PREFIX = "whpk_";

export const SIGNATURE_SCHEMES = ["hmac", "ed25519"] as const;
export type SignatureScheme = (typeof SIGNATURE_SCHEMES)[number];

/**
 * The secret that signs alone once any grace period ends: the one without an
 * expiry (the first, for a list that has none); null for no secrets at all.
 */
export function currentSecret(secrets: readonly { secret: string; expires_at: number | null }[]): string | null {
  return secrets.find((s) => s.expires_at === null)?.secret ?? secrets[0]?.secret ?? null;
}

/** The scheme a secret signs with: `whsk_` keys sign v1a (ed25519), `whsec_` secrets v1 (HMAC-SHA256). */
export function schemeOf(secret: string): SignatureScheme {
  return secret.startsWith(PRIVATE_KEY_PREFIX) ? "ed25519" : "hmac";
}

// PKCS#8 wrapping of a raw 32-byte ed25519 seed (RFC 8410): node:crypto takes no raw private keys.
const PKCS8_SEED_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

/**
 * A new private key: `whsk_` + base64 of the 32-byte seed. The spec says only "a standard
 * ed25519 key pair, base64"; the seed is the form RFC 8032 and node:crypto's JWK `d` use.
 */
export function generatePrivateKey(): string {
  const { privateKey } = generateKeyPairSync("ed25519");
  const seed = Buffer.from(privateKey.export({ format: "jwk" }).d!, "base64url");
  return PRIVATE_KEY_PREFIX + seed.toString("base64");
}

/**
 * The key object of a `whsk_` key, or null when it is not one. Accepted: base64 of the 32-byte
 * seed, or of the 64-byte seed ‖ public key form libsodium writes (its public half must match).
 */
export function privateKeyObject(secret: string): KeyObject | null {
  if (!secret.startsWith(PRIVATE_KEY_PREFIX)) return null;
  const encoded = secret.slice(PRIVATE_KEY_PREFIX.length);
  // Padded to a multiple of 4: Buffer.from would quietly decode a truncated one.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || encoded.length % 4 !== 0) return null;
  const bytes = Buffer.from(encoded, "base64");
  if (bytes.length !== 32 && bytes.length !== 64) return null;
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_SEED_PREFIX, bytes.subarray(0, 32)]), format: "der", type: "pkcs8" });
  if (bytes.length === 64 && !rawPublicKey(key).equals(bytes.subarray(32))) return null;
  return key;
}

/** True for a `whsk_` key Herald can sign with. */
export function isValidPrivateKey(secret: string): boolean {
  return privateKeyObject(secret) !== null;
}

/** The `whpk_` public key of a `whsk_` private key (what receivers verify with). */
export function publicKeyOf(secret: string): string {
  const key = privateKeyObject(secret);
  if (!key) throw new Error("not an ed25519 private key");
  return PUBLIC_KEY_PREFIX + rawPublicKey(key).toString("base64");
}

function rawPublicKey(privateKey: KeyObject): Buffer {
  return Buffer.from(createPublicKey(privateKey).export({ format: "jwk" }).x!, "base64url");
}

/** True when the secret is of the given scheme: a `whsec_` for hmac, a `whsk_` for ed25519. */
export function secretMatchesScheme(secret: string, scheme: SignatureScheme): boolean {
  return scheme === "ed25519" ? secret.startsWith(PRIVATE_KEY_PREFIX) : secret.startsWith(SECRET_PREFIX);
}

/** A new secret of the scheme: a `whsec_` secret for hmac, a `whsk_` private key for ed25519. */
export const newSecret = (scheme: SignatureScheme): string => (scheme === "ed25519" ? generatePrivateKey() : generateSecret());
