// Hashes Herald compares: API tokens are known by their SHA-256 in hex, whether
// the config file checks two tokens for sameness or HTTP authenticates one.
import { createHash } from "node:crypto";

/** The SHA-256 of a text, as 64 lowercase hexadecimal digits. */
export const sha256Hex = (text: string): string => createHash("sha256").update(text).digest("hex");
