// The PostgreSQL store's API keys (../api-keys.ts). Migration 9's trigger
// raises api_keys_version and notifies herald_keys in the transaction of each
// write that changes a key, so every instance hears of a revocation at commit.
import type { SQL } from "bun";
import type { ApiKey, ApiKeyStore } from "../api-keys.ts";
import { guarded } from "./query.ts";
import { num, numOrNull } from "./rows.ts";

type Row = Record<string, any>;

function toKey(row: Row): ApiKey {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    tenant: row.tenant,
    event_types: row.event_types === null ? null : JSON.parse(row.event_types),
    sha256: row.sha256,
    created_at: num(row.created_at),
    expires_at: numOrNull(row.expires_at),
    revoked_at: numOrNull(row.revoked_at),
    last_used_at: numOrNull(row.last_used_at),
  };
}

const at = (t: number | null) => (t === null ? null : Math.round(t));

export class PostgresApiKeys implements ApiKeyStore {
  constructor(private readonly sql: SQL) {}

  version(): Promise<number> {
    return guarded(async () => num((await this.sql`SELECT version FROM api_keys_version WHERE id = 1`)[0].version));
  }

  /** REPEATABLE READ: the version is never newer than the keys read with it. */
  load(): Promise<{ version: number; keys: ApiKey[] }> {
    return guarded(() =>
      this.sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
        const [version] = await tx`SELECT version FROM api_keys_version WHERE id = 1`;
        const keys = await tx`SELECT * FROM api_keys ORDER BY id`;
        return { version: num(version.version), keys: keys.map(toKey) };
      }),
    );
  }

  get(id: string): Promise<ApiKey | null> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT * FROM api_keys WHERE id = ${id}`;
      return row ? toKey(row) : null;
    });
  }

  findByHash(sha256: string): Promise<ApiKey | null> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT * FROM api_keys WHERE sha256 = ${sha256}`;
      return row ? toKey(row) : null;
    });
  }

  create(key: ApiKey): Promise<boolean> {
    return guarded(async () => {
      const result = await this.sql`INSERT INTO api_keys (id, name, role, tenant, event_types, sha256, created_at, expires_at, revoked_at, last_used_at)
        VALUES (${key.id}, ${key.name}, ${key.role}, ${key.tenant}, ${key.event_types === null ? null : JSON.stringify(key.event_types)},
          ${key.sha256}, ${at(key.created_at)}, ${at(key.expires_at)}, ${at(key.revoked_at)}, ${at(key.last_used_at)})
        ON CONFLICT DO NOTHING`;
      return result.count > 0;
    });
  }

  revoke(id: string, now: number): Promise<ApiKey | null> {
    return guarded(async () => {
      const [row] = await this.sql`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ${at(now)}) WHERE id = ${id} RETURNING *`;
      return row ? toKey(row) : null;
    });
  }

  touch(id: string, now: number, interval_ms: number): Promise<void> {
    return guarded(async () => {
      await this.sql`UPDATE api_keys SET last_used_at = ${at(now)}
        WHERE id = ${id} AND (last_used_at IS NULL OR last_used_at <= ${at(now - interval_ms)})`;
    });
  }
}
