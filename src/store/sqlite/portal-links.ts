// The SQLite store's portal link records (../portal-links.ts; table of migration 19).
import type { Database } from "bun:sqlite";
import type { PortalLinkRecord, PortalLinkStore } from "../portal-links.ts";
import type { AuditEntry, Page } from "../types.ts";
import { audited } from "./audit.ts";
import { ms, page } from "./sql.ts";

type Row = Record<string, any>;

const toLink = (row: Row): PortalLinkRecord => ({
  id: row.id, tenant: row.tenant, read_only: row.read_only === 1, created_at: row.created_at, expires_at: row.expires_at, revoked_at: row.revoked_at,
});

export class SqlitePortalLinks implements PortalLinkStore {
  constructor(private readonly db: Database) {}

  async create(link: PortalLinkRecord, audit: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () => this.db
      .query(
        `INSERT INTO portal_links (id, tenant, read_only, created_at, expires_at, revoked_at)
         VALUES ($id, $tenant, $read_only, $created_at, $expires_at, NULL) ON CONFLICT DO NOTHING`,
      )
      .run({ id: link.id, tenant: link.tenant, read_only: link.read_only ? 1 : 0, created_at: ms(link.created_at), expires_at: ms(link.expires_at) }).changes > 0);
  }

  async get(id: string): Promise<PortalLinkRecord | null> {
    const row = this.db.query("SELECT * FROM portal_links WHERE id = ?").get(id) as Row | null;
    return row ? toLink(row) : null;
  }

  async list(filter: { cursor?: string; limit: number }): Promise<Page<PortalLinkRecord>> {
    const rows = filter.cursor === undefined
      ? this.db.query(`SELECT * FROM portal_links ORDER BY id DESC LIMIT ${filter.limit + 1}`).all()
      : this.db.query(`SELECT * FROM portal_links WHERE id < ? ORDER BY id DESC LIMIT ${filter.limit + 1}`).all(filter.cursor);
    return page((rows as Row[]).map(toLink), filter.limit, (l) => l.id);
  }

  async revoke(id: string, now: number, audit: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () => this.db
      .query("UPDATE portal_links SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL")
      .run(ms(now), id).changes > 0);
  }

  async deleteExpired(now: number): Promise<number> {
    return this.db.query("DELETE FROM portal_links WHERE expires_at <= ?").run(ms(now)).changes;
  }
}
