// The SQLite store: one database file, one connection, its four parts sharing
// it. Group commit (WriteBatcher) gathers the two hot write streams, publishes
// and attempt results; with `synchronous: full` the WAL is synced off the event
// loop after each group commit (WalSync). Destinations' secrets and headers are
// sealed (SqliteSealing). None of this is seen above the store.
import type { Database } from "bun:sqlite";
import { configuredKeys, type KeySource } from "../sealing-keys.ts";
import type { Store } from "../store.ts";
import { SqliteAdmin } from "./admin.ts";
import { SqliteAudit } from "./audit.ts";
import { SqliteApiKeys } from "./api-keys.ts";
import { SqlitePortalLinks } from "./portal-links.ts";
import { SqliteBackfills } from "./backfills.ts";
import { SqliteCatalog } from "./catalog.ts";
import { openDatabase, type Synchronous } from "./database.ts";
import { HealthSamples } from "./health-samples.ts";
import { SqliteLog } from "./log.ts";
import { SqliteQueue } from "./queue.ts";
import { SqliteSealing } from "./sealing.ts";
import { WalSync } from "./wal-sync.ts";
import { WriteBatcher } from "./write-batcher.ts";

export class SqliteStore implements Store {
  /** The connection, for tests of SQLite itself and the benchmarks; nothing in src/ above the store uses it. */
  readonly db: Database;
  readonly queue: SqliteQueue;
  readonly catalog: SqliteCatalog;
  readonly log: SqliteLog;
  readonly admin: SqliteAdmin;
  readonly backfills: SqliteBackfills;
  readonly audit: SqliteAudit;
  readonly keys: SqliteApiKeys;
  readonly portalLinks: SqlitePortalLinks;
  readonly sealing: SqliteSealing;
  /** None: instances sharing a SQLite file learn of each other's changes at their sweeps. */
  readonly signals = null;
  private readonly batcher: WriteBatcher;
  private readonly healthSamples: HealthSamples;
  private readonly walSync: WalSync | null;
  private closed = false;

  /**
   * `keys` defaults to SQLite's own: the key file beside the database, made on
   * first start (sealing-keys.ts); a key that does not open the database throws here.
   */
  constructor(path: string, synchronous: Synchronous, keys: KeySource = configuredKeys({ driver: "sqlite", path }, {})) {
    // `full` is kept by syncing the WAL off the event loop after each group
    // commit (see WalSync): the same guarantee for every acknowledged write.
    const syncAside = synchronous === "full" && path !== ":memory:";
    this.db = openDatabase(path, syncAside ? "normal" : synchronous);
    try {
      this.sealing = SqliteSealing.open(this.db, keys);
    } catch (error) {
      this.db.close();
      throw error;
    }
    const walSync = syncAside ? new WalSync(`${path}-wal`) : null;
    this.walSync = walSync;
    this.batcher = new WriteBatcher(this.db, walSync && (() => walSync.sync()));
    this.healthSamples = new HealthSamples(this.db, this.batcher);
    this.queue = new SqliteQueue(this.db, this.batcher, path, this.healthSamples);
    this.catalog = new SqliteCatalog(this.db, this.sealing.keyring);
    this.log = new SqliteLog(this.db, this.healthSamples);
    this.admin = new SqliteAdmin(this.db, this.batcher, path);
    this.backfills = new SqliteBackfills(this.db, this.batcher);
    this.audit = new SqliteAudit(this.db);
    this.keys = new SqliteApiKeys(this.db);
    this.portalLinks = new SqlitePortalLinks(this.db);
  }

  async close(): Promise<void> {
    this.closeNow();
  }

  /** Closes at once (commits what is gathered first); a second close does nothing. */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    // Endpoint health's gathered samples go with the last batch.
    this.healthSamples.startFlush();
    this.batcher.flush();
    this.db.close();
    this.walSync?.close();
    // Not retired (a failed stop): the lock goes, its row stays, and the next
    // instance to look finds it dead and takes its leases back.
    this.queue.dropInstanceLock();
  }
}
