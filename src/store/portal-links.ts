// Customer portal links as the store keeps them: each issued link's record
// (never the link or its signature: the link is the credential, and it is
// answered once), so that an admin can list the links and revoke one. A link
// is accepted only while its record exists and is not revoked; retention
// removes the records of links past their expiry.
import type { AuditEntry, Page } from "./types.ts";

export interface PortalLinkRecord {
  /** The link's nonce (`plk_` + a UUIDv7: time-ordered), which its signed payload carries. */
  id: string;
  tenant: string;
  read_only: boolean;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export interface PortalLinkStore {
  /** Writes a new link's record with its audit entry, in one transaction; false when the id is taken (nothing written). */
  create(link: PortalLinkRecord, audit: AuditEntry): Promise<boolean>;
  /** One indexed read, on every request a link makes. */
  get(id: string): Promise<PortalLinkRecord | null>;
  /** Newest first (by id). */
  list(filter: { cursor?: string; limit: number }): Promise<Page<PortalLinkRecord>>;
  /**
   * Marks the link revoked at `now` unless it is already (or there is none),
   * with `audit` in the same transaction when this call revoked it; whether it did.
   */
  revoke(id: string, now: number, audit: AuditEntry): Promise<boolean>;
  /** Deletes the records of links expired at `now` (expires_at <= now: retention); how many. */
  deleteExpired(now: number): Promise<number>;
}
