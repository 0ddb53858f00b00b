// The PostgreSQL store: several Herald instances share one database. Opens a
// pool with Bun's built-in client, applies the migrations under an advisory
// lock, checks the sealing keys (sealing.ts), and hands out the four parts
// (queue, catalogue, log, admin).
import { SQL } from "bun";
import type { KeySource } from "../sealing-keys.ts";
import type { Store } from "../store.ts";
import { PostgresAdmin } from "./admin.ts";
import { PostgresAudit } from "./audit.ts";
import { PostgresApiKeys } from "./api-keys.ts";
import { PostgresPortalLinks } from "./portal-links.ts";
import { PostgresBackfills } from "./backfills.ts";
import { PostgresCatalog } from "./catalog.ts";
import { PostgresLog } from "./log.ts";
import { migrate } from "./migrate.ts";
import { guarded } from "./query.ts";
import { PostgresQueue } from "./queue.ts";
import { PostgresSealing } from "./sealing.ts";
import { PostgresSignals } from "./signals.ts";

export interface PostgresOptions {
  /** `postgres://user:password@host:port/database`; `?options=-c%20search_path%3Dname` picks a schema. */
  url: string;
  /** Connections in the pool, the instance's reserved one included. */
  pool_size?: number;
  /** Most publishes or attempt records gathered in one transaction (default 500; 1 turns gathering off). */
  batch_max?: number;
  /** Gathered transactions that may run at once (default 2). */
  batch_in_flight?: number;
  /**
   * The sealing keys (sealing-keys.ts: configuredKeys). Required: there is no
   * place beside a PostgreSQL database to keep a key of Herald's own.
   */
  keys: KeySource;
}

/**
 * 16 connections: the dispatcher's claims and records, the publishes and the
 * reads of one instance rarely need more than a handful at once on a small
 * machine, and the server's default max_connections (100) leaves room for
 * several instances. At least 2: one is reserved for the instance's lock.
 */
export const DEFAULT_POOL_SIZE = 16;

export class PostgresStore implements Store {
  readonly queue: PostgresQueue;
  readonly catalog: PostgresCatalog;
  readonly log: PostgresLog;
  readonly admin: PostgresAdmin;
  readonly backfills: PostgresBackfills;
  readonly audit: PostgresAudit;
  readonly keys: PostgresApiKeys;
  readonly portalLinks: PostgresPortalLinks;
  readonly signals: PostgresSignals;
  private closed = false;

  constructor(readonly sql: SQL, readonly sealing: PostgresSealing, options: { batch_max: number; batch_in_flight: number; pool_size: number }) {
    this.queue = new PostgresQueue(sql, options);
    this.catalog = new PostgresCatalog(sql, sealing.keyring);
    this.log = new PostgresLog(sql);
    this.admin = new PostgresAdmin(sql, options.pool_size);
    this.backfills = new PostgresBackfills(sql);
    this.audit = new PostgresAudit(sql);
    this.keys = new PostgresApiKeys(sql);
    this.portalLinks = new PostgresPortalLinks(sql);
    this.signals = new PostgresSignals(sql);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.signals.stop();
    await this.queue.drain();
    // Not retired (a failed stop): the lock goes, its row stays, and the next
    // instance to sweep finds it dead and takes its leases back.
    await this.queue.instances.letGo();
    await this.sql.close({ timeout: 5 });
  }
}

export async function openPostgresStore(options: PostgresOptions): Promise<PostgresStore> {
  const keys = options.keys;
  const max = Math.max(2, options.pool_size ?? DEFAULT_POOL_SIZE);
  const sql = new SQL(options.url, {
    max,
    // Connections idle for a minute are closed; the pool opens them again when needed.
    idleTimeout: 60,
    connectionTimeout: 10,
  });
  let sealing: PostgresSealing;
  try {
    await guarded(() => migrate(sql));
    sealing = await PostgresSealing.open(sql, keys);
  } catch (error) {
    await sql.close({ timeout: 0 }).catch(() => {});
    throw error;
  }
  // Two batches in flight: one is being written while the next gathers. More
  // would only divide the same requests into smaller transactions.
  return new PostgresStore(sql, sealing, {
    batch_max: Math.max(1, options.batch_max ?? 500),
    batch_in_flight: Math.max(1, Math.min(max - 1, options.batch_in_flight ?? 2)),
    pool_size: max,
  });
}
