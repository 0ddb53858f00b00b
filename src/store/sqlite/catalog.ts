// The SQLite store's catalogue: event types, destinations and subscriptions.
// Migration 7's triggers raise catalog_version in the statement that writes a
// row, so every write here bumps it in its own transaction without saying so.
// Catalogue writes are rare and run as short transactions of their own, with
// their audit entry when they are given one (audit.ts: audited).
import type { Database } from "bun:sqlite";
import type { Keyring } from "../sealing.ts";
import type { CatalogStore } from "../store.ts";
import type { AuditEntry, CatalogSnapshot, Destination, EventType, Page, Subscription, SubscriptionCreated } from "../types.ts";
import { audited } from "./audit.ts";
import { destinationParams, eventTypeParams, subscriptionParams, toDestination, toEventType, toSubscription } from "./rows.ts";
import { conditions, ms, page } from "./sql.ts";

// The INSERTs, shared by the creates (ON CONFLICT DO NOTHING) and the upserts.
const INSERT_EVENT_TYPE = `INSERT INTO event_types (name, description, schema, example, tenants, managed_by, created_at, updated_at)
  VALUES ($name, $description, $schema, $example, $tenants, $managed_by, $created_at, $updated_at)`;
const INSERT_DESTINATION = `INSERT INTO destinations (id, tenant, url, description, secrets, headers, client_tls, timeout_ms, rate_limit,
    max_in_flight, ordered, enabled, disabled_reason, metadata, failing_since, managed_by, created_at, updated_at)
  VALUES ($id, $tenant, $url, $description, $secrets, $headers, $client_tls, $timeout_ms, $rate_limit, $max_in_flight, $ordered, $enabled,
    $disabled_reason, $metadata, $failing_since, $managed_by, $created_at, $updated_at)`;
const INSERT_SUBSCRIPTION = `INSERT INTO subscriptions (id, destination_id, tenant, event_types, filter, enabled, description,
    managed_by, created_at, updated_at)
  VALUES ($id, $destination_id, $tenant, $event_types, $filter, $enabled, $description, $managed_by,
    $created_at, $updated_at)`;

const readVersion = (db: Database): number =>
  (db.query("SELECT version FROM catalog_version WHERE id = 1").get() as { version: number }).version;
const readEventTypes = (db: Database): EventType[] => db.query("SELECT * FROM event_types ORDER BY name").all().map(toEventType);
const readDestinations = (db: Database, keyring: Keyring): Destination[] =>
  db.query("SELECT * FROM destinations ORDER BY id").all().map((row) => toDestination(row, keyring));
const readSubscriptions = (db: Database): Subscription[] => db.query("SELECT * FROM subscriptions ORDER BY id").all().map(toSubscription);

/** Enables or disables a destination; also used inside the queue's attempt batches (auto-disable). */
export function setEnabled(db: Database, id: string, enabled: boolean, reason: string | null, now: number): boolean {
  return (
    db
      .query(
        `UPDATE destinations SET enabled = $enabled, disabled_reason = $reason, updated_at = $now,
           failing_since = CASE WHEN $enabled = 1 THEN NULL ELSE failing_since END
         WHERE id = $id`,
      )
      .run({ id, enabled: enabled ? 1 : 0, reason: enabled ? null : reason, now: ms(now) }).changes > 0
  );
}

export class SqliteCatalog implements CatalogStore {
  constructor(
    private readonly db: Database,
    /** Opens and seals the destinations' secrets and headers (../sealing.ts). */
    private readonly keyring: Keyring,
  ) {}

  async version(): Promise<number> {
    return readVersion(this.db);
  }

  /** One read transaction: the version comes from the same snapshot as the rows, never newer than they are. */
  async load(): Promise<CatalogSnapshot> {
    const db = this.db;
    return db.transaction(() => ({
      version: readVersion(db),
      event_types: readEventTypes(db),
      destinations: readDestinations(db, this.keyring),
      subscriptions: readSubscriptions(db),
    })).deferred();
  }

  // ── event types ──────────────────────────────────────────────────────────

  async listEventTypes(): Promise<EventType[]> {
    return readEventTypes(this.db);
  }

