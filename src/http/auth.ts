// Bearer tokens: the config's tokens (kept only as their SHA-256, and compared
// against every one in constant time) and the API keys issued through
// /v1/api-keys (`hrk_…`, found by the hash of the presented text through the
// engine's cache), and customer portal links (`hpl_…`, signed and expiring,
// checked by the engine's PortalLinks against their revocable records). Either way a request
// gets a Principal: who it is, its role and the tenant it is limited to.
import { newToken } from "../rules/tokens.ts";
import { timingSafeEqual } from "node:crypto";
import type { Config } from "../config/schema.ts";
import { KEY_PREFIX, type ApiKeys, type KeyRole } from "../engine/api-keys.ts";
import { PORTAL_PREFIX, type PortalLinks } from "../engine/portal-links.ts";
import { sha256Bytes, sha256Hex } from "../rules/hashing.ts";

export type Role = KeyRole;

export interface Principal {
  /** `cfg_<name>` for a config token (or the generated one), the key's id for an API key. */
  id: string;
  name: string;
  /** A token from the config (or generated at first start), a key made through the API, or a portal link. */
  kind: "token" | "key" | "portal";
  role: Role;
  /** Set for tenant tokens, and for publishers and readers limited to one: everything they see and do is limited to it. */
  tenant: string | null;
  /** A publisher's event-type patterns; null: any type. */
  event_types: readonly string[] | null;
}

interface KnownToken extends Principal {
  hash: Buffer;
}

/** What /v1/api-keys lists for a config token: never its text or hash. */
export type ConfigTokenRecord = Omit<Principal, "kind">;

export class Authenticator {
  constructor(
    private readonly tokens: KnownToken[],
    private readonly keys: Pick<ApiKeys, "authenticate"> | null,
    private readonly portal: Pick<PortalLinks, "authenticate"> | null = null,
  ) {}

  /** The config's tokens, for listing (read-only). */
  configTokens(): ConfigTokenRecord[] {
    return this.tokens.map(({ id, name, role, tenant, event_types }) => ({ id, name, role, tenant, event_types }));
  }

  /**
   * The principal behind an Authorization header, or null (no token, unknown,
   * revoked or expired alike). `beforeStoreRead` is called just before a store
   * read (an API key's or a portal link's text), the one wait in here.
   */
  async authenticate(header: string | null | undefined, now: number, beforeStoreRead?: () => void): Promise<Principal | null> {
    const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
    if (!match) return null;
    const text = match[1]!;
    const presented = sha256Bytes(text);
    let found: KnownToken | null = null;
    // No early exit: the time taken does not depend on which token matched.
    for (const token of this.tokens) {
      if (timingSafeEqual(presented, token.hash) && !found) found = token;
    }
    if (found) return { id: found.id, name: found.name, kind: "token", role: found.role, tenant: found.tenant, event_types: found.event_types };
    if (text.startsWith(PORTAL_PREFIX)) {
      beforeStoreRead?.();
      return this.portalPrincipal(text, now);
    }
    // Only a key's text is looked up as a key: other tokens cost no store read.
    if (!this.keys || !text.startsWith(KEY_PREFIX)) return null;
    beforeStoreRead?.();
    const key = await this.keys.authenticate(presented.toString("hex"), now);
    if (!key) return null;
    return { id: key.id, name: key.name, kind: "key", role: key.role, tenant: key.tenant, event_types: key.event_types };
  }

  /**
   * A portal link's principal: what a tenant token may do (a reader's reads
   * when the link is read-only), within its tenant, named `portal:<tenant>`
   * (config token names cannot hold a colon, so no token is mistaken for it).
   */
  private async portalPrincipal(text: string, now: number): Promise<Principal | null> {
    const grant = await this.portal?.authenticate(text, now);
    if (!grant) return null;
    const name = `portal:${grant.tenant}`;
    return { id: name, name, kind: "portal", role: grant.read_only ? "reader" : "tenant", tenant: grant.tenant, event_types: null };
  }
}

/** Where the generated admin token's hash is kept (the store's admin part; HTTP names only what it uses). */
export interface GeneratedTokens {
  generatedTokenHashes(): Promise<string[]>;
  saveGeneratedToken(name: string, sha256: string, now: number): Promise<void>;
}

/**
 * Builds the token list from the config. With no token configured, Herald makes
 * an admin token on first start: `onGenerated` shows it once; only its hash is kept.
 */
export async function createAuthenticator(
  config: Config,
  saved: GeneratedTokens,
  keys: Pick<ApiKeys, "authenticate"> | null,
  now: number,
  onGenerated: (token: string) => void,
  portal: Pick<PortalLinks, "authenticate"> | null = null,
): Promise<Authenticator> {
  const configured: KnownToken[] = config.auth.tokens.map((t) => ({
    id: `cfg_${t.name}`,
    name: t.name,
    kind: "token",
    role: t.role,
    tenant: t.role === "admin" ? null : (t.tenant ?? null),
    event_types: t.role === "publisher" ? (t.event_types ?? null) : null,
    hash: t.token !== undefined ? sha256Bytes(t.token) : Buffer.from(t.token_sha256.toLowerCase(), "hex"),
  }));
  if (configured.length > 0) return new Authenticator(configured, keys, portal);
  let hashes = await saved.generatedTokenHashes();
  if (hashes.length === 0) {
    const token = newToken();
    await saved.saveGeneratedToken("admin", sha256Hex(token), now);
    onGenerated(token);
    hashes = await saved.generatedTokenHashes();
  }
  const generated = hashes.map((h): KnownToken => ({
    id: "cfg_admin", name: "admin", kind: "token", role: "admin", tenant: null, event_types: null, hash: Buffer.from(h, "hex"),
  }));
  return new Authenticator(generated, keys, portal);
}
