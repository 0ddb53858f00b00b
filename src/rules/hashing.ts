// Hashes Herald compares: API tokens are known by their SHA-256 in hex, whether
// the config file checks two tokens for sameness or HTTP authenticates one.

/**
 * The SHA-256 of a text's UTF-8 bytes. Bun's one-shot hash (~0.4 µs) rather
 * than node:crypto's createHash (~4 µs: the hasher object and its wrappers),
 * which every authenticated request paid (bench/README.md, issue 17).
 */
export const sha256Bytes = (text: string): Buffer => {
  const digest = Bun.SHA256.hash(text) as Uint8Array;
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
};

/** The SHA-256 of a text, as 64 lowercase hexadecimal digits. */
export const sha256Hex = (text: string): string => sha256Bytes(text).toString("hex");
