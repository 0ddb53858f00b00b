// The SQLite store's API keys (../api-keys.ts). Migration 16's triggers raise
// api_keys_version in the statement that changes a key, so every write here
// bumps it without saying so; last_used_at alone does not.
import type { Database } from "bun:sqlite";
import type { ApiKey, ApiKeyStore } from "../api-keys.ts";
import { ms } from "./sql.ts";

type Row = Record<string, any>;

function toKey(row: Row): ApiKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    tenant: row.tenant,
    event_types: row.event_types === null ? null : JSON.parse(row.event_types),
    sha256: row.sha256,
    created_at: row.created_at,
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
  };
}

export class SqliteApiKeys implements ApiKeyStore {
  constructor(private readonly db: Database) {}

  async version(): Promise<number> {
    return this.readVersion();
  }

  private readVersion(): number {
    return (this.db.query("SELECT version FROM api_keys_version WHERE id = 1").get() as { version: number }).version;
  }

  async load(): Promise<{ version: number; keys: ApiKey[] }> {
    return this.db.transaction(() => ({
      version: this.readVersion(),
      keys: this.db.query("SELECT * FROM api_keys ORDER BY id").all().map((r) => toKey(r as Row)),
    })).deferred();
  }

  async get(id: string): Promise<ApiKey | null> {
    const row = this.db.query("SELECT * FROM api_keys WHERE id = ?").get(id) as Row | null;
    return row ? toKey(row) : null;
  }

  async findByHash(sha256: string): Promise<ApiKey | null> {
    const row = this.db.query("SELECT * FROM api_keys WHERE sha256 = ?").get(sha256) as Row | null;
    return row ? toKey(row) : null;
  }

  async create(key: ApiKey): Promise<boolean> {
    return (
      this.db
        .query(
          `INSERT INTO api_keys (id, name, role, tenant, event_types, sha256, created_at, expires_at, revoked_at, last_used_at)
           VALUES ($id, $name, $role, $tenant, $event_types, $sha256, $created_at, $expires_at, $revoked_at, $last_used_at)
           ON CONFLICT DO NOTHING`,
        )
        .run({
          id: key.id,
          name: key.name,
          role: key.role,
          tenant: key.tenant,
          event_types: key.event_types === null ? null : JSON.stringify(key.event_types),
          sha256: key.sha256,
          created_at: ms(key.created_at),
          expires_at: key.expires_at === null ? null : ms(key.expires_at),
          revoked_at: key.revoked_at === null ? null : ms(key.revoked_at),
          last_used_at: key.last_used_at === null ? null : ms(key.last_used_at),
        }).changes > 0
    );
  }

  async revoke(id: string, now: number): Promise<ApiKey | null> {
    const row = this.db
      .query("UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $now) WHERE id = $id RETURNING *")
      .get({ id, now: ms(now) }) as Row | null;
    return row ? toKey(row) : null;
  }

  async touch(id: string, now: number, interval_ms: number): Promise<void> {
    this.db
      .query("UPDATE api_keys SET last_used_at = $now WHERE id = $id AND (last_used_at IS NULL OR last_used_at <= $before)")
      .run({ id, now: ms(now), before: ms(now - interval_ms) });
  }
}
