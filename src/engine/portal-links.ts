// Customer portal links: a signed, expiring credential that opens the console
// as one tenant (POST /v1/portal-links). The link is
// `hpl_<base64url(payload)>.<base64url(HMAC-SHA256)>`, the payload {tenant,
// read_only, exp, nonce} signed with a key derived from the sealing keys, so
// every instance sharing the database (and its key) accepts every other's
// links, and any change to the payload (a wider tenant, read_only dropped, a
// later expiry) breaks the signature. Each link's record (named by its nonce;
// never the link) is stored, so that an admin can list links and revoke one:
// a link is accepted only while its record is there and not revoked, read on
// every request, so a revocation holds on every instance from the next request.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { PortalLinkRecord, PortalLinkStore } from "../store/portal-links.ts";
import type { Page } from "../store/types.ts";
import { newId } from "../store/ids.ts";
import { ID } from "../config/fields.ts";
import { auditEntry, type Caller } from "./audit.ts";
import { invalid, notFound, type ProblemDetail } from "./problem.ts";

export type { PortalLinkRecord } from "../store/portal-links.ts";

/** Every link's credential starts so: only such a token is checked as one. */
export const PORTAL_PREFIX = "hpl_";
/** What the derived signing key is for (HKDF info): a new purpose gets a new key. */
export const PORTAL_KEY_PURPOSE = "portal links v1";
export const PORTAL_DEFAULT_MS = 3_600_000;
/** A week: long enough to put in an email, short enough that a leaked link nobody revokes dies on its own. */
export const PORTAL_MAX_MS = 7 * 86_400_000;
/** Far above any link Herald makes (~200 characters): a longer token is not parsed at all. */
const MAX_LENGTH = 1024;

/** What a valid link grants. */
export interface PortalGrant {
  tenant: string;
  read_only: boolean;
  /** Milliseconds since the epoch, on the engine's clock. */
  exp: number;
  /** `plk_` + a UUIDv7 (random, so two links made in the same millisecond differ): the link's record's id, and its name in the audit log. */
  nonce: string;
}

export interface NewPortalLink {
  tenant: string;
  expires_in_ms?: number;
  read_only?: boolean;
}

const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString("base64url");

export class PortalLinks {
  constructor(
    /** Signing keys, current first: links are signed with the first and accepted under any (a key change under way). */
    private readonly keys: readonly Buffer[],
    /** The links' records; creating and revoking one are management changes, written with their audit entries. */
    private readonly store: PortalLinkStore,
  ) {
    if (keys.length === 0) throw new Error("portal links need a signing key");
  }

  /**
   * Makes a link's credential. Its record and audit entry (tenant, read_only,
   * expires_at; never the credential) are written first, together: when they
   * cannot be, no link is made.
   */
  async create(by: Caller, input: NewPortalLink, now: number): Promise<{ token: string; grant: PortalGrant }> {
    const expiresIn = input.expires_in_ms ?? PORTAL_DEFAULT_MS;
    const details: ProblemDetail[] = [];
    if (!ID.test(input.tenant)) details.push({ path: "tenant", message: "must be 1 to 64 letters, digits, _ or -" });
    if (!(expiresIn >= 1_000 && expiresIn <= PORTAL_MAX_MS)) details.push({ path: "expires_in", message: "must be from 1s to 7d" });
    if (details.length) throw invalid("the portal link is invalid", details);
    const grant: PortalGrant = { tenant: input.tenant, read_only: input.read_only ?? false, exp: now + expiresIn, nonce: newId("plk", now) };
    const record: PortalLinkRecord = { id: grant.nonce, tenant: grant.tenant, read_only: grant.read_only, created_at: now, expires_at: grant.exp, revoked_at: null };
    const entry = auditEntry(by, {
      action: "portal_link.created",
      resource: { type: "portal_link", id: grant.nonce },
      tenant: grant.tenant,
      changes: { tenant: { from: null, to: grant.tenant }, read_only: { from: null, to: grant.read_only }, expires_at: { from: null, to: grant.exp } },
    }, now);
    // 74 random bits and the time: a collision is not a case to handle, only to refuse.
    if (!(await this.store.create(record, entry))) throw new Error("a new portal link collided with an existing one");
    const payload = PORTAL_PREFIX + b64(JSON.stringify(grant));
    return { token: `${payload}.${this.sign(this.keys[0]!, payload)}`, grant };
  }

  /**
   * What a presented link grants at `now`, or null: one `verify` refuses, or
   * whose record is gone (expired and removed, or made before links were
   * recorded) or revoked. Null alike, so the answer never says which.
   */
  async authenticate(text: string, now: number): Promise<PortalGrant | null> {
    const grant = this.verify(text, now);
    if (!grant) return null;
    const record = await this.store.get(grant.nonce);
    // Its tenant and read_only are the signed payload's: the signature already holds them to what was issued.
    if (!record || record.revoked_at !== null) return null;
    return grant;
  }

  /** The links' records, newest first (never the links). */
  list(filter: { cursor?: string; limit: number }): Promise<Page<PortalLinkRecord>> {
    return this.store.list(filter);
  }

  /**
   * Revokes a link: refused from the next request on, on every instance, with
   * any console session it opened (the session presents the link on each
   * request). Revoking a revoked link changes nothing and writes no second entry.
   */
  async revoke(by: Caller, id: string, now: number): Promise<void> {
    const record = await this.store.get(id);
    if (!record) throw notFound("portal link", id);
    const entry = auditEntry(by, {
      action: "portal_link.revoked",
      resource: { type: "portal_link", id },
      tenant: record.tenant,
      changes: { revoked_at: { from: null, to: now } },
    }, now);
    // False when it was revoked already, or its record was removed since the read: either way it is refused from now on.
    await this.store.revoke(id, now, entry);
  }

  /**
   * What a presented credential's signature grants, or null: not one of ours, altered in
   * any character, signed with a key not held, or expired at `now`. Its record is
   * not read here (authenticate does). The
   * signature is compared as text (its exact base64url), in constant time, so
   * no second spelling of the same bytes passes.
   */
  private verify(text: string, now: number): PortalGrant | null {
    if (!text.startsWith(PORTAL_PREFIX) || text.length > MAX_LENGTH) return null;
    const dot = text.indexOf(".");
    if (dot < 0 || text.indexOf(".", dot + 1) >= 0) return null;
    const payload = text.slice(0, dot);
    const presented = Buffer.from(text.slice(dot + 1));
    let signed = false;
    // Every key is tried, whichever matches: the time taken does not say which.
    for (const key of this.keys) {
      const expected = Buffer.from(this.sign(key, payload));
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) signed = true;
    }
    if (!signed) return null;
    const grant = parseGrant(payload.slice(PORTAL_PREFIX.length));
    // Signed by us, so well formed; checked anyway: a credential is never trusted further than it is read.
    if (!grant || grant.exp <= now) return null;
    return grant;
  }

  private sign(key: Buffer, payload: string): string {
    return createHmac("sha256", key).update(payload).digest("base64url");
  }
}

function parseGrant(encoded: string): PortalGrant | null {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(encoded, "base64url").toString("utf8"));
  } catch {
    return null;
  }
  const g = value as Partial<PortalGrant> | null;
  if (typeof g !== "object" || g === null) return null;
  if (typeof g.tenant !== "string" || !ID.test(g.tenant) || typeof g.read_only !== "boolean" || !Number.isSafeInteger(g.exp) || typeof g.nonce !== "string") return null;
  return { tenant: g.tenant, read_only: g.read_only, exp: g.exp!, nonce: g.nonce };
}
