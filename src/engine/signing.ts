// Standard Webhooks signing: a signature is base64(HMAC-SHA256(key, "id.timestamp.body")),
// the key being the bytes of a secret (src/rules/secrets.ts says what a secret is).
import { SECRET_PREFIX } from "../rules/secrets.ts";

/** The `webhook-signature` header value: one `v1,<sig>` per secret, space-separated. */
export function signatureHeader(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  const content = `${id}.${timestamp}.${body}`;
  return secrets.map((secret) => "v1," + hmac(secret, content)).join(" ");
}

// Bun's own hasher: ~0.7 µs a signature where node:crypto's createHmac took ~1.5.
const hmac = (secret: string, content: string) => new Bun.CryptoHasher("sha256", keyOf(secret)).update(content).digest("base64");

// Decoding a secret's base64 on every send was ~1.2 µs of its ~4 µs: decoded
// keys are kept per secret. Bounded, oldest first, so rotations cannot grow it.
const KEYS_MAX = 1024;
const keys = new Map<string, Buffer>();

function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (key) return key;
  key = Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
  if (keys.size >= KEYS_MAX) keys.delete(keys.keys().next().value!);
  keys.set(secret, key);
  return key;
}
