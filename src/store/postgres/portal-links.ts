// The PostgreSQL store's portal link records (../portal-links.ts; table of migration 12).
import type { SQL } from "bun";
import type { PortalLinkRecord, PortalLinkStore } from "../portal-links.ts";
import type { AuditEntry, Page } from "../types.ts";
import { audited } from "./audit.ts";
import { guarded, limitOf, page } from "./query.ts";
import { num, numOrNull } from "./rows.ts";

type Row = Record<string, any>;

const toLink = (row: Row): PortalLinkRecord => ({
  id: row.id, tenant: row.tenant, read_only: row.read_only, created_at: num(row.created_at), expires_at: num(row.expires_at), revoked_at: numOrNull(row.revoked_at),
});

export class PostgresPortalLinks implements PortalLinkStore {
  constructor(private readonly sql: SQL) {}

  create(link: PortalLinkRecord, audit: AuditEntry): Promise<boolean> {
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        const result = await sql`INSERT INTO portal_links (id, tenant, read_only, created_at, expires_at, revoked_at)
          VALUES (${link.id}, ${link.tenant}, ${link.read_only}, ${Math.round(link.created_at)}, ${Math.round(link.expires_at)}, NULL)
          ON CONFLICT DO NOTHING`;
        return result.count > 0;
      }),
    );
  }

  get(id: string): Promise<PortalLinkRecord | null> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT * FROM portal_links WHERE id = ${id}`;
      return row ? toLink(row) : null;
    });
  }

  list(filter: { cursor?: string; limit: number }): Promise<Page<PortalLinkRecord>> {
    return guarded(async () => {
      const rows = filter.cursor === undefined
        ? await this.sql.unsafe(`SELECT * FROM portal_links ORDER BY id DESC LIMIT ${limitOf(filter.limit)}`)
        : await this.sql.unsafe(`SELECT * FROM portal_links WHERE id < $1 ORDER BY id DESC LIMIT ${limitOf(filter.limit)}`, [filter.cursor]);
      return page((rows as Row[]).map(toLink), filter.limit, (l) => l.id);
    });
  }

  revoke(id: string, now: number, audit: AuditEntry): Promise<boolean> {
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        const result = await sql`UPDATE portal_links SET revoked_at = ${Math.round(now)} WHERE id = ${id} AND revoked_at IS NULL`;
        return result.count > 0;
      }),
    );
  }

  deleteExpired(now: number): Promise<number> {
    return guarded(async () => (await this.sql`DELETE FROM portal_links WHERE expires_at <= ${Math.round(now)}`).count);
  }
}
