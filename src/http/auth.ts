// Bearer tokens: each configured token is kept only as its SHA-256, and a
// presented token is hashed and compared against every one in constant time.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Config } from "../config/schema.ts";
import { sha256Hex } from "../rules/hashing.ts";

export interface Principal {
  name: string;
  role: "admin" | "tenant";
  /** Set for tenant tokens: everything they see and do is limited to it. */
  tenant: string | null;
  /** What kind of credential it is, as the audit log names its actor: a config token unless said otherwise. */
  kind?: "token" | "key";
}

interface KnownToken extends Principal {
  hash: Buffer;
}

export class Authenticator {
  private readonly tokens: KnownToken[];

  constructor(tokens: KnownToken[]) {
    this.tokens = tokens;
  }

  /** The principal behind an Authorization header, or null. */
  authenticate(header: string | null | undefined): Principal | null {
    const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match) return null;
    const presented = createHash("sha256").update(match[1]!).digest();
    let found: KnownToken | null = null;
    // No early exit: the time taken does not depend on which token matched.
    for (const token of this.tokens) {
      if (timingSafeEqual(presented, token.hash) && !found) found = token;
    }
    return found ? { name: found.name, role: found.role, tenant: found.tenant } : null;
  }
}

/**
 * Builds the token list from the config. With no token configured, Herald makes
 * an admin token on first start: `onGenerated` shows it once; only its hash is kept.
 */
/** Where the generated admin token's hash is kept (the store's admin part; HTTP names only what it uses). */
export interface GeneratedTokens {
  generatedTokenHashes(): Promise<string[]>;
  saveGeneratedToken(name: string, sha256: string, now: number): Promise<void>;
}

export async function createAuthenticator(config: Config, saved: GeneratedTokens, now: number, onGenerated: (token: string) => void): Promise<Authenticator> {
  const configured = config.auth.tokens.map((t) => ({
    name: t.name,
    role: t.role,
    tenant: t.role === "tenant" ? t.tenant! : null,
    hash: Buffer.from(t.token !== undefined ? sha256Hex(t.token) : t.token_sha256.toLowerCase(), "hex"),
  }));
  if (configured.length > 0) return new Authenticator(configured);
  let hashes = await saved.generatedTokenHashes();
  if (hashes.length === 0) {
    const token = "hrld_" + randomBytes(32).toString("base64url");
    await saved.saveGeneratedToken("admin", sha256Hex(token), now);
    onGenerated(token);
    hashes = await saved.generatedTokenHashes();
  }
  return new Authenticator(hashes.map((h) => ({ name: "admin", role: "admin", tenant: null, hash: Buffer.from(h, "hex") })));
}
