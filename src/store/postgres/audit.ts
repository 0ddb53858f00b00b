// The audit log on PostgreSQL (store.ts: AuditStore; table of migration 7).
// `audited` is what the catalogue's writes go through, so a catalogue change
// and its entry commit in one transaction.
import type { SQL } from "bun";
import type { AuditStore } from "../store.ts";
import type { ActorType, AuditEntry, AuditFilter, Page } from "../types.ts";
import { guarded, limitOf, page, where } from "./query.ts";
import { num } from "./rows.ts";

export async function writeAudit(sql: SQL, e: AuditEntry): Promise<void> {
  await sql`INSERT INTO audit_log (id, at, actor_type, actor_name, action, resource_type, resource_id, tenant, changes, request_id)
    VALUES (${e.id}, ${Math.round(e.at)}, ${e.actor.type}, ${e.actor.name}, ${e.action}, ${e.resource.type}, ${e.resource.id},
      ${e.tenant}, ${JSON.stringify(e.changes)}, ${e.request_id})`;
}

/**
 * Runs a catalogue write on `sql` and, when `audit` is given and the write
 * changed a row (`wrote`; without it, a write changed one unless it answered
 * false: a keyed write answers whether it found its row, an upsert always
 * changes one), writes the entry in the same transaction (one
 * BEGIN/COMMIT more than the bare write; catalogue writes are rare). Without an
 * entry the write runs on the pool as before.
 */
export function audited<T>(sql: SQL, audit: AuditEntry | undefined, write: (q: SQL) => Promise<T>, wrote?: (result: T) => boolean): Promise<T> {
  if (!audit) return write(sql);
  return sql.begin(async (tx) => {
    const result = await write(tx);
    if (wrote ? wrote(result) : result !== false) await writeAudit(tx, audit);
    return result;
  }) as Promise<T>;
}

function toAuditEntry(r: Record<string, unknown>): AuditEntry {
  return {
    id: r.id as string, at: num(r.at), actor: { type: r.actor_type as ActorType, name: r.actor_name as string },
    action: r.action as string, resource: { type: r.resource_type as string, id: r.resource_id as string },
    tenant: (r.tenant as string | null) ?? null, changes: JSON.parse(r.changes as string), request_id: (r.request_id as string | null) ?? null,
  };
}

export class PostgresAudit implements AuditStore {
  constructor(private readonly sql: SQL) {}

  record(entry: AuditEntry): Promise<void> {
    return guarded(() => writeAudit(this.sql, entry));
  }

  list(filter: AuditFilter): Promise<Page<AuditEntry>> {
    const { clause, values } = where([
      ["tenant = ?", filter.tenant],
      ["resource_type = ?", filter.resource_type],
      ["resource_id = ?", filter.resource_id],
      ["actor_name = ?", filter.actor],
      ["action = ?", filter.action],
      ["at >= ?", filter.since === undefined ? undefined : Math.round(filter.since)],
      ["at < ?", filter.until === undefined ? undefined : Math.round(filter.until)],
      ["id < ?", filter.cursor],
    ]);
    return guarded(async () => {
      const rows = await this.sql.unsafe(`SELECT * FROM audit_log ${clause} ORDER BY id DESC LIMIT ${limitOf(filter.limit)}`, values);
      return page(rows.map(toAuditEntry), filter.limit, (e) => e.id);
    });
  }

  deleteBefore(cutoff: number): Promise<number> {
    return guarded(async () => (await this.sql`DELETE FROM audit_log WHERE at < ${Math.round(cutoff)}`).count);
  }
}
