// The catalogue on PostgreSQL: event types, destinations, subscriptions. The
// version is raised by the triggers of migration 1 in the transaction of each
// write that changes a row, so no method here bumps it by hand (and none can forget).
// A write given an audit entry writes it in its own transaction (audit.ts: audited).
import type { SQL } from "bun";
import type { Keyring } from "../sealing.ts";
import type { CatalogStore } from "../store.ts";
import type { AuditEntry, CatalogSnapshot, Destination, EventType, Page, Subscription, SubscriptionCreated } from "../types.ts";
import { audited, writeAudit } from "./audit.ts";
import { guarded, limitOf, page, sqlState, where } from "./query.ts";
import {
  destinationRow, eventTypeRow, num, subscriptionRow, toDestination, toEventType, toSubscription,
} from "./rows.ts";

const EVENT_TYPE_COLUMNS = ["name", "description", "schema", "example", "tenants", "managed_by", "created_at", "updated_at"] as const;
const DESTINATION_COLUMNS = [
  "id", "tenant", "url", "description", "secrets", "headers", "client_tls", "timeout_ms", "rate_limit", "max_in_flight", "ordered", "enabled",
  "disabled_reason", "metadata", "failing_since", "managed_by", "created_at", "updated_at",
] as const;
const SUBSCRIPTION_COLUMNS = [
  "id", "destination_id", "tenant", "event_types", "filter", "enabled", "description", "managed_by", "created_at", "updated_at",
] as const;

export class PostgresCatalog implements CatalogStore {
  constructor(
    private readonly sql: SQL,
    /** Opens and seals the destinations' secrets and headers (../sealing.ts). */
    private readonly keyring: Keyring,
  ) {}

  private readonly toDestination = (row: Record<string, any>): Destination => toDestination(row, this.keyring);

  version(): Promise<number> {
    return guarded(async () => num((await this.sql`SELECT version FROM catalog_version WHERE id = 1`)[0].version));
  }

