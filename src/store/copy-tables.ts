// What `herald copy-store` copies, table by table: the columns both schemas
// share, the key a table is read in order of, and which columns are booleans
// (0/1 in SQLite, BOOLEAN in PostgreSQL). The SQLite reader and the PostgreSQL
// writer both follow this list, so a column added by a migration on both sides
// is added here once.

export interface CopyTable {
  name: string;
  columns: readonly string[];
  /** Read in this order, in chunks that start after the last key read (keyset paging: no OFFSET). */
  key: readonly string[];
  booleans: readonly string[];
}

/** A row on its way: its values in the table's `columns` order. */
export type CopyRow = (string | number | boolean | null)[];

/**
 * In the order they are written: the catalogue first, so that a Herald already
 * running on the target (which reloads when the catalogue version rises) never
 * sees a delivery whose destination it does not know. Not copied: instances,
 * the maintenance lease and the readiness probe's row, which belong to the
 * processes of one database and mean nothing in another.
 */
export const COPY_TABLES: readonly CopyTable[] = [
  {
    name: "event_types",
    columns: ["name", "description", "schema", "example", "tenants", "managed_by", "created_at", "updated_at"],
    key: ["name"],
    booleans: [],
  },
  {
    name: "destinations",
    columns: [
      "id", "tenant", "url", "description", "secrets", "headers", "timeout_ms", "rate_limit", "enabled",
      "disabled_reason", "metadata", "failing_since", "managed_by", "created_at", "updated_at",
      // The breaker (SQLite 10, PostgreSQL 3): an open breaker stays open in the copy.
      "consecutive_failures", "breaker_opened_at", "breaker_probe_at", "breaker_probe_started_at",
      // Per-destination limits (SQLite 12, PostgreSQL 5).
      "max_in_flight", "ordered",
      // A client certificate for mutual TLS (issue 14: SQLite 15, PostgreSQL 8).
      "client_tls",
    ],
    key: ["id"],
    booleans: ["enabled", "ordered"],
  },
  {
    name: "subscriptions",
    columns: ["id", "destination_id", "tenant", "event_types", "filter", "enabled", "description", "managed_by", "created_at", "updated_at"],
    key: ["id"],
    booleans: ["enabled"],
  },
  {
    name: "events",
    columns: ["id", "type", "tenant", "data", "created_at", "idempotency_key", "request_hash", "producer_id", "deliver_at"],
    key: ["id"],
    booleans: [],
  },
  {
    name: "deliveries",
    columns: [
      "id", "event_id", "destination_id", "subscription_id", "tenant", "event_type", "status", "attempts",
      "schedule_start", "next_attempt_at", "lease_until", "lease_owner", "last_status", "last_error", "created_at",
      "updated_at", "finalized_at",
      // Not parked (SQLite 21, PostgreSQL 16), nor destinations.park_state: the
      // target's trigger marks each held destination's rows to be parked, and its
      // first settle passes park them.
    ],
    key: ["id"],
    booleans: [],
  },
  {
    name: "attempts",
    columns: [
      "delivery_id", "number", "id", "started_at", "duration_ms", "request_url", "request_headers", "response_status",
      "response_headers", "response_body", "error",
      // The attempt's destination, for the health read (SQLite 20, PostgreSQL 13).
      "destination_id",
    ],
    key: ["delivery_id", "number"],
    booleans: [],
  },
  {
    // The audit log (SQLite 14, PostgreSQL 7): who changed what stays with the data it describes.
    name: "audit_log",
    columns: ["id", "at", "actor_type", "actor_name", "action", "resource_type", "resource_id", "tenant", "changes", "request_id"],
    key: ["id"],
    booleans: [],
  },
  {
    // API keys (SQLite 16, PostgreSQL 9): hashes only, revoked ones too.
    name: "api_keys",
    columns: ["id", "name", "role", "tenant", "event_types", "sha256", "created_at", "expires_at", "revoked_at", "last_used_at"],
    key: ["id"],
    booleans: [],
  },
  {
    // Portal link records (SQLite 19, PostgreSQL 12): a link stays revocable on the copy.
    name: "portal_links",
    columns: ["id", "tenant", "read_only", "created_at", "expires_at", "revoked_at"],
    key: ["id"],
    booleans: ["read_only"],
  },
  {
    name: "generated_tokens",
    columns: ["name", "sha256", "created_at"],
    key: ["name"],
    booleans: [],
  },
];

/** The copy will not run (not a Herald database, a non-empty target …): exit 1 with this message, nothing written. */
export class CopyRefused extends Error {
  override name = "CopyRefused";
}