  async getEventType(name: string): Promise<EventType | null> {
    const row = this.db.query("SELECT * FROM event_types WHERE name = ?").get(name);
    return row ? toEventType(row) : null;
  }

  async createEventType(t: EventType, audit?: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () => this.db.query(`${INSERT_EVENT_TYPE} ON CONFLICT (name) DO NOTHING`).run(eventTypeParams(t)).changes > 0);
  }

  async updateEventType(t: EventType, audit?: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () =>
      this.db
        .query(
          `UPDATE event_types SET description = $description, schema = $schema, example = $example, tenants = $tenants,
             managed_by = $managed_by, updated_at = $updated_at
           WHERE name = $name`,
        )
        .run(eventTypeParams(t)).changes > 0,
    );
  }

  async upsertEventType(t: EventType, audit?: AuditEntry): Promise<void> {
    audited(this.db, audit, () => this.db
      .query(
        `${INSERT_EVENT_TYPE}
         ON CONFLICT (name) DO UPDATE SET description = excluded.description, schema = excluded.schema,
           example = excluded.example, tenants = excluded.tenants, managed_by = excluded.managed_by, updated_at = excluded.updated_at`,
      )
      .run(eventTypeParams(t)));
  }

  async deleteEventType(name: string, audit?: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () => this.db.query("DELETE FROM event_types WHERE name = ?").run(name).changes > 0);
  }

  // ── destinations ─────────────────────────────────────────────────────────

  async listDestinations(filter: { tenant?: string; cursor?: string; limit: number }): Promise<Page<Destination>> {
    const { where, params } = conditions([
      ["tenant = $tenant", "tenant", filter.tenant],
      ["id > $cursor", "cursor", filter.cursor],
    ]);
    const rows = this.db.query(`SELECT * FROM destinations ${where} ORDER BY id LIMIT ${filter.limit + 1}`).all(params);
    return page(rows.map((row) => toDestination(row, this.keyring)), filter.limit, (d) => d.id);
  }

  async allDestinations(): Promise<Destination[]> {
    return readDestinations(this.db, this.keyring);
  }

  async getDestination(id: string): Promise<Destination | null> {
    const row = this.db.query("SELECT * FROM destinations WHERE id = ?").get(id);
    return row ? toDestination(row, this.keyring) : null;
  }

  async createDestination(d: Destination, audit?: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () => this.db.query(`${INSERT_DESTINATION} ON CONFLICT (id) DO NOTHING`).run(destinationParams(d, this.keyring)).changes > 0);
  }

  async updateDestination(d: Destination, audit?: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () =>
      this.db
        .query(
          `UPDATE destinations SET tenant = $tenant, url = $url, description = $description, secrets = $secrets,
             headers = $headers, client_tls = $client_tls, timeout_ms = $timeout_ms, rate_limit = $rate_limit,
             max_in_flight = $max_in_flight, ordered = $ordered, enabled = $enabled,
             disabled_reason = $disabled_reason, metadata = $metadata, failing_since = $failing_since,
             managed_by = $managed_by, updated_at = $updated_at
           WHERE id = $id`,
        )
        .run(destinationParams(d, this.keyring)).changes > 0,
    );
  }

  /** Inserts or replaces a destination (keyed by id). */
  async saveDestination(d: Destination, audit?: AuditEntry): Promise<void> {
    audited(this.db, audit, () => this.db
      .query(
        `${INSERT_DESTINATION}
         ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, url = excluded.url,
           description = excluded.description, secrets = excluded.secrets, headers = excluded.headers,
           client_tls = excluded.client_tls, timeout_ms = excluded.timeout_ms, rate_limit = excluded.rate_limit,
           max_in_flight = excluded.max_in_flight, ordered = excluded.ordered, enabled = excluded.enabled,
           disabled_reason = excluded.disabled_reason, metadata = excluded.metadata,
           failing_since = excluded.failing_since, managed_by = excluded.managed_by, updated_at = excluded.updated_at`,
      )
      .run(destinationParams(d, this.keyring)));
  }

  /** Deletes a destination and its subscriptions; its unfinished deliveries are cancelled, never lost silently. */
  async deleteDestination(id: string, now: number, audit?: AuditEntry): Promise<boolean> {
    return this.db.transaction(() => {
      this.db
        .query(
          `UPDATE deliveries SET status = 'cancelled', finalized_at = $now, updated_at = $now, next_attempt_at = NULL,
             lease_until = NULL, lease_owner = NULL, last_error = coalesce(last_error, 'destination deleted')
           WHERE destination_id = $id AND status IN ('pending', 'delivering')`,
        )
        .run({ id, now: ms(now) });
      return audited(this.db, audit, () => this.db.query("DELETE FROM destinations WHERE id = ?").run(id).changes > 0);
    }).immediate();
  }

  async setDestinationEnabled(id: string, enabled: boolean, reason: string | null, now: number, audit?: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () => setEnabled(this.db, id, enabled, reason, now));
  }

  /** Enabled destinations whose failures began before `cutoff`: candidates for disabling. */
  async destinationsFailingSince(cutoff: number): Promise<Destination[]> {
    return this.db
      .query("SELECT * FROM destinations WHERE enabled = 1 AND failing_since IS NOT NULL AND failing_since <= ?")
      .all(ms(cutoff))
      .map((row) => toDestination(row, this.keyring));
  }

  // ── subscriptions ────────────────────────────────────────────────────────

  async listSubscriptions(filter: { tenant?: string; destination_id?: string; cursor?: string; limit: number }): Promise<Page<Subscription>> {
    const { where, params } = conditions([
      ["tenant = $tenant", "tenant", filter.tenant],
      ["destination_id = $destination_id", "destination_id", filter.destination_id],
      ["id > $cursor", "cursor", filter.cursor],
    ]);
    const rows = this.db.query(`SELECT * FROM subscriptions ${where} ORDER BY id LIMIT ${filter.limit + 1}`).all(params);
    return page(rows.map(toSubscription), filter.limit, (s) => s.id);
  }

  async allSubscriptions(): Promise<Subscription[]> {
    return readSubscriptions(this.db);
  }

  async getSubscription(id: string): Promise<Subscription | null> {
    const row = this.db.query("SELECT * FROM subscriptions WHERE id = ?").get(id);
    return row ? toSubscription(row) : null;
  }

  async createSubscription(s: Subscription, audit?: AuditEntry): Promise<SubscriptionCreated> {
    try {
      return audited(
        this.db,
        audit,
        () => (this.db.query(`${INSERT_SUBSCRIPTION} ON CONFLICT (id) DO NOTHING`).run(subscriptionParams(s)).changes > 0 ? "created" : "taken"),
        (result) => result === "created",
      );
    } catch (error) {
      // The destination was deleted after the caller read it: the foreign key refuses the row.
      if ((error as { code?: string }).code === "SQLITE_CONSTRAINT_FOREIGNKEY") return "no_destination";
      throw error;
    }
  }

  async updateSubscription(s: Subscription, audit?: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () =>
      this.db
        .query(
          `UPDATE subscriptions SET destination_id = $destination_id, tenant = $tenant, event_types = $event_types,
             filter = $filter, enabled = $enabled, description = $description, managed_by = $managed_by,
             updated_at = $updated_at
           WHERE id = $id`,
        )
        .run(subscriptionParams(s)).changes > 0,
    );
  }

  async saveSubscription(s: Subscription, audit?: AuditEntry): Promise<void> {
    audited(this.db, audit, () => this.db
      .query(
        `${INSERT_SUBSCRIPTION}
         ON CONFLICT (id) DO UPDATE SET destination_id = excluded.destination_id, tenant = excluded.tenant,
           event_types = excluded.event_types, filter = excluded.filter, enabled = excluded.enabled,
           description = excluded.description, managed_by = excluded.managed_by, updated_at = excluded.updated_at`,
      )
      .run(subscriptionParams(s)));
  }

  async deleteSubscription(id: string, audit?: AuditEntry): Promise<boolean> {
    return audited(this.db, audit, () => this.db.query("DELETE FROM subscriptions WHERE id = ?").run(id).changes > 0);
  }
}
