// PostgreSQL's schema for Herald, as append-only migrations: each entry runs
// once, in order, in the transaction that open-time migration holds (migrate.ts).
// Never edit an entry that has shipped; add a new one.
//
// Choices, and why:
// - Times are BIGINT milliseconds, as in SQLite: the records carry numbers, and
//   cursors and windows compare them directly (no time-zone questions).
// - JSON is TEXT, not JSONB: the event's data is signed and sent byte for byte
//   as the producer wrote it (EventForDelivery.data_json); JSONB would reorder
//   keys, drop duplicate ones and re-print numbers. Nothing queries inside it.
// - Booleans are BOOLEAN; counters and HTTP statuses INTEGER.
// - deliveries has no foreign key to events or destinations, like SQLite: a
//   publish that races a destination's deletion is cancelled later (cancelOrphan),
//   and the hot insert pays no lookups.
// - Every TEXT column is COLLATE "C" (migration 17; new ones must say so, and
//   test/store/postgres.test.ts checks): ids, tenants and names compare as
//   bytes, as in SQLite, whatever the database's collation. Under a language
//   collation (en_US.UTF-8, the usual default) every index comparison went
//   through the locale's rules: PostgreSQL's CPU per delivery was ~1.5× the C
//   locale's (bench/README.md), and lists came out in another order than SQLite's.

/** `ALTER TABLE t ALTER COLUMN c TYPE TEXT COLLATE "C", …` for each table's columns (migration 17). */
function bytewise(tables: Record<string, string[]>): string {
  return Object.entries(tables)
    .map(([table, columns]) => `ALTER TABLE ${table} ${columns.map((c) => `ALTER COLUMN ${c} TYPE TEXT COLLATE "C"`).join(", ")};`)
    .join("\n");
}

