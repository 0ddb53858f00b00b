// Sealing: the destinations' signing secrets, static header values and client certificates are kept
// encrypted in the database (AES-256-GCM, a fresh 96-bit nonce per value, the
// row's id and column as associated data, so a value copied onto another row or
// column does not open). Both stores seal and open through this one file, in
// their row mapping; above the store every Destination is plaintext.
//
// A sealed value is `hv1:` and one or more `<key id>:<base64 of nonce|ciphertext|tag>`
// parts, comma-separated: the same plaintext sealed under each key of the
// keyring. Two parts exist only while a key change runs (`herald rekey`, then a
// restart with the old key as the previous one), so that instances still on
// the old key and those already on the new one read the same rows. A value
// without the prefix is plaintext JSON from before sealing (it starts with `[`
// or `{`): it is read as it is and sealed by the next start.
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from "node:crypto";
import type { Destination } from "./types.ts";

const PREFIX = "hv1:";
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;
/** Opened values remembered (two per destination): a catalogue of 10,000 destinations fits; past it, the memo starts over. */
const OPENED_MAX = 20_000;

/** An AES-256 key and its id: the first 8 hex digits of its SHA-256 (names it in envelopes and errors, reveals nothing). */
export interface SealingKey {
  id: string;
  bytes: Buffer;
}

/** A key, a previous key or a check value that does not fit: Herald refuses to start (or to rekey) with this message. */
export class SealingError extends Error {
  override name = "SealingError";
}

/** `text` (base64 of 32 bytes, surrounding whitespace ignored) as a key; `what` names its source in the error, never its value. */
export function parseKey(text: string, what: string): SealingKey {
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed, "base64");
  // Buffer.from ignores what is not base64: encode back to be sure nothing was dropped.
  if (bytes.length !== KEY_BYTES || bytes.toString("base64") !== trimmed) {
    throw new SealingError(`${what} is not base64 of ${KEY_BYTES} bytes (\`openssl rand -base64 32\` makes one)`);
  }
  return keyOf(bytes);
}

export function keyOf(bytes: Buffer): SealingKey {
  return { id: createHash("sha256").update(bytes).digest("hex").slice(0, 8), bytes };
}

/** A new random key, base64 (what a key file or HERALD_ENCRYPTION_KEY holds). */
export function newKeyText(): string {
  return randomBytes(KEY_BYTES).toString("base64");
}

/**
 * The keys a store seals and opens with. `sealing` (current first) are those
 * every value is sealed under; `opening` may hold one more, whose values are
 * read and sealed again (a previous key while a change runs).
 */
export class Keyring {
  private readonly byId: Map<string, SealingKey>;
  readonly sealingIds: string;
  /**
   * Values opened before, so that a catalogue reload after one change opens
   * one value, not all of them again (an AES-GCM open costs ~6 µs here: 1,000
   * destinations took 13-17 ms to load instead of 2-4 ms without it). They are
   * the same plaintexts the loaded catalogue holds in memory anyway.
   */
  private readonly opened = new Map<string, { aad: string; plaintext: string }>();

  private constructor(readonly sealing: readonly SealingKey[], opening: readonly SealingKey[]) {
    this.byId = new Map([...sealing, ...opening].map((key) => [key.id, key]));
    this.sealingIds = sealing.map((key) => key.id).join(",");
  }

  /**
   * The keyring of a running Herald: values are sealed under the current key,
   * and while a previous key is configured under it too, so that instances not
   * yet restarted on the new key still read them.
   */
  static of(current: SealingKey, previous: SealingKey | null = null): Keyring {
    const keys = previous && previous.id !== current.id ? [current, previous] : [current];
    return new Keyring(keys, keys);
  }

  /** `herald rekey`'s: seals under `next` and this keyring's current key (running instances still read), opens with all. */
  toward(next: SealingKey): Keyring {
    const current = this.sealing[0]!;
    return new Keyring(next.id === current.id ? [next] : [next, current], [...this.byId.values()]);
  }

  get currentId(): string {
    return this.sealing[0]!.id;
  }

  /**
   * Keys for another use, derived from the sealing keys (HKDF-SHA256, `purpose`
   * as its info), current first: every instance holding the same keys derives
   * the same ones, and the sealing keys themselves never leave this file.
   */
  derive(purpose: string): Buffer[] {
    return this.sealing.map((key) => Buffer.from(hkdfSync("sha256", key.bytes, Buffer.alloc(0), `herald ${purpose}`, KEY_BYTES)));
  }

  /** Every key id this keyring opens with, for errors. */
  get ids(): string[] {
    return [...this.byId.keys()];
  }

  seal(plaintext: string, aad: string): string {
    return PREFIX + this.sealing.map((key) => `${key.id}:${encrypt(key, plaintext, aad).toString("base64")}`).join(",");
  }

  /** The plaintext of a sealed value (or the value itself, when it is plaintext from before sealing). */
  open(value: string, aad: string, what: string): string {
    if (!value.startsWith(PREFIX)) return value;
    // Bound to the associated data too: the same sealed text under another row's id must still fail.
    const known = this.opened.get(value);
    if (known !== undefined && known.aad === aad) return known.plaintext;
    const parts = parseParts(value);
    for (const [id, box] of parts) {
      const key = this.byId.get(id);
      if (!key) continue;
      const plaintext = decrypt(key, box, aad);
      if (plaintext === null) throw new SealingError(`${what} does not open with key id ${id}: it was altered, or copied from another row`);
      if (this.opened.size >= OPENED_MAX) this.opened.clear();
      this.opened.set(value, { aad, plaintext });
      return plaintext;
    }
    throw mismatch(parts.map(([id]) => id), this.ids);
  }

