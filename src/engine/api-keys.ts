// API keys made through /v1/api-keys: issuing (the key's text is answered once
// and only its SHA-256 kept), revoking, and finding the key behind a presented
// hash on every request. Keys change rarely, so they are held in memory (hash →
// key) and reloaded when the store's key version moves: on a store that can
// tell other instances at once (PostgreSQL: NOTIFY herald_keys) the copy is
// trusted until told, with a version check every few seconds in case a
// notification was lost; on one that cannot (SQLite, whose file several
// processes may share) the version is read before every cached key is trusted.
import { randomBytes } from "node:crypto";
import type { ApiKey, ApiKeyStore, KeyRole } from "../store/api-keys.ts";
import { KEY_ROLES } from "../store/api-keys.ts";
import { newId } from "../store/ids.ts";
import { sha256Hex } from "../rules/hashing.ts";
import { EVENT_TYPE_PATTERN, ID } from "../config/fields.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import type { AuditLog, Caller } from "./audit.ts";
import { LatestRead } from "./latest-read.ts";
import { invalid, notFound, type ProblemDetail } from "./problem.ts";

export type { ApiKey, KeyRole } from "../store/api-keys.ts";

/** Every key's text starts so: a token without it is never looked up. */
export const KEY_PREFIX = "hrk_";
/** last_used_at is written at most this often per key, not on every request. */
export const TOUCH_INTERVAL_MS = 60_000;
/** With notifications, the version is still checked this often, in case one was lost. */
const NOTIFIED_TRUST_MS = 5_000;

export interface NewKey {
  name: string;
  role: KeyRole;
  tenant?: string;
  event_types?: string[];
  /** Milliseconds since the epoch; must be in the future. */
  expires_at?: number;
}

/** Whether a key may be used at `now`: neither revoked nor expired. */
export function isUsable(key: ApiKey, now: number): boolean {
  return key.revoked_at === null && (key.expires_at === null || key.expires_at > now);
}

export class ApiKeys {
  private byHash = new Map<string, ApiKey>();
  /** The key version the map was read at; -1 before the first load. */
  private version = -1;
  private checkedAt = Number.NEGATIVE_INFINITY;
  /** Told by another instance that keys changed: reload before trusting the map. */
  private stale = true;
  private readonly loads = new LatestRead();
  /** When this instance last wrote each key's last_used_at. */
  private readonly touched = new Map<string, number>();
  /** How long a checked version is trusted: 0 (check on every use) without notifications. */
  private readonly trust_ms: number;

  constructor(
    private readonly store: ApiKeyStore,
    private readonly deps: EngineDeps,
    notified: boolean,
    /** Issuing and revoking are management changes: each is written to the audit log. */
    private readonly audit: AuditLog,
  ) {
    this.trust_ms = notified ? NOTIFIED_TRUST_MS : 0;
  }

  /** Another instance made or revoked a key: reload now, and until then check before trusting the map. */
  changed(): void {
    this.stale = true;
    this.reload().catch((error) => this.deps.log.error("reloading the API keys failed", { error: errorMessage(error) }));
  }

  /**
   * The usable key whose SHA-256 (hex) this is, or null (unknown, revoked or
   * expired: the caller cannot tell which, and neither can the client). Looked
   * up by hash, so the time taken says nothing about any key's text.
   */
  async authenticate(sha256: string, now: number): Promise<ApiKey | null> {
    await this.fresh(now);
    let key = this.byHash.get(sha256) ?? null;
    // Made through another instance a moment ago, before its notification came:
    // one indexed read (an unknown token costs it too; failed tries are limited per address).
    if (!key && this.trust_ms > 0) {
      key = await this.store.findByHash(sha256);
      if (key) this.byHash.set(sha256, key);
    }
    if (!key || !isUsable(key, now)) return null;
    this.touch(key, now);
    return key;
  }