export const PG_MIGRATIONS: readonly string[] = [
  // 1: the whole schema as of SQLite's migration 8.
  `
  CREATE TABLE event_types (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    schema      TEXT,
    example     TEXT,
    managed_by  TEXT NOT NULL CHECK (managed_by IN ('config', 'api')),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
  );

  CREATE TABLE destinations (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    secrets         TEXT NOT NULL,
    headers         TEXT NOT NULL DEFAULT '{}',
    timeout_ms      INTEGER,
    rate_limit      INTEGER,
    enabled         BOOLEAN NOT NULL,
    disabled_reason TEXT,
    metadata        TEXT NOT NULL DEFAULT '{}',
    failing_since   BIGINT,
    managed_by      TEXT NOT NULL CHECK (managed_by IN ('config', 'api')),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
  );
  CREATE INDEX destinations_tenant ON destinations (tenant, id);

  CREATE TABLE subscriptions (
    id             TEXT PRIMARY KEY,
    destination_id TEXT NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    tenant         TEXT NOT NULL,
    event_types    TEXT NOT NULL,
    filter         TEXT,
    enabled        BOOLEAN NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    managed_by     TEXT NOT NULL CHECK (managed_by IN ('config', 'api')),
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
  );
  CREATE INDEX subscriptions_destination ON subscriptions (destination_id);
  CREATE INDEX subscriptions_tenant ON subscriptions (tenant, id);

  -- Idempotency keys and producer ids are unique per tenant (DESIGN §4). The
  -- unique indexes, not a per-process cache, are what make a repeat return the
  -- original when two instances publish the same id at once.
  CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    tenant          TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    idempotency_key TEXT,
    request_hash    TEXT NOT NULL,
    producer_id     TEXT
  );
  CREATE UNIQUE INDEX events_idempotency ON events (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE UNIQUE INDEX events_producer_id ON events (tenant, producer_id) WHERE producer_id IS NOT NULL;
  CREATE INDEX events_created ON events (created_at);

  -- The job table. The CHECKs are the state machine of DESIGN §2.
  CREATE TABLE deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    destination_id  TEXT NOT NULL,
    subscription_id TEXT,
    tenant          TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivering', 'succeeded', 'failed', 'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    schedule_start  INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until     BIGINT,
    lease_owner     TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finalized_at    BIGINT,
    CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finalized_at IS NOT NULL)),
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL),
    CHECK (status <> 'delivering' OR lease_until IS NOT NULL)
  );
  -- Shaped like the claim: due pending rows in order (queue.ts: claimDue).
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
  -- Leased rows, for expiry and for the leases of dead instances.
  CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'delivering';
  CREATE INDEX deliveries_event ON deliveries (event_id);
  CREATE INDEX deliveries_destination ON deliveries (destination_id, id);
  -- The states a person looks for and that stay few; succeeded rows are found by id.
  CREATE INDEX deliveries_open ON deliveries (status, id) WHERE status IN ('pending', 'failed', 'cancelled');

  CREATE TABLE attempts (
    delivery_id      TEXT NOT NULL,
    number           INTEGER NOT NULL,
    id               TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    duration_ms      BIGINT NOT NULL,
    request_url      TEXT NOT NULL,
    request_headers  TEXT NOT NULL,
    response_status  INTEGER,
    response_headers TEXT,
    response_body    TEXT,
    error            TEXT,
    PRIMARY KEY (delivery_id, number)
  );

  CREATE TABLE generated_tokens (
    name       TEXT PRIMARY KEY,
    sha256     TEXT NOT NULL,
    created_at BIGINT NOT NULL
  );

  -- Written by the readiness probe: a write proves the server takes writes
  -- (not a read-only standby, not out of disk).
  CREATE TABLE store_probe (id INTEGER PRIMARY KEY, at BIGINT NOT NULL);

  -- The catalogue's version (DESIGN §7), raised by row-level triggers in the
  -- transaction of every write that changes a catalogue row. Row-level, not
  -- statement-level: an INSERT … ON CONFLICT DO NOTHING or an UPDATE that
  -- matches nothing changes no row and must not raise it. failing_since is
  -- delivery health written on the hot path (recordAttempt): writes of it alone
  -- do not bump. A migration that adds a column to destinations adds it to the
  -- UPDATE OF list below.
  CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
  );
  INSERT INTO catalog_version (id, version) VALUES (1, 1);

  CREATE FUNCTION herald_bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
  END $$;

  CREATE TRIGGER event_types_changed AFTER INSERT OR UPDATE OR DELETE ON event_types
    FOR EACH ROW EXECUTE FUNCTION herald_bump_catalog_version();
  CREATE TRIGGER destinations_written AFTER INSERT OR DELETE ON destinations
    FOR EACH ROW EXECUTE FUNCTION herald_bump_catalog_version();
  CREATE TRIGGER destinations_updated AFTER UPDATE OF id, tenant, url, description, secrets, headers, timeout_ms,
      rate_limit, enabled, disabled_reason, metadata, managed_by, created_at ON destinations
    FOR EACH ROW EXECUTE FUNCTION herald_bump_catalog_version();
  CREATE TRIGGER subscriptions_changed AFTER INSERT OR UPDATE OR DELETE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION herald_bump_catalog_version();

  -- Every live instance: a row, and a session-level advisory lock on lock_key
  -- held by a connection it reserves for as long as it runs (instances.ts). The
  -- lock is the proof of life: the server drops it when the session ends, however
  -- the process died. lock_key is drawn at random and unique here, so two
  -- instances never share a key (a hash of the id could collide).
  CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    lock_key     BIGINT UNIQUE,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
  );
  `,
  // 2: several instances at work. The maintenance that must run on one instance
  // only (auto-disable, retention) goes to the holder of this row's lease
  // (admin.ts: leadMaintenance). And news for the other instances, through
  // NOTIFY (signals.ts): herald_catalog when a catalogue row changed, herald_work
  // when a statement left due deliveries pending that nobody leased (a publish
  // past its instance's capacity, leases handed back, a re-queue), so an idle
  // instance claims them at once instead of at its next sweep. NOTIFY is sent at
  // commit, and the same notification made twice in one transaction is sent once.
  `
  CREATE TABLE maintenance_lease (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT,
    until BIGINT NOT NULL
  );
  INSERT INTO maintenance_lease (id, owner, until) VALUES (1, NULL, 0);

  CREATE OR REPLACE FUNCTION herald_bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE catalog_version SET version = version + 1 WHERE id = 1;
    PERFORM pg_notify('herald_catalog', '');
    RETURN NULL;
  END $$;

  CREATE FUNCTION herald_note_work() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF EXISTS (SELECT 1 FROM changed WHERE status = 'pending'
               AND next_attempt_at <= (extract(epoch FROM clock_timestamp()) * 1000)::bigint) THEN
      PERFORM pg_notify('herald_work', '');
    END IF;
    RETURN NULL;
  END $$;
  CREATE TRIGGER deliveries_inserted AFTER INSERT ON deliveries
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION herald_note_work();
  CREATE TRIGGER deliveries_updated AFTER UPDATE ON deliveries
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION herald_note_work();
  `,
  // 3: the circuit breaker (issue 13), as SQLite's migration 10: delivery
  // health per destination, shared by every instance (one probe per interval
  // between them: queue.ts claimDue moves breaker_probe_at in the claim's own
  // statement). Not in migration 1's UPDATE OF list: writes of these columns
  // never raise the catalogue version or notify herald_catalog.
  `
  ALTER TABLE destinations ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE destinations ADD COLUMN breaker_opened_at BIGINT;
  ALTER TABLE destinations ADD COLUMN breaker_probe_at BIGINT;
  ALTER TABLE destinations ADD COLUMN breaker_probe_started_at BIGINT;
  -- Every publish that leases asks which breakers are open (none, nearly always): an empty index answers.
  CREATE INDEX destinations_breaker_open ON destinations (id) WHERE breaker_opened_at IS NOT NULL;
  `,
  // 4 (issue 13, scheduled delivery): as SQLite's 11, the time a producer
  // asked an event's deliveries to be made. Nullable without a default, so
  // PostgreSQL changes only the catalogue, not the table's rows. Scheduled
  // deliveries are written pending and due later, so herald_note_work does not
  // announce them: each instance's sweep (or the publisher's own wake-up) finds them.
  `ALTER TABLE events ADD COLUMN deliver_at BIGINT;`,
  // 5 (issue 13): per-destination limits across instances, as SQLite's 12:
  // max_in_flight and ordered, counted in the claim (queue.ts: claimLimited)
  // under the destination row's lock, with leased and waiting rows indexed by
  // destination. The catalogue trigger is made again to include the new columns.
  `
  ALTER TABLE destinations ADD COLUMN max_in_flight INTEGER;
  ALTER TABLE destinations ADD COLUMN ordered BOOLEAN NOT NULL DEFAULT false;
  CREATE INDEX destinations_limited ON destinations (id) WHERE max_in_flight IS NOT NULL OR ordered;
  DROP TRIGGER destinations_updated ON destinations;
  CREATE TRIGGER destinations_updated AFTER UPDATE OF id, tenant, url, description, secrets, headers, timeout_ms,
      rate_limit, max_in_flight, ordered, enabled, disabled_reason, metadata, managed_by, created_at ON destinations
    FOR EACH ROW EXECUTE FUNCTION herald_bump_catalog_version();
  DROP INDEX deliveries_leased;
  CREATE INDEX deliveries_leased ON deliveries (destination_id, lease_until) WHERE status = 'delivering';
  CREATE INDEX deliveries_waiting ON deliveries (destination_id, id, next_attempt_at) WHERE status = 'pending';
  `,
  // 6 (issue 13, backfill): as SQLite's 13, backfill jobs (store.ts:
  // BackfillStore), leased to one instance at a time. Its chunks' deliveries
  // are inserted pending and due now, so herald_note_work tells the other
  // instances at commit, as for any publish past capacity.
  `
  CREATE TABLE backfill_jobs (
    id                 TEXT PRIMARY KEY,
    subscription_id    TEXT NOT NULL,
    destination_id     TEXT NOT NULL,
    tenant             TEXT NOT NULL,
    since              BIGINT NOT NULL,
    until              BIGINT NOT NULL,
    status             TEXT NOT NULL
      CHECK (status = 'running' OR status = 'completed' OR status = 'failed' OR status = 'cancelled'),
    cursor_at          BIGINT,
    cursor_id          TEXT,
    events_scanned     BIGINT NOT NULL DEFAULT 0,
    deliveries_created BIGINT NOT NULL DEFAULT 0,
    lease_owner        TEXT,
    lease_until        BIGINT,
    error              TEXT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    finished_at        BIGINT,
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK (status <> 'running' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK ((cursor_at IS NULL) = (cursor_id IS NULL)),
    CHECK (since < until)
  );
  -- The sweep's takeover looks only at running jobs; lists go by tenant or subscription, newest first.
  CREATE INDEX backfill_jobs_running ON backfill_jobs (lease_until) WHERE status = 'running';
  CREATE INDEX backfill_jobs_tenant ON backfill_jobs (tenant, id);
  CREATE INDEX backfill_jobs_subscription ON backfill_jobs (subscription_id, id);
  -- Retention deletes finished jobs by age.
  CREATE INDEX backfill_jobs_finished ON backfill_jobs (finished_at) WHERE finished_at IS NOT NULL;
  `,
  // 7 (issue 14, the audit log), as SQLite's 14.
  // `changes` is TEXT like every JSON column here (nothing queries inside it).
  `
  CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    at            BIGINT NOT NULL,
    actor_type    TEXT NOT NULL CHECK (actor_type IN ('token', 'key', 'config', 'herald')),
    actor_name    TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    tenant        TEXT,
    changes       TEXT NOT NULL DEFAULT '{}',
    request_id    TEXT
  );
  CREATE INDEX audit_log_tenant ON audit_log (tenant, id);
  CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, id);
  CREATE INDEX audit_log_at ON audit_log (at);
  `,
  // 8 (issue 14): as SQLite's 15, a destination's client certificate for mutual TLS, and the
  // catalogue trigger made again to include it.
  `
  ALTER TABLE destinations ADD COLUMN client_tls TEXT;
  DROP TRIGGER destinations_updated ON destinations;
  CREATE TRIGGER destinations_updated AFTER UPDATE OF id, tenant, url, description, secrets, headers, client_tls, timeout_ms,
      rate_limit, max_in_flight, ordered, enabled, disabled_reason, metadata, managed_by, created_at ON destinations
    FOR EACH ROW EXECUTE FUNCTION herald_bump_catalog_version();
  `,
  // 9 (issue 14, API keys): as SQLite's 16, keys kept only as their SHA-256,
  // and a version raised by every write that changes what a key may do (not
  // by last_used_at). Each such write also notifies herald_keys (signals.ts),
  // so every instance reloads its cached keys at once: a revoked key stops
  // working everywhere within the notification's delay.
  `
  CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'tenant', 'publisher', 'reader')),
    tenant       TEXT,
    event_types  TEXT,
    sha256       TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT,
    CHECK (role <> 'tenant' OR tenant IS NOT NULL),
    CHECK (role <> 'admin' OR tenant IS NULL),
    CHECK (event_types IS NULL OR role = 'publisher')
  );
  CREATE TABLE api_keys_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
  );
  INSERT INTO api_keys_version (id, version) VALUES (1, 1);
  CREATE FUNCTION herald_bump_keys_version() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE api_keys_version SET version = version + 1 WHERE id = 1;
    PERFORM pg_notify('herald_keys', '');
    RETURN NULL;
  END $$;
  CREATE TRIGGER api_keys_written AFTER INSERT OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION herald_bump_keys_version();
  CREATE TRIGGER api_keys_updated AFTER UPDATE OF id, name, role, tenant, event_types, sha256, created_at, expires_at, revoked_at ON api_keys
    FOR EACH ROW EXECUTE FUNCTION herald_bump_keys_version();
  `,
  // 10 (issue 14, secrets at rest).
  // The check value of sealing (store/sealing.ts), as in SQLite's 17.
  `
  CREATE TABLE sealing (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
  );
  `,
  // 11 (issue 15): as SQLite's 18, the tenants an event type is visible to
  // (JSON array; NULL: every tenant). The event_types trigger fires on any column.
  `ALTER TABLE event_types ADD COLUMN tenants TEXT;`,
  // 12 (issue 15): as SQLite's 19, each issued portal link's record, revocable one by one.
  `
  CREATE TABLE portal_links (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    read_only  BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
  );
  CREATE INDEX portal_links_expiry ON portal_links (expires_at);
  `,
  // 13 (issue 15): as SQLite's 20, each attempt names its destination and the
  // health read is a range of attempts_destination (destination_id, started_at).
  // Existing attempts are filled by one UPDATE … FROM deliveries (~38 s for
  // 1,000,000 attempts: bench/attempt-destination-migration.ts).
  `
  ALTER TABLE attempts ADD COLUMN destination_id TEXT;
  DROP INDEX IF EXISTS deliveries_touched;
  UPDATE attempts a SET destination_id = d.destination_id FROM deliveries d WHERE d.id = a.delivery_id;
  CREATE INDEX attempts_destination ON attempts (destination_id, started_at);
  `,
  // 14 (issue 17): herald_work only for due rows some instance could claim now.
  // Rows of a disabled destination wait until it is enabled, yet every publish
  // to one woke every instance into a claim that walked the whole waiting
  // backlog to find nothing (three instances publishing to a disabled
  // destination: the claim was running in half of pg_stat_activity's samples).
  // A deleted destination's rows still wake (the dispatcher cancels them).
  `
  CREATE OR REPLACE FUNCTION herald_note_work() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF EXISTS (SELECT 1 FROM changed c LEFT JOIN destinations x ON x.id = c.destination_id
               WHERE c.status = 'pending' AND (x.id IS NULL OR x.enabled)
                 AND c.next_attempt_at <= (extract(epoch FROM clock_timestamp()) * 1000)::bigint) THEN
      PERFORM pg_notify('herald_work', '');
    END IF;
    RETURN NULL;
  END $$;
  `,
  // 15 (issue 17): nor for the rows of a destination whose breaker is open:
  // publishes to it write pending rows due now (publish.ts: holdBackOpenBreakers),
  // and a breaker open through an outage is far commoner than a disabled
  // destination. Its probe is granted by breaker_probe_at, which the sweep finds.
  `
  CREATE OR REPLACE FUNCTION herald_note_work() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF EXISTS (SELECT 1 FROM changed c LEFT JOIN destinations x ON x.id = c.destination_id
               WHERE c.status = 'pending' AND (x.id IS NULL OR x.enabled AND x.breaker_opened_at IS NULL)
                 AND c.next_attempt_at <= (extract(epoch FROM clock_timestamp()) * 1000)::bigint) THEN
      PERFORM pg_notify('herald_work', '');
    END IF;
    RETURN NULL;
  END $$;
  `,
  // 16 (issue 17, parked rows): as SQLite's 21. A held destination's pending
  // rows (disabled, breaker open, max_in_flight, ordered) leave deliveries_due
  // for deliveries_parked, so the claim no longer walks past them; park_state
  // (0 unparked, 1 parked, 2 being parked, 3 being unparked) says where they go,
  // set by the trigger below in the transaction that changes what holds the
  // destination, and queue settleParking (parking.ts) moves them a chunk at a
  // time. Neither column is in the catalogue-version trigger's list. The rows of
  // destinations held at upgrade are left to the first settle passes.
  // herald_note_work is unchanged: a limited destination's parked rows are
  // still claimed (through deliveries_waiting), and the rows of disabled or
  // open-breaker destinations never woke anyone (migrations 14, 15).
  `
  ALTER TABLE deliveries ADD COLUMN parked BOOLEAN NOT NULL DEFAULT false;
  DROP INDEX deliveries_due;
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending' AND NOT parked;
  CREATE INDEX deliveries_parked ON deliveries (destination_id, next_attempt_at, id) WHERE status = 'pending' AND parked;
  ALTER TABLE destinations ADD COLUMN park_state SMALLINT NOT NULL DEFAULT 0 CHECK (park_state BETWEEN 0 AND 3);
  ALTER TABLE destinations ADD COLUMN park_cursor TEXT;
  CREATE INDEX destinations_parking ON destinations (id) WHERE park_state IN (1, 2);
  CREATE INDEX destinations_moving ON destinations (id) WHERE park_state IN (2, 3);
  CREATE FUNCTION herald_park_state() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF (NOT NEW.enabled OR NEW.breaker_opened_at IS NOT NULL OR NEW.max_in_flight IS NOT NULL OR NEW.ordered)
       <> (NEW.park_state IN (1, 2)) THEN
      NEW.park_state := CASE WHEN NEW.park_state IN (1, 2) THEN 3 ELSE 2 END;
      NEW.park_cursor := '';
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER destinations_park BEFORE INSERT OR UPDATE OF enabled, breaker_opened_at, max_in_flight, ordered ON destinations
    FOR EACH ROW EXECUTE FUNCTION herald_park_state();
  UPDATE destinations SET park_state = 2, park_cursor = ''
    WHERE NOT enabled OR breaker_opened_at IS NOT NULL OR max_in_flight IS NOT NULL OR ordered;
  `,
  // 17 (issue 17): every TEXT column compares as bytes (COLLATE "C"), see the
  // top of this file. Only the collation changes: no table is rewritten, each
  // index on these columns is rebuilt once (one ALTER TABLE a table). The two
  // triggers that name text columns in UPDATE OF are made again around it
  // (PostgreSQL will not change a column a trigger's definition names).
  `
  DROP TRIGGER destinations_updated ON destinations;
  DROP TRIGGER api_keys_updated ON api_keys;
  ${bytewise({
    event_types: ["name", "description", "schema", "example", "managed_by", "tenants"],
    destinations: ["id", "tenant", "url", "description", "secrets", "headers", "disabled_reason", "metadata", "managed_by", "client_tls", "park_cursor"],
    subscriptions: ["id", "destination_id", "tenant", "event_types", "filter", "description", "managed_by"],
    events: ["id", "type", "tenant", "data", "idempotency_key", "request_hash", "producer_id"],
    deliveries: ["id", "event_id", "destination_id", "subscription_id", "tenant", "event_type", "status", "lease_owner", "last_error"],
    attempts: ["delivery_id", "id", "request_url", "request_headers", "response_headers", "response_body", "error", "destination_id"],
    generated_tokens: ["name", "sha256"],
    instances: ["id"],
    maintenance_lease: ["owner"],
    sealing: ["check_value"],
    api_keys: ["id", "name", "role", "tenant", "event_types", "sha256"],
    audit_log: ["id", "actor_type", "actor_name", "action", "resource_type", "resource_id", "tenant", "changes", "request_id"],
    backfill_jobs: ["id", "subscription_id", "destination_id", "tenant", "status", "cursor_id", "lease_owner", "error"],
    portal_links: ["id", "tenant"],
  })}
  CREATE TRIGGER destinations_updated AFTER UPDATE OF id, tenant, url, description, secrets, headers, client_tls, timeout_ms,
      rate_limit, max_in_flight, ordered, enabled, disabled_reason, metadata, managed_by, created_at ON destinations
    FOR EACH ROW EXECUTE FUNCTION herald_bump_catalog_version();
  CREATE TRIGGER api_keys_updated AFTER UPDATE OF id, name, role, tenant, event_types, sha256, created_at, expires_at, revoked_at ON api_keys
    FOR EACH ROW EXECUTE FUNCTION herald_bump_keys_version();
  `,
];