  /** Whether the value is exactly as this keyring would seal it now: under its sealing keys, in order (else a start seals it again). */
  isSealedAsNow(value: string): boolean {
    return value.startsWith(PREFIX) && parseParts(value).map(([id]) => id).join(",") === this.sealingIds;
  }
}

/** The error for a database sealed under keys this Herald does not hold. */
export function mismatch(sealedWith: readonly string[], held: readonly string[]): SealingError {
  return new SealingError(
    `the encryption key does not match the one the database was sealed with (key id ${sealedWith.join(" or ")}; ` +
      `this Herald holds key id ${held.join(" and ")}). Set HERALD_ENCRYPTION_KEY or storage.encryption_key_file to that key`,
  );
}

/** The key ids a sealed value names, null for plaintext. */
export function sealedWith(value: string): string[] | null {
  return value.startsWith(PREFIX) ? parseParts(value).map(([id]) => id) : null;
}

function parseParts(value: string): [string, Buffer][] {
  return value
    .slice(PREFIX.length)
    .split(",")
    .map((part) => {
      const colon = part.indexOf(":");
      return [part.slice(0, colon), Buffer.from(part.slice(colon + 1), "base64")];
    });
}

function encrypt(key: SealingKey, plaintext: string, aad: string): Buffer {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key.bytes, nonce);
  cipher.setAAD(Buffer.from(aad));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Null when the tag does not verify: a wrong key, another row's value, or altered bytes. Never garbage. */
function decrypt(key: SealingKey, box: Buffer, aad: string): string | null {
  if (box.length < NONCE_BYTES + TAG_BYTES) return null;
  const decipher = createDecipheriv("aes-256-gcm", key.bytes, box.subarray(0, NONCE_BYTES));
  decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(box.subarray(box.length - TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(box.subarray(NONCE_BYTES, box.length - TAG_BYTES)), decipher.final()]).toString("utf8");
  } catch {
    return null;
  }
}

// ── what is sealed ────────────────────────────────────────────────────────

/** The sealed columns of a destinations row, each bound to its row and column. */
type SealedColumn = "secrets" | "headers" | "client_tls";
const aadOf = (id: string, column: SealedColumn) => `herald/destinations/${id}/${column}`;

/** A destinations row's sealed columns as stored: the client certificate (mutual TLS) is null when there is none. */
export interface SealedColumns {
  secrets: string;
  headers: string;
  client_tls: string | null;
}

/**
 * The `secrets`, `headers` and `client_tls` columns of a destination, sealed
 * (a client certificate's private key is as secret as a signing secret).
 */
export function sealDestination(keyring: Keyring, d: Pick<Destination, "id" | "secrets" | "headers" | "client_tls">): SealedColumns {
  return {
    secrets: keyring.seal(JSON.stringify(d.secrets), aadOf(d.id, "secrets")),
    headers: keyring.seal(JSON.stringify(d.headers), aadOf(d.id, "headers")),
    client_tls: d.client_tls ? keyring.seal(JSON.stringify(d.client_tls), aadOf(d.id, "client_tls")) : null,
  };
}

/** A destinations row's sealed columns, opened and parsed. */
export function openDestination(
  keyring: Keyring,
  row: { id: string } & SealedColumns,
): Pick<Destination, "secrets" | "headers" | "client_tls"> {
  return {
    secrets: JSON.parse(keyring.open(row.secrets, aadOf(row.id, "secrets"), `destination ${row.id}'s secrets`)),
    headers: JSON.parse(keyring.open(row.headers, aadOf(row.id, "headers"), `destination ${row.id}'s headers`)),
    client_tls: row.client_tls ? JSON.parse(keyring.open(row.client_tls, aadOf(row.id, "client_tls"), `destination ${row.id}'s client certificate`)) : null,
  };
}

/** Whether the row's columns are not sealed as this keyring seals now (plaintext, or under other keys). */
export function resealNeeded(keyring: Keyring, row: SealedColumns): boolean {
  return (
    !keyring.isSealedAsNow(row.secrets) || !keyring.isSealedAsNow(row.headers) || (row.client_tls !== null && !keyring.isSealedAsNow(row.client_tls))
  );
}

/** The row's columns sealed as this keyring seals now, or null when they already are. */
export function resealDestination(keyring: Keyring, row: { id: string } & SealedColumns): SealedColumns | null {
  if (!resealNeeded(keyring, row)) return null;
  return sealDestination(keyring, { id: row.id, ...openDestination(keyring, row) });
}

// ── the check value ───────────────────────────────────────────────────────

/**
 * A known text sealed under the keyring at first sealing and kept in the
 * database: a start with a key that does not open it stops with a clear error
 * before any row is read, however few destinations there are.
 */
const CHECK_TEXT = "herald sealing check";
const CHECK_AAD = "herald/sealing/check";

export function sealCheck(keyring: Keyring): string {
  return keyring.seal(CHECK_TEXT, CHECK_AAD);
}

/** Throws the mismatch error unless the keyring opens the stored check value. */
export function verifyCheck(keyring: Keyring, check: string): void {
  let text: string;
  try {
    text = keyring.open(check, CHECK_AAD, "the encryption check value");
  } catch (error) {
    if (error instanceof SealingError && check.startsWith(PREFIX)) throw mismatch(sealedWith(check) ?? [], keyring.ids);
    throw error;
  }
  if (text !== CHECK_TEXT) throw mismatch(sealedWith(check) ?? [], keyring.ids);
}
