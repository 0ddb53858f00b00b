// API keys as the store keeps them (/v1/api-keys): each key only as the SHA-256
// of its text, found by that hash; revoked keys stay, for the record. Every
// write that changes what a key may do raises a version (one cheap read), so
// an instance caching the keys can tell when its copy is stale.

/** What a key may do (the HTTP layer's access table says where). */
export type KeyRole = "admin" | "tenant" | "publisher" | "reader";
export const KEY_ROLES: readonly KeyRole[] = ["admin", "tenant", "publisher", "reader"];

export interface ApiKey {
  /** `key_` + a UUIDv7: time-ordered. */
  id: string;
  name: string;
  role: KeyRole;
  /** Required for `tenant`; for `publisher` and `reader` an optional limit to one tenant; null for `admin`. */
  tenant: string | null;
  /** A publisher's event-type patterns (subscription syntax); null: any type. */
  event_types: string[] | null;
  /** Lower-case hex SHA-256 of the key's text; the key itself is never stored. */
  sha256: string;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  /** Written at most once a minute per key (touch), so it is at most that stale. */
  last_used_at: number | null;
}

export interface ApiKeyStore {
  /** Raised by every create, revoke or delete (not by touch): one indexed read. */
  version(): Promise<number>;
  /** Every key, revoked ones included, in id order, with the version read in the same snapshot. */
  load(): Promise<{ version: number; keys: ApiKey[] }>;
  get(id: string): Promise<ApiKey | null>;
  findByHash(sha256: string): Promise<ApiKey | null>;
  /** Inserts the key; false when its id or hash is taken (nothing written). */
  create(key: ApiKey): Promise<boolean>;
  /** Marks the key revoked at `now` unless it already is; the key as it now stands, or null when there is none. */
  revoke(id: string, now: number): Promise<ApiKey | null>;
  /**
   * Sets last_used_at to `now` unless it was set less than `interval_ms` ago:
   * whichever instance writes first in a minute, the others' writes change nothing.
   */
  touch(id: string, now: number, interval_ms: number): Promise<void>;
}
