// Proof of life for the instances sharing one PostgreSQL database. Each
// registered instance holds a session-level advisory lock on a key of its own,
// on a connection it reserves from the pool for as long as it is registered.
// The server drops a session's locks when the session ends — a clean close, a
// SIGKILL, an OOM kill, a lost network — so another instance can tell exactly
// and at once whether an instance is gone: it tries the lock. Only a row with
// no lock key (none is written today) is judged by its heartbeat.
//
// Every registration and every departure (a clean stop, or found dead) is
// NOTIFYed on herald_instances, so the others count again at once (the count
// divides rate limits, and tells an instance whether it is alone: signals.ts).
//
// Caveat, written down so nobody is surprised: a pooler in transaction mode
// (PgBouncer's `pool_mode = transaction`) does not keep a session per client, and session locks
// mean nothing through it. Point Herald at PostgreSQL directly or through a
// session-mode pool.
import type { ReservedSQL, SQL } from "bun";
import { isStorageFailure } from "../unavailable.ts";
import { parkedNow } from "./parking.ts";

interface Held {
  id: string;
  /** The int8 key, as text (Bun binds int8 parameters from strings exactly). */
  key: string;
  connection: ReservedSQL;
}

/** A random positive int8: drawn, not hashed from the id, so no two live instances share a key (UNIQUE in the table). */
function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0]! &= 0x7f;
  return BigInt(`0x${Buffer.from(bytes).toString("hex")}`).toString();
}

export class Instances {
  private held: Held | null = null;

  constructor(private readonly sql: SQL) {}

  get heldId(): string | null {
    return this.held?.id ?? null;
  }

  /**
   * Takes the lock on a reserved connection first, then writes the row: by the
   * time another instance can see the row, the lock already says it is alive.
   */
  async register(id: string, now: number): Promise<void> {
    if (this.held) throw new Error(`this store already serves instance ${this.held.id}`);
    const connection = await this.sql.reserve();
    try {
      for (;;) {
        const key = randomKey();
        const [lock] = await connection`SELECT pg_try_advisory_lock(${key}::bigint) AS ok`;
        if (!lock.ok) continue; // someone holds this very key: draw another
        const [row] = await connection`INSERT INTO instances (id, lock_key, started_at, heartbeat_at)
          VALUES (${id}, ${key}::bigint, ${Math.round(now)}, ${Math.round(now)})
          ON CONFLICT (lock_key) DO NOTHING RETURNING id`;
        if (!row) {
          // A dead instance's row still names this key: leave it to the sweep, draw another.
          await connection`SELECT pg_advisory_unlock(${key}::bigint)`;
          continue;
        }
        this.held = { id, key, connection };
        await notifyInstances(connection);
        return;
      }
    } catch (error) {
      await connection`SELECT pg_advisory_unlock_all()`.catch(() => {});
      connection.release();
      throw error;
    }
  }

  /**
   * The sweep's sign of life. Written through the reserved connection, so it also
   * finds out whether that connection (and with it the lock) is still there; if it
   * is not, the instance takes a new connection and its lock again, and writes its
   * row back if another instance judged it dead meanwhile (its leases were
   * returned then; its late answers are logged only, as for any lost lease).
   */
  async heartbeat(id: string, now: number): Promise<void> {
    const at = Math.round(now);
    if (this.held?.id !== id) {
      await this.sql`UPDATE instances SET heartbeat_at = ${at} WHERE id = ${id}`;
      return;
    }
    const held = this.held;
    try {
      const result = await held.connection`UPDATE instances SET heartbeat_at = ${at} WHERE id = ${id}`;
      if (result.count === 1) return;
    } catch (error) {
      if (!isStorageFailure(error)) throw error;
    }
    await this.reacquire(held, at);
  }

  private async reacquire(held: Held, now: number): Promise<void> {
    try {
      held.connection.release();
    } catch {}
    const connection = await this.sql.reserve();
    try {
      const [lock] = await connection`SELECT pg_try_advisory_lock(${held.key}::bigint) AS ok`;
      if (!lock.ok) throw new Error(`instance ${held.id} could not take its lock back`);
      await connection`INSERT INTO instances (id, lock_key, started_at, heartbeat_at)
        VALUES (${held.id}, ${held.key}::bigint, ${now}, ${now})
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, lock_key = excluded.lock_key`;
      held.connection = connection;
      // The row may have been written back after another instance removed it.
      await notifyInstances(connection);
    } catch (error) {
      connection.release();
      throw error;
    }
  }

  /** A clean stop: the instance's leases go back to pending, its row goes, then its lock. */
  async retire(id: string, now: number): Promise<number> {
    const at = Math.round(now);
    const released = await this.sql.begin(async (tx) => {
      const result = await tx`UPDATE deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL,
          next_attempt_at = ${at}, updated_at = ${at}, parked = ${tx.unsafe(parkedNow())}
        WHERE status = 'delivering' AND lease_owner = ${id}`;
      await tx`DELETE FROM instances WHERE id = ${id}`;
      await notifyInstances(tx);
      return result.count;
    });
    if (this.held?.id === id) await this.letGo();
    return released;
  }

  /**
   * Forgets the instances whose lock is free (dead) and returns to pending, due
   * now, every lease whose owner is not a registered instance. One transaction
   * that first locks the instances table against registrations: otherwise an
   * instance registering and claiming while the UPDATE runs could have its fresh
   * lease judged ownerless (the UPDATE's subquery reads the snapshot it started with).
   */
  async releaseDead(now: number, staleBefore: number): Promise<number> {
    const at = Math.round(now);
    return this.sql.begin(async (tx) => {
      await tx`LOCK TABLE instances IN SHARE ROW EXCLUSIVE MODE`;
      // A transaction-level try: taken only when no session holds the instance's
      // lock, and let go by this transaction's end, so nothing is left held.
      const dead = await tx`DELETE FROM instances WHERE CASE
          WHEN lock_key IS NULL THEN heartbeat_at < ${Math.round(staleBefore)}
          ELSE pg_try_advisory_xact_lock(lock_key) END`;
      if (dead.count > 0) await notifyInstances(tx);
      const result = await tx`UPDATE deliveries SET status = 'pending', lease_until = NULL, lease_owner = NULL,
          next_attempt_at = ${at}, updated_at = ${at}, parked = ${tx.unsafe(parkedNow())}
        WHERE status = 'delivering' AND (lease_owner IS NULL OR lease_owner NOT IN (SELECT id FROM instances))`;
      return result.count;
    });
  }

  /** Closing without retiring: the lock goes (the row stays, and the next sweep anywhere finds it dead). */
  async letGo(): Promise<void> {
    const held = this.held;
    this.held = null;
    if (!held) return;
    try {
      await held.connection`SELECT pg_advisory_unlock_all()`;
    } catch {
      // The connection is gone already, and with it the lock.
    }
    held.connection.release();
  }
}

/** Sent at commit (at once outside a transaction); the same notification twice in one transaction is sent once. */
async function notifyInstances(sql: SQL | ReservedSQL): Promise<void> {
  await sql`SELECT pg_notify('herald_instances', '')`;
}
