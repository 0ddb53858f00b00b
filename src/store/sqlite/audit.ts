// The SQLite store's audit log (store.ts: AuditStore; table of migration 14).
// `writeAudit` is also what the catalogue calls inside its own transactions, so
// a catalogue change and its entry commit together.
import type { Database } from "bun:sqlite";
import type { AuditStore } from "../store.ts";
import type { ActorType, AuditEntry, AuditFilter, Page } from "../types.ts";
import { conditions, ms, page } from "./sql.ts";

export function writeAudit(db: Database, e: AuditEntry): void {
  db.query(
    `INSERT INTO audit_log (id, at, actor_type, actor_name, action, resource_type, resource_id, tenant, changes, request_id)
     VALUES ($id, $at, $actor_type, $actor_name, $action, $resource_type, $resource_id, $tenant, $changes, $request_id)`,
  ).run({
    id: e.id, at: ms(e.at), actor_type: e.actor.type, actor_name: e.actor.name, action: e.action,
    resource_type: e.resource.type, resource_id: e.resource.id, tenant: e.tenant, changes: JSON.stringify(e.changes),
    request_id: e.request_id,
  });
}

/**
 * Runs a catalogue write and, when `audit` is given and the write changed a row
 * (`wrote`; without it, a write changed one unless it answered false: a keyed
 * write answers whether it found its row, an upsert always changes one), writes
 * the entry in the same transaction. Without an entry the write runs as before,
 * one statement on its own.
 */
export function audited<T>(db: Database, audit: AuditEntry | undefined, write: () => T, wrote?: (result: T) => boolean): T {
  if (!audit) return write();
  return db.transaction(() => {
    const result = write();
    if (wrote ? wrote(result) : result !== false) writeAudit(db, audit);
    return result;
  }).immediate();
}

interface AuditRow {
  id: string; at: number; actor_type: ActorType; actor_name: string; action: string; resource_type: string;
  resource_id: string; tenant: string | null; changes: string; request_id: string | null;
}

function toAuditEntry(r: AuditRow): AuditEntry {
  return {
    id: r.id, at: r.at, actor: { type: r.actor_type, name: r.actor_name }, action: r.action,
    resource: { type: r.resource_type, id: r.resource_id }, tenant: r.tenant, changes: JSON.parse(r.changes),
    request_id: r.request_id,
  };
}

export class SqliteAudit implements AuditStore {
  constructor(private readonly db: Database) {}

  async record(entry: AuditEntry): Promise<void> {
    writeAudit(this.db, entry);
  }

  async list(filter: AuditFilter): Promise<Page<AuditEntry>> {
    const { where, params } = conditions([
      ["tenant = $tenant", "tenant", filter.tenant],
      ["resource_type = $resource_type", "resource_type", filter.resource_type],
      ["resource_id = $resource_id", "resource_id", filter.resource_id],
      ["actor_name = $actor", "actor", filter.actor],
      ["action = $action", "action", filter.action],
      ["at >= $since", "since", filter.since === undefined ? undefined : ms(filter.since)],
      ["at < $until", "until", filter.until === undefined ? undefined : ms(filter.until)],
      ["id < $cursor", "cursor", filter.cursor],
    ]);
    const rows = this.db.query(`SELECT * FROM audit_log ${where} ORDER BY id DESC LIMIT ${filter.limit + 1}`).all(params) as AuditRow[];
    return page(rows.map(toAuditEntry), filter.limit, (e) => e.id);
  }

  async deleteBefore(cutoff: number): Promise<number> {
    return this.db.query("DELETE FROM audit_log WHERE at < ?").run(ms(cutoff)).changes;
  }
}