  /** Issues a key: its text is in the answer and nowhere else (its audit entry names it, never holds it). */
  async create(by: Caller, input: NewKey, now: number): Promise<{ key: string; record: ApiKey }> {
    checkNewKey(input, now);
    const text = KEY_PREFIX + randomBytes(32).toString("base64url");
    const record: ApiKey = {
      id: newId("key", now),
      name: input.name,
      role: input.role,
      tenant: input.tenant ?? null,
      event_types: input.event_types ?? null,
      sha256: sha256Hex(text),
      created_at: now,
      expires_at: input.expires_at ?? null,
      revoked_at: null,
      last_used_at: null,
    };
    // 256 random bits and a time-ordered id: a collision is not a case to handle, only to refuse.
    if (!(await this.store.create(record))) throw new Error("a new API key collided with an existing one");
    await this.reload();
    await this.audit.record(by, {
      action: "api_key.created",
      resource: { type: "api_key", id: record.id },
      tenant: record.tenant,
      changes: Object.fromEntries(
        (["name", "role", "tenant", "event_types", "expires_at"] as const).map((field) => [field, { from: null, to: record[field] }]),
      ),
    });
    return { key: text, record };
  }

  /** Every key made through the API, revoked ones included, read from the store (last_used_at as written). */
  async list(): Promise<ApiKey[]> {
    return (await this.store.load()).keys;
  }

  async get(id: string): Promise<ApiKey> {
    const key = await this.store.get(id);
    if (!key) throw notFound("API key", id);
    return key;
  }

  /** Revokes a key (kept, for the record); effective here at once, and on other instances as they hear of it. */
  async revoke(by: Caller, id: string, now: number): Promise<ApiKey> {
    const key = await this.store.revoke(id, now);
    if (!key) throw notFound("API key", id);
    await this.reload();
    await this.audit.record(by, {
      action: "api_key.revoked",
      resource: { type: "api_key", id: key.id },
      tenant: key.tenant,
      changes: { revoked_at: { from: null, to: key.revoked_at } },
    });
    return key;
  }

  private async fresh(now: number): Promise<void> {
    if (!this.stale && now - this.checkedAt < this.trust_ms) return;
    const version = await this.store.version();
    this.checkedAt = now;
    if (this.stale || version !== this.version) await this.reload();
  }

  /** Resolves once the map holds keys read after this call began (reloads may overlap: LatestRead). */
  private reload(): Promise<void> {
    return this.loads.run(
      () => {
        // Cleared before the read: a notification during it marks the map stale again.
        this.stale = false;
        return this.store.load();
      },
      ({ version, keys }) => {
        this.byHash = new Map(keys.map((k) => [k.sha256, k]));
        this.version = version;
      },
    );
  }

  private touch(key: ApiKey, now: number): void {
    const last = Math.max(this.touched.get(key.id) ?? Number.NEGATIVE_INFINITY, key.last_used_at ?? Number.NEGATIVE_INFINITY);
    if (now - last < TOUCH_INTERVAL_MS) return;
    this.touched.set(key.id, now);
    // Not awaited: the request does not wait for a bookkeeping write, and a failed one is only logged.
    this.store.touch(key.id, now, TOUCH_INTERVAL_MS).catch((error) =>
      this.deps.log.warn("noting an API key's last use failed", { key: key.id, error: errorMessage(error) }),
    );
  }
}

/** The rules between a new key's fields, each problem with its path. */
function checkNewKey(input: NewKey, now: number): void {
  const details: ProblemDetail[] = [];
  if (input.name.trim().length === 0 || input.name.length > 100) details.push({ path: "name", message: "must be 1 to 100 characters" });
  if (!KEY_ROLES.includes(input.role)) details.push({ path: "role", message: `must be one of ${KEY_ROLES.join(", ")}` });
  if (input.tenant !== undefined && !ID.test(input.tenant)) details.push({ path: "tenant", message: "must be 1 to 64 letters, digits, _ or -" });
  if (input.role === "tenant" && input.tenant === undefined) details.push({ path: "tenant", message: "is required when role is tenant" });
  if (input.role === "admin" && input.tenant !== undefined) {
    details.push({ path: "tenant", message: "is only for roles tenant, publisher and reader (an admin key sees every tenant)" });
  }
  if (input.event_types !== undefined) {
    if (input.role !== "publisher") details.push({ path: "event_types", message: "is only for role publisher (the event types it may publish)" });
    else if (input.event_types.length === 0) details.push({ path: "event_types", message: "must name at least one pattern (leave it out to allow every type)" });
    input.event_types.forEach((pattern, i) => {
      if (!EVENT_TYPE_PATTERN.test(pattern)) details.push({ path: `event_types[${i}]`, message: '"*", an event type name, or a name followed by ".*"' });
    });
  }
  if (input.expires_at !== undefined && input.expires_at <= now) details.push({ path: "expires_at", message: "must be in the future" });
  if (details.length) throw invalid("the API key is invalid", details);
}
