// Proof of life for the instances sharing one SQLite file: each holds an
// exclusive lock on a small file of its own beside the database. The kernel
// drops a process's locks when it dies, however it dies (SIGKILL, OOM, power
// cut of a container), so another instance can tell at once that it is gone,
// with no wait for a heartbeat to go stale and no trust in reused process ids.
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";

export type Liveness = "alive" | "dead" | "unknown";

/** Where an instance's lock file lives: `<database>-instances/<id>.lock`. */
export function lockPath(databasePath: string, id: string): string {
  // The id becomes a file name: nothing that could leave the folder.
  if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`instance id ${JSON.stringify(id)} may hold only letters, digits, _ and -`);
  return join(`${databasePath}-instances`, `${id}.lock`);
}

/**
 * Takes the instance's lock and keeps it until `release()` or the process ends.
 * The lock file is an empty SQLite database held in an exclusive transaction:
 * SQLite's own locking also arbitrates between two connections of one process
 * (POSIX locks alone would not), so two Heralds in one test process are told apart too.
 */
export class InstanceLock {
  private constructor(
    private readonly path: string,
    private readonly db: Database,
  ) {}

  static hold(path: string): InstanceLock {
    mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path, { create: true });
    try {
      db.run("PRAGMA busy_timeout = 0");
      // Nothing is ever written: the journal stays in memory, no file beside the lock.
      db.run("PRAGMA journal_mode = MEMORY");
      db.run("PRAGMA locking_mode = EXCLUSIVE");
      db.run("BEGIN EXCLUSIVE");
    } catch (error) {
      db.close();
      throw new Error(`another live process holds the lock ${path}`, { cause: error });
    }
    return new InstanceLock(path, db);
  }

  /** Lets go of the lock and removes its file (a clean stop). */
  release(): void {
    this.db.close();
    rmSync(this.path, { force: true });
  }
}

/**
 * Whether the owner of a lock file is alive: `dead` when the lock can be taken
 * (its holder ended), `alive` while it is held, `unknown` when there is no file
 * to ask (removed by hand, or an instance that never had one): then only the
 * heartbeat can tell.
 */
export function probeLock(path: string): Liveness {
  if (!existsSync(path)) return "unknown";
  let db: Database;
  try {
    db = new Database(path, { readwrite: true });
  } catch {
    return "unknown";
  }
  try {
    db.run("PRAGMA busy_timeout = 0");
    db.run("PRAGMA journal_mode = MEMORY");
    db.run("BEGIN IMMEDIATE");
    db.run("ROLLBACK");
    return "dead";
  } catch (error) {
    return (error as { code?: string }).code === "SQLITE_BUSY" ? "alive" : "unknown";
  } finally {
    db.close();
  }
}

/** Removes a dead instance's lock file; another instance may have removed it first. */
export function removeLock(path: string): void {
  rmSync(path, { force: true });
}