  /**
   * One REPEATABLE READ transaction: every read sees the same snapshot, so the
   * version is never newer than the rows read with it.
   */
  load(): Promise<CatalogSnapshot> {
    return guarded(() =>
      this.sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
        const [version] = await tx`SELECT version FROM catalog_version WHERE id = 1`;
        const types = await tx`SELECT * FROM event_types ORDER BY name`;
        const destinations = await tx`SELECT * FROM destinations ORDER BY id`;
        const subscriptions = await tx`SELECT * FROM subscriptions ORDER BY id`;
        return {
          version: num(version.version),
          event_types: types.map(toEventType),
          destinations: destinations.map(this.toDestination),
          subscriptions: subscriptions.map(toSubscription),
        };
      }),
    );
  }

  // ── event types ──────────────────────────────────────────────────────────

  listEventTypes(): Promise<EventType[]> {
    return guarded(async () => (await this.sql`SELECT * FROM event_types ORDER BY name`).map(toEventType));
  }

  getEventType(name: string): Promise<EventType | null> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT * FROM event_types WHERE name = ${name}`;
      return row ? toEventType(row) : null;
    });
  }

  createEventType(t: EventType, audit?: AuditEntry): Promise<boolean> {
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        const result = await sql`INSERT INTO event_types ${sql(eventTypeRow(t), ...EVENT_TYPE_COLUMNS)} ON CONFLICT (name) DO NOTHING`;
        return result.count > 0;
      }),
    );
  }

  updateEventType(t: EventType, audit?: AuditEntry): Promise<boolean> {
    const r = eventTypeRow(t);
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        const result = await sql`UPDATE event_types SET description = ${r.description}, schema = ${r.schema},
            example = ${r.example}, tenants = ${r.tenants}, managed_by = ${r.managed_by}, updated_at = ${r.updated_at}
          WHERE name = ${r.name}`;
        return result.count > 0;
      }),
    );
  }

  upsertEventType(t: EventType, audit?: AuditEntry): Promise<void> {
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        await sql`INSERT INTO event_types ${sql(eventTypeRow(t), ...EVENT_TYPE_COLUMNS)}
          ON CONFLICT (name) DO UPDATE SET description = excluded.description, schema = excluded.schema,
            example = excluded.example, tenants = excluded.tenants, managed_by = excluded.managed_by, updated_at = excluded.updated_at`;
      }),
    );
  }

  deleteEventType(name: string, audit?: AuditEntry): Promise<boolean> {
    return guarded(() => audited(this.sql, audit, async (sql) => (await sql`DELETE FROM event_types WHERE name = ${name}`).count > 0));
  }

  // ── destinations ─────────────────────────────────────────────────────────

  listDestinations(filter: { tenant?: string; cursor?: string; limit: number }): Promise<Page<Destination>> {
    const { clause, values } = where([
      ["tenant = ?", filter.tenant],
      ["id > ?", filter.cursor],
    ]);
    return guarded(async () => {
      const rows = await this.sql.unsafe(`SELECT * FROM destinations ${clause} ORDER BY id LIMIT ${limitOf(filter.limit)}`, values);
      return page(rows.map(this.toDestination), filter.limit, (d) => d.id);
    });
  }

  allDestinations(): Promise<Destination[]> {
    return guarded(async () => (await this.sql`SELECT * FROM destinations ORDER BY id`).map(this.toDestination));
  }

  getDestination(id: string): Promise<Destination | null> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT * FROM destinations WHERE id = ${id}`;
      return row ? this.toDestination(row) : null;
    });
  }

  createDestination(d: Destination, audit?: AuditEntry): Promise<boolean> {
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        const result = await sql`INSERT INTO destinations ${sql(destinationRow(d, this.keyring), ...DESTINATION_COLUMNS)} ON CONFLICT (id) DO NOTHING`;
        return result.count > 0;
      }),
    );
  }

  updateDestination(d: Destination, audit?: AuditEntry): Promise<boolean> {
    const r = destinationRow(d, this.keyring);
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        const result = await sql`UPDATE destinations SET tenant = ${r.tenant}, url = ${r.url}, description = ${r.description},
            secrets = ${r.secrets}, headers = ${r.headers}, client_tls = ${r.client_tls}, timeout_ms = ${r.timeout_ms}, rate_limit = ${r.rate_limit},
            max_in_flight = ${r.max_in_flight}, ordered = ${r.ordered}, enabled = ${r.enabled}, disabled_reason = ${r.disabled_reason}, metadata = ${r.metadata},
            failing_since = ${r.failing_since}, managed_by = ${r.managed_by}, updated_at = ${r.updated_at}
          WHERE id = ${r.id}`;
        return result.count > 0;
      }),
    );
  }

  saveDestination(d: Destination, audit?: AuditEntry): Promise<void> {
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        await sql`INSERT INTO destinations ${sql(destinationRow(d, this.keyring), ...DESTINATION_COLUMNS)}
          ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, url = excluded.url,
            description = excluded.description, secrets = excluded.secrets, headers = excluded.headers,
            client_tls = excluded.client_tls, timeout_ms = excluded.timeout_ms, rate_limit = excluded.rate_limit,
            max_in_flight = excluded.max_in_flight, ordered = excluded.ordered, enabled = excluded.enabled,
            disabled_reason = excluded.disabled_reason, metadata = excluded.metadata,
            failing_since = excluded.failing_since, managed_by = excluded.managed_by, updated_at = excluded.updated_at`;
      }),
    );
  }

  /** Deletes a destination and (by the foreign key) its subscriptions; its unfinished deliveries are cancelled, never lost silently. */
  deleteDestination(id: string, now: number, audit?: AuditEntry): Promise<boolean> {
    const at = Math.round(now);
    return guarded(() =>
      this.sql.begin(async (tx) => {
        await tx`UPDATE deliveries SET status = 'cancelled', finalized_at = ${at}, updated_at = ${at}, next_attempt_at = NULL,
            lease_until = NULL, lease_owner = NULL, last_error = coalesce(last_error, 'destination deleted')
          WHERE destination_id = ${id} AND status IN ('pending', 'delivering')`;
        const deleted = (await tx`DELETE FROM destinations WHERE id = ${id}`).count > 0;
        if (deleted && audit) await writeAudit(tx, audit);
        return deleted;
      }),
    );
  }

  setDestinationEnabled(id: string, enabled: boolean, reason: string | null, now: number, audit?: AuditEntry): Promise<boolean> {
    return guarded(() => audited(this.sql, audit, async (sql) => (await setEnabled(sql, id, enabled, reason, now)) > 0));
  }

  /** Enabled destinations whose failures began at or before `cutoff`: candidates for disabling. */
  destinationsFailingSince(cutoff: number): Promise<Destination[]> {
    return guarded(async () =>
      (await this.sql`SELECT * FROM destinations WHERE enabled AND failing_since IS NOT NULL AND failing_since <= ${Math.round(cutoff)}`).map(this.toDestination),
    );
  }

  // ── subscriptions ────────────────────────────────────────────────────────

  listSubscriptions(filter: { tenant?: string; destination_id?: string; cursor?: string; limit: number }): Promise<Page<Subscription>> {
    const { clause, values } = where([
      ["tenant = ?", filter.tenant],
      ["destination_id = ?", filter.destination_id],
      ["id > ?", filter.cursor],
    ]);
    return guarded(async () => {
      const rows = await this.sql.unsafe(`SELECT * FROM subscriptions ${clause} ORDER BY id LIMIT ${limitOf(filter.limit)}`, values);
      return page(rows.map(toSubscription), filter.limit, (s) => s.id);
    });
  }

  allSubscriptions(): Promise<Subscription[]> {
    return guarded(async () => (await this.sql`SELECT * FROM subscriptions ORDER BY id`).map(toSubscription));
  }

  getSubscription(id: string): Promise<Subscription | null> {
    return guarded(async () => {
      const [row] = await this.sql`SELECT * FROM subscriptions WHERE id = ${id}`;
      return row ? toSubscription(row) : null;
    });
  }

  createSubscription(s: Subscription, audit?: AuditEntry): Promise<SubscriptionCreated> {
    return guarded(async () => {
      // Caught outside the transaction: a refused statement ends it, and it rolls back whole.
      try {
        return await audited(this.sql, audit, async (sql): Promise<SubscriptionCreated> => {
          const result = await sql`INSERT INTO subscriptions ${sql(subscriptionRow(s), ...SUBSCRIPTION_COLUMNS)} ON CONFLICT (id) DO NOTHING`;
          return result.count > 0 ? "created" : "taken";
        }, (result) => result === "created");
      } catch (error) {
        // 23503 foreign_key_violation: the destination was deleted after the caller read it.
        if (sqlState(error) === "23503") return "no_destination";
        throw error;
      }
    });
  }

  updateSubscription(s: Subscription, audit?: AuditEntry): Promise<boolean> {
    const r = subscriptionRow(s);
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        const result = await sql`UPDATE subscriptions SET destination_id = ${r.destination_id}, tenant = ${r.tenant},
            event_types = ${r.event_types}, filter = ${r.filter}, enabled = ${r.enabled}, description = ${r.description},
            managed_by = ${r.managed_by}, updated_at = ${r.updated_at}
          WHERE id = ${r.id}`;
        return result.count > 0;
      }),
    );
  }

  saveSubscription(s: Subscription, audit?: AuditEntry): Promise<void> {
    return guarded(() =>
      audited(this.sql, audit, async (sql) => {
        await sql`INSERT INTO subscriptions ${sql(subscriptionRow(s), ...SUBSCRIPTION_COLUMNS)}
          ON CONFLICT (id) DO UPDATE SET destination_id = excluded.destination_id, tenant = excluded.tenant,
            event_types = excluded.event_types, filter = excluded.filter, enabled = excluded.enabled,
            description = excluded.description, managed_by = excluded.managed_by, updated_at = excluded.updated_at`;
      }),
    );
  }

  deleteSubscription(id: string, audit?: AuditEntry): Promise<boolean> {
    return guarded(() => audited(this.sql, audit, async (sql) => (await sql`DELETE FROM subscriptions WHERE id = ${id}`).count > 0));
  }
}

/** Enables or disables a destination on `sql` (a pool or a transaction): the queue's 410 handling uses it too. */
export async function setEnabled(sql: SQL, id: string, enabled: boolean, reason: string | null, now: number): Promise<number> {
  const at = Math.round(now);
  const result = await sql`UPDATE destinations SET enabled = ${enabled}, disabled_reason = ${enabled ? null : reason}, updated_at = ${at},
      failing_since = CASE WHEN ${enabled}::boolean THEN NULL ELSE failing_since END
    WHERE id = ${id}`;
  return result.count;
}
