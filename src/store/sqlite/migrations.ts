// Versioned schema migrations, embedded in the binary as code. Each entry runs
// once, in order, inside a transaction; `PRAGMA user_version` records progress.

export const MIGRATIONS: readonly string[] = [
  // 1: the whole initial schema.
  `
  CREATE TABLE event_types (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    schema      TEXT,
    example     TEXT,
    managed_by  TEXT NOT NULL CHECK (managed_by IN ('config', 'api')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE destinations (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    secrets         TEXT NOT NULL,
    headers         TEXT NOT NULL DEFAULT '{}',
    timeout_ms      INTEGER,
    rate_limit      INTEGER,
    enabled         INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    disabled_reason TEXT,
    metadata        TEXT NOT NULL DEFAULT '{}',
    failing_since   INTEGER,
    managed_by      TEXT NOT NULL CHECK (managed_by IN ('config', 'api')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX destinations_tenant ON destinations (tenant, id);

  CREATE TABLE subscriptions (
    id             TEXT PRIMARY KEY,
    destination_id TEXT NOT NULL REFERENCES destinations (id) ON DELETE CASCADE,
    tenant         TEXT NOT NULL,
    event_types    TEXT NOT NULL,
    filter         TEXT,
    enabled        INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    description    TEXT NOT NULL DEFAULT '',
    managed_by     TEXT NOT NULL CHECK (managed_by IN ('config', 'api')),
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX subscriptions_destination ON subscriptions (destination_id);
  CREATE INDEX subscriptions_tenant ON subscriptions (tenant, id);

  CREATE TABLE events (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    tenant          TEXT NOT NULL,
    data            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    idempotency_key TEXT,
    request_hash    TEXT NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX events_idempotency ON events (tenant, idempotency_key) WHERE idempotency_key IS NOT NULL;
  CREATE INDEX events_created ON events (created_at);

  -- The job table. The CHECKs are the state machine of DESIGN §2: a final state
  -- has finalized_at, a pending row knows when it is due, a delivering row holds a lease.
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
    next_attempt_at INTEGER,
    lease_until     INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finalized_at    INTEGER,
    CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finalized_at IS NOT NULL)),
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL),
    CHECK (status <> 'delivering' OR lease_until IS NOT NULL)
  ) STRICT;
  -- Shaped like the claim query: due pending rows in order.
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
  CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'delivering';
  CREATE INDEX deliveries_event ON deliveries (event_id);
  CREATE INDEX deliveries_destination ON deliveries (destination_id, status, id);
  CREATE INDEX deliveries_status ON deliveries (status, id);

  CREATE TABLE attempts (
    id               TEXT PRIMARY KEY,
    delivery_id      TEXT NOT NULL,
    number           INTEGER NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    request_url      TEXT NOT NULL,
    request_headers  TEXT NOT NULL,
    response_status  INTEGER,
    response_headers TEXT,
    response_body    TEXT,
    error            TEXT
  ) STRICT;
  CREATE INDEX attempts_delivery ON attempts (delivery_id, number);

  -- Admin tokens Herald generated itself; only the SHA-256 of each is kept.
  CREATE TABLE generated_tokens (
    name       TEXT PRIMARY KEY,
    sha256     TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 2: deliveries by creation time, for the console's overview and /v1/stats.
  `CREATE INDEX deliveries_created ON deliveries (created_at);`,
  // 3: a cheaper hot path (bench/README.md). The deliveries table is rebuilt
  // because SQLite cannot change a CHECK in place: a CHECK with `IN (a, b, c)`
  // builds a temporary B-tree of the list each time a statement runs, so the
  // state machine's IN lists cost ~5 µs on every insert and every update of a
  // delivery (a third of either); the same rules are now written with OR.
  // Fewer index entries move when a delivery changes state: the destination
  // index no longer holds the status, and the status index keeps only the
  // states a person looks for and that stay few: pending, failed, cancelled
  // (delivering rows are found through deliveries_leased, succeeded ones by id).
  // Attempts are keyed by (delivery_id, number), their only access path, in
  // one B-tree instead of three.
  `
  CREATE TABLE deliveries_v3 (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL,
    destination_id  TEXT NOT NULL,
    subscription_id TEXT,
    tenant          TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    status          TEXT NOT NULL
      CHECK (status = 'pending' OR status = 'delivering' OR status = 'succeeded' OR status = 'failed' OR status = 'cancelled'),
    attempts        INTEGER NOT NULL DEFAULT 0,
    schedule_start  INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    lease_until     INTEGER,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    finalized_at    INTEGER,
    CHECK ((status = 'succeeded' OR status = 'failed' OR status = 'cancelled') = (finalized_at IS NOT NULL)),
    CHECK (status <> 'pending' OR next_attempt_at IS NOT NULL),
    CHECK (status <> 'delivering' OR lease_until IS NOT NULL)
  ) STRICT;
  INSERT INTO deliveries_v3 SELECT id, event_id, destination_id, subscription_id, tenant, event_type, status, attempts,
    schedule_start, next_attempt_at, lease_until, last_status, last_error, created_at, updated_at, finalized_at
    FROM deliveries;
  DROP TABLE deliveries;
  ALTER TABLE deliveries_v3 RENAME TO deliveries;
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
  CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE status = 'delivering';
  CREATE INDEX deliveries_event ON deliveries (event_id);
  CREATE INDEX deliveries_destination ON deliveries (destination_id, id);
  -- Written with OR, not IN: SQLite sees that status = 'failed' implies an OR of equalities, not an IN list.
  CREATE INDEX deliveries_open ON deliveries (status, id) WHERE status = 'pending' OR status = 'failed' OR status = 'cancelled';
  CREATE INDEX deliveries_created ON deliveries (created_at);

  CREATE TABLE attempts_v3 (
    delivery_id      TEXT NOT NULL,
    number           INTEGER NOT NULL,
    id               TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    duration_ms      INTEGER NOT NULL,
    request_url      TEXT NOT NULL,
    request_headers  TEXT NOT NULL,
    response_status  INTEGER,
    response_headers TEXT,
    response_body    TEXT,
    error            TEXT,
    PRIMARY KEY (delivery_id, number)
  ) STRICT, WITHOUT ROWID;
  -- Numbered by their order, so even a repeated number (never written by Herald) keeps its row.
  INSERT INTO attempts_v3 SELECT delivery_id, row_number() OVER (PARTITION BY delivery_id ORDER BY number, id), id,
    started_at, duration_ms, request_url, request_headers, response_status, response_headers, response_body, error
    FROM attempts;
  DROP TABLE attempts;
  ALTER TABLE attempts_v3 RENAME TO attempts;
  `,
  // 4: delivery ids are UUIDv7 made from the delivery's created_at, so they sort
  // by creation time and a time window is an id range (ids.ts: idFloor). The
  // created_at index repeated that order at ~1.5 µs per delivery written.
  `DROP INDEX deliveries_created;`,
  // 5: a producer-chosen event id belongs to its tenant (DESIGN §4), like an
  // Idempotency-Key. The stored id stays globally unique: it is the producer's
  // id when no other event holds it, else a generated one; producer_id keeps what
  // the producer sent. Events written before this migration have no producer_id
  // and are found by (id, tenant) instead, so no existing row changes. The index
  // holds only events published with an id: generated-id publishes pay nothing.
  `
  ALTER TABLE events ADD COLUMN producer_id TEXT;
  CREATE UNIQUE INDEX events_producer_id ON events (tenant, producer_id) WHERE producer_id IS NOT NULL;
  `,
  // 6: one row the readiness probe rewrites while writes fail (sqlite-store.ts:
  // probeWrite), so /readyz turns ready again once the store can commit.
  `CREATE TABLE store_probe (id INTEGER PRIMARY KEY, at INTEGER NOT NULL, filler BLOB) STRICT;`,
  // 7: the catalogue's version (DESIGN §7): one row that every write to event
  // types, destinations or subscriptions raises in the same transaction, so an
  // instance sharing the database sees with one cheap read that its in-memory
  // catalogue is stale (the sweep: Catalog.refresh). Triggers make every write
  // bump it, whichever statement or tool made it: a store method cannot forget.
  // Destinations' failing_since is delivery health, written by recordAttempt on
  // the hot path and read from the table (destinationsFailingSince), not from
  // the catalogue: writes of it alone do not bump. A migration that adds a
  // column to destinations adds it to the UPDATE OF list below.
  `
  CREATE TABLE catalog_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
  ) STRICT;
  INSERT INTO catalog_version (id, version) VALUES (1, 1);

  CREATE TRIGGER event_types_inserted AFTER INSERT ON event_types
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER event_types_updated AFTER UPDATE ON event_types
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER event_types_deleted AFTER DELETE ON event_types
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

  CREATE TRIGGER destinations_inserted AFTER INSERT ON destinations
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER destinations_updated AFTER UPDATE OF id, tenant, url, description, secrets, headers, timeout_ms,
      rate_limit, enabled, disabled_reason, metadata, managed_by, created_at ON destinations
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER destinations_deleted AFTER DELETE ON destinations
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;

  CREATE TRIGGER subscriptions_inserted AFTER INSERT ON subscriptions
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER subscriptions_updated AFTER UPDATE ON subscriptions
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER subscriptions_deleted AFTER DELETE ON subscriptions
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
  `,
  // 8: several Herald processes may share one database (DESIGN §7). A lease
  // names the instance that holds it, and each live instance has a row here,
  // heartbeated by its sweep and deleted on a clean stop: a lease whose owner is
  // gone goes back to pending at once (sqlite-store.ts: releaseLeasesOfDeadInstances)
  // instead of waiting for lease_until, and a live owner's lease is never taken.
  // Rows leased before this migration have no owner: they are a previous run's.
  `
  ALTER TABLE deliveries ADD COLUMN lease_owner TEXT;
  CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  ) STRICT;
  `,
  // 9: one instance among several does the maintenance that must not run twice
  // at once (auto-disabling a destination, retention): the holder of this row's
  // lease, renewed by each of its sweeps (admin.ts: leadMaintenance).
  `
  CREATE TABLE maintenance_lease (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    owner TEXT,
    until INTEGER NOT NULL
  ) STRICT;
  INSERT INTO maintenance_lease (id, owner, until) VALUES (1, NULL, 0);
  `,
  // 10: the circuit breaker (issue 13), kept per destination so that every
  // instance sharing the database holds back the same destinations and one
  // probe goes out per interval between them all. Delivery health like
  // failing_since, written on the hot path (queue.ts: recordAttempt, claimDue):
  // not in migration 7's UPDATE OF list, so these writes never raise the
  // catalogue version. consecutive_failures counts failed attempts in a row;
  // the breaker is open while breaker_opened_at is set; breaker_probe_at is when
  // the next probe may be claimed, breaker_probe_started_at when the probe in
  // flight was (null: none).
  `
  ALTER TABLE destinations ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE destinations ADD COLUMN breaker_opened_at INTEGER;
  ALTER TABLE destinations ADD COLUMN breaker_probe_at INTEGER;
  ALTER TABLE destinations ADD COLUMN breaker_probe_started_at INTEGER;
  -- Every publish that leases asks which breakers are open (none, nearly always): an empty index answers.
  CREATE INDEX destinations_breaker_open ON destinations (id) WHERE breaker_opened_at IS NOT NULL;
  `,
  // 11 (issue 13, scheduled delivery): the time a producer asked an event's
  // deliveries to be made (publish with deliver_at), shown with the event. The
  // deliveries themselves wait as pending rows due at that time: the claim's
  // index (deliveries_due) already orders them. A nullable column with no
  // default: adding it rewrites no row.
  `ALTER TABLE events ADD COLUMN deliver_at INTEGER;`,
  // 12 (issue 13): per-destination limits that hold across instances. A
  // destination with max_in_flight has at most that many deliveries leased at
  // once; an ordered one has one, its head (its earliest unfinished delivery by
  // id, the publish order). Both are counted in the claim's own statement
  // (queue.ts: claimLimited), so these two indexes serve it: leased rows by
  // destination (replacing the lease_until index: the leased rows are few, and
  // the expiry sweep scans them all anyway), and waiting rows by destination in
  // id order, with the due time to filter on. A delivery leased at publish never
  // enters the second. The catalogue-version trigger is made again to include
  // the new columns; destinations_limited answers "which destinations are
  // limited" (none, nearly always) from an empty index.
  `
  ALTER TABLE destinations ADD COLUMN max_in_flight INTEGER;
  ALTER TABLE destinations ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX destinations_limited ON destinations (id) WHERE max_in_flight IS NOT NULL OR ordered = 1;
  DROP TRIGGER destinations_updated;
  CREATE TRIGGER destinations_updated AFTER UPDATE OF id, tenant, url, description, secrets, headers, timeout_ms,
      rate_limit, max_in_flight, ordered, enabled, disabled_reason, metadata, managed_by, created_at ON destinations
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
  DROP INDEX deliveries_leased;
  CREATE INDEX deliveries_leased ON deliveries (destination_id, lease_until) WHERE status = 'delivering';
  CREATE INDEX deliveries_waiting ON deliveries (destination_id, id, next_attempt_at) WHERE status = 'pending';
  `,
  // 13 (issue 13, backfill): backfill jobs (store.ts: BackfillStore). A job
  // creates deliveries for stored events after the fact, in chunks; its cursor
  // (the last event scanned, by created_at then id) and its counts move in the
  // same transaction as each chunk's deliveries, so a job survives a restart or
  // a crash. It is leased to one instance at a time, like a delivery: a job
  // whose lease ran out or whose holder is gone is taken over by a sweep. A new
  // table only: nothing on the publish, claim or record paths changes.
  `
  CREATE TABLE backfill_jobs (
    id                 TEXT PRIMARY KEY,
    subscription_id    TEXT NOT NULL,
    destination_id     TEXT NOT NULL,
    tenant             TEXT NOT NULL,
    since              INTEGER NOT NULL,
    until              INTEGER NOT NULL,
    status             TEXT NOT NULL
      CHECK (status = 'running' OR status = 'completed' OR status = 'failed' OR status = 'cancelled'),
    cursor_at          INTEGER,
    cursor_id          TEXT,
    events_scanned     INTEGER NOT NULL DEFAULT 0,
    deliveries_created INTEGER NOT NULL DEFAULT 0,
    lease_owner        TEXT,
    lease_until        INTEGER,
    error              TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    finished_at        INTEGER,
    CHECK ((status = 'running') = (finished_at IS NULL)),
    CHECK (status <> 'running' OR (lease_owner IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK ((cursor_at IS NULL) = (cursor_id IS NULL)),
    CHECK (since < until)
  ) STRICT;
  -- The sweep's takeover looks only at running jobs; lists go by tenant or subscription, newest first.
  CREATE INDEX backfill_jobs_running ON backfill_jobs (lease_until) WHERE status = 'running';
  CREATE INDEX backfill_jobs_tenant ON backfill_jobs (tenant, id);
  CREATE INDEX backfill_jobs_subscription ON backfill_jobs (subscription_id, id);
  -- Retention deletes finished jobs by age.
  CREATE INDEX backfill_jobs_finished ON backfill_jobs (finished_at) WHERE finished_at IS NOT NULL;
  `,
  // 14 (issue 14, the audit log). Who changed
  // what (store.ts: AuditStore): written in the transaction of the catalogue
  // change it records, or right after a queue change. Read newest first by id,
  // by tenant (a tenant token's reads) or resource; retention deletes by `at`.
  `
  CREATE TABLE audit_log (
    id            TEXT PRIMARY KEY,
    at            INTEGER NOT NULL,
    actor_type    TEXT NOT NULL CHECK (actor_type IN ('token', 'key', 'config', 'herald')),
    actor_name    TEXT NOT NULL,
    action        TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id   TEXT NOT NULL,
    tenant        TEXT,
    changes       TEXT NOT NULL DEFAULT '{}',
    request_id    TEXT
  ) STRICT;
  CREATE INDEX audit_log_tenant ON audit_log (tenant, id);
  CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, id);
  CREATE INDEX audit_log_at ON audit_log (at);
  `,
  // 15 (issue 14): a destination's client certificate for mutual TLS, {cert, key} as JSON,
  // NULL when it has none. The catalogue-version trigger is made again to
  // include it, so a certificate change reaches every instance.
  `
  ALTER TABLE destinations ADD COLUMN client_tls TEXT;
  DROP TRIGGER destinations_updated;
  CREATE TRIGGER destinations_updated AFTER UPDATE OF id, tenant, url, description, secrets, headers, client_tls, timeout_ms,
      rate_limit, max_in_flight, ordered, enabled, disabled_reason, metadata, managed_by, created_at ON destinations
    BEGIN UPDATE catalog_version SET version = version + 1 WHERE id = 1; END;
  `,
  // 16 (issue 14, API keys): keys made through /v1/api-keys, kept only as the
  // SHA-256 of the key (looked up by it: the UNIQUE index), with their role,
  // tenant, publish patterns (JSON) and times. Revoked keys stay, for the
  // record. api_keys_version is raised by every write that changes what a key
  // may do (not by last_used_at, written at most once a minute per key), so an
  // instance sharing the file checks one row before trusting its cached keys.
  `
  CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'tenant', 'publisher', 'reader')),
    tenant       TEXT,
    event_types  TEXT,
    sha256       TEXT NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER,
    CHECK (role <> 'tenant' OR tenant IS NOT NULL),
    CHECK (role <> 'admin' OR tenant IS NULL),
    CHECK (event_types IS NULL OR role = 'publisher')
  ) STRICT;
  CREATE TABLE api_keys_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
  ) STRICT;
  INSERT INTO api_keys_version (id, version) VALUES (1, 1);
  CREATE TRIGGER api_keys_inserted AFTER INSERT ON api_keys
    BEGIN UPDATE api_keys_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER api_keys_deleted AFTER DELETE ON api_keys
    BEGIN UPDATE api_keys_version SET version = version + 1 WHERE id = 1; END;
  CREATE TRIGGER api_keys_updated AFTER UPDATE OF id, name, role, tenant, event_types, sha256, created_at, expires_at, revoked_at ON api_keys
    BEGIN UPDATE api_keys_version SET version = version + 1 WHERE id = 1; END;
  `,
  // 17 (issue 14, secrets at rest).
  // The check value of sealing (store/sealing.ts): a known text sealed under the
  // keys at first sealing, so that a start with another key stops with a clear
  // error. The sealed columns themselves (destinations.secrets, .headers, .client_tls) keep
  // their TEXT type: plaintext rows from before are sealed by the first start.
  `
  CREATE TABLE sealing (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    check_value TEXT NOT NULL,
    updated_at  INTEGER NOT NULL
  ) STRICT;
  `,
  // 18 (issue 15, event types per tenant): the tenants an event type is visible
  // to, a JSON array of tenant names; NULL (every event type before this) is
  // visible to every tenant. The catalogue-version trigger of event_types fires
  // on any column, so a change of it reaches every instance.
  `ALTER TABLE event_types ADD COLUMN tenants TEXT;`,
  // 19 (issue 15, portal links revocable one by one): each issued link's record
  // (id = the nonce its signed payload carries; never the link or its
  // signature). A link is accepted only while its record is here and not
  // revoked; retention deletes the records of links past expiry (portal_links_expiry).
  `
  CREATE TABLE portal_links (
    id         TEXT PRIMARY KEY,
    tenant     TEXT NOT NULL,
    read_only  INTEGER NOT NULL CHECK (read_only IN (0, 1)),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
  ) STRICT;
  CREATE INDEX portal_links_expiry ON portal_links (expires_at);
  `,
  // 20 (issue 15, endpoint health): each attempt names its destination, so the
  // health read (log.ts: attemptBuckets) is one range of attempts_destination
  // (destination_id, started_at) over the window. Attempts are only inserted:
  // the index costs one entry per attempt and is never rewritten, where an
  // index on deliveries (destination_id, updated_at) was rewritten by every
  // claim and record. Existing attempts take their delivery's destination;
  // those whose delivery is gone (none Herald leaves) keep NULL and are read by
  // nothing. ~10 s for 1,000,000 attempts (bench/attempt-destination-migration.ts).
  `
  ALTER TABLE attempts ADD COLUMN destination_id TEXT;
  -- Written by an unreleased 19 that indexed deliveries instead: gone from 19 now.
  DROP INDEX IF EXISTS deliveries_touched;
  UPDATE attempts SET destination_id = (SELECT d.destination_id FROM deliveries d WHERE d.id = attempts.delivery_id);
  CREATE INDEX attempts_destination ON attempts (destination_id, started_at);
  `,
  // 21 (issue 17, parked rows): the pending rows of a held destination
  // (disabled, breaker open, or limited: max_in_flight, ordered) leave
  // deliveries_due for deliveries_parked, so the claim no longer walks past
  // them (200,000 rows waiting for a disabled destination cost every claim
  // ~50 ms). A row is in one of the two indexes, never both: no extra entry per
  // row. deliveries_waiting (the limited claims, ordered heads) and
  // deliveries_open keep every pending row as before.
  // destinations.park_state says where the destination's rows go and whether
  // they are all there: 0 unparked, 1 parked, 2 being parked, 3 being
  // unparked (queue.ts: settleParking moves them, a chunk at a time;
  // park_cursor is how far a parking walk has come, by id). The triggers keep
  // the state in step with every write of the four columns that hold a
  // destination (API, config reload, auto-disable, breaker): a change of held
  // starts a move, in the same transaction. Neither column is in the
  // catalogue-version trigger's list: a move reloads no one's catalogue.
  // The rows of destinations held at upgrade are left to the first settle
  // passes (state 2), not moved here in one statement.
  `
  ALTER TABLE deliveries ADD COLUMN parked INTEGER NOT NULL DEFAULT 0;
  DROP INDEX deliveries_due;
  CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending' AND parked = 0;
  CREATE INDEX deliveries_parked ON deliveries (destination_id, next_attempt_at, id) WHERE status = 'pending' AND parked = 1;
  ALTER TABLE destinations ADD COLUMN park_state INTEGER NOT NULL DEFAULT 0 CHECK (park_state >= 0 AND park_state <= 3);
  ALTER TABLE destinations ADD COLUMN park_cursor TEXT;
  CREATE INDEX destinations_park ON destinations (park_state) WHERE park_state <> 0;
  CREATE TRIGGER destinations_park_inserted AFTER INSERT ON destinations
    WHEN NEW.enabled = 0 OR NEW.max_in_flight IS NOT NULL OR NEW.ordered = 1 OR NEW.breaker_opened_at IS NOT NULL
    BEGIN UPDATE destinations SET park_state = 2, park_cursor = '' WHERE id = NEW.id; END;
  CREATE TRIGGER destinations_park_updated AFTER UPDATE OF enabled, breaker_opened_at, max_in_flight, ordered ON destinations
    WHEN (NEW.enabled = 0 OR NEW.max_in_flight IS NOT NULL OR NEW.ordered = 1 OR NEW.breaker_opened_at IS NOT NULL)
      <> (NEW.park_state = 1 OR NEW.park_state = 2)
    BEGIN
      UPDATE destinations SET park_state = CASE WHEN NEW.park_state = 1 OR NEW.park_state = 2 THEN 3 ELSE 2 END, park_cursor = ''
      WHERE id = NEW.id;
    END;
  UPDATE destinations SET park_state = 2, park_cursor = ''
    WHERE enabled = 0 OR max_in_flight IS NOT NULL OR ordered = 1 OR breaker_opened_at IS NOT NULL;
  `,
  // 22 (issue 17, health samples): the health read's entries move from
  // attempts_destination, an index on attempts written inside each record, to
  // attempt_health, written in bulk a few times a second (health-samples.ts):
  // keyed by destination first, the index was dirtied at one place per
  // destination in every group commit. The same entries, the attempt's key
  // with them (retention deletes a sample with its attempt); attempts keep
  // their destination_id. ~2 s for 1,000,000 attempts.
  `
  CREATE TABLE attempt_health (
    destination_id TEXT NOT NULL,
    started_at     INTEGER NOT NULL,
    delivery_id    TEXT NOT NULL,
    number         INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL,
    ok             INTEGER NOT NULL CHECK (ok IN (0, 1)),
    PRIMARY KEY (destination_id, started_at, delivery_id, number)
  ) STRICT, WITHOUT ROWID;
  INSERT INTO attempt_health (destination_id, started_at, delivery_id, number, duration_ms, ok)
    SELECT destination_id, started_at, delivery_id, number, duration_ms,
      (error IS NULL AND coalesce(response_status BETWEEN 200 AND 299, 0))
    FROM attempts WHERE destination_id IS NOT NULL
    ORDER BY destination_id, started_at, delivery_id, number;
  DROP INDEX attempts_destination;
  `,
];
