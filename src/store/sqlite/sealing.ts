// Sealing on SQLite (store/sealing.ts): the check value at open, the pass that
// seals what is not sealed as the keyring seals now, and `herald rekey`'s pass.
// Each chunk of rows is one IMMEDIATE transaction: SQLite's one writer, so a
// running Herald's own writes wait a chunk at most and are never overwritten.
import type { Database } from "bun:sqlite";
import { type Keyring, resealDestination, resealNeeded, sealCheck, sealedWith, verifyCheck } from "../sealing.ts";
import type { KeySource } from "../sealing-keys.ts";
import type { SealingStore } from "../store.ts";

/** Rows per transaction: a few milliseconds of AES each, short enough that publishes barely wait. */
const CHUNK = 200;

type SealedRow = { id: string; secrets: string; headers: string; client_tls: string | null };

export class SqliteSealing implements SealingStore {
  private constructor(
    private readonly db: Database,
    readonly keyring: Keyring,
  ) {}

  /**
   * Asks `keys` for the keyring (telling it under which keys the database is
   * sealed), refuses it unless it opens the check value (sealing it first on a
   * database never sealed), and seals every row not sealed as it seals now.
   */
  static open(db: Database, keys: KeySource): SqliteSealing {
    const stored = readCheck(db);
    const keyring = keys(stored === null ? null : (sealedWith(stored) ?? []));
    // Sealed already (the usual start): no write lock taken.
    const check = stored ?? db.transaction(() => {
      // Looked at again under the write lock: another process may have sealed it since.
      const now = readCheck(db);
      if (now !== null) return now;
      const first = sealCheck(keyring);
      db.query("INSERT INTO sealing (id, check_value, updated_at) VALUES (1, ?, ?)").run(first, Date.now());
      return first;
    }).immediate();
    verifyCheck(keyring, check);
    const sealing = new SqliteSealing(db, keyring);
    sealing.resealAll(keyring);
    return sealing;
  }

  async reseal(next: Keyring, onChunk?: (done: number) => void): Promise<number> {
    const check = readCheck(this.db);
    if (check !== null) verifyCheck(next, check);
    return this.resealAll(next, onChunk);
  }

  /** Every row, then the check value (last: a pass cut short leaves the check that still opens). */
  private resealAll(keyring: Keyring, onChunk?: (done: number) => void): number {
    let after = "";
    let changed = 0;
    let read = 0;
    for (;;) {
      const select = "SELECT id, secrets, headers, client_tls FROM destinations WHERE id > ? ORDER BY id LIMIT ?";
      // Read first, take the write lock only for a chunk with something to seal.
      let rows = this.db.query(select).all(after, CHUNK) as SealedRow[];
      if (rows.some((row) => resealNeeded(keyring, row))) {
        rows = this.db.transaction(() => {
          // Read again under the lock: what another process wrote since is taken as it is now.
          const chunk = this.db.query(select).all(after, CHUNK) as SealedRow[];
          const update = this.db.query("UPDATE destinations SET secrets = ?, headers = ?, client_tls = ? WHERE id = ?");
          for (const row of chunk) {
            const sealed = resealDestination(keyring, row);
            if (!sealed) continue;
            update.run(sealed.secrets, sealed.headers, sealed.client_tls, row.id);
            changed++;
          }
          return chunk;
        }).immediate();
      }
      read += rows.length;
      if (rows.length > 0) onChunk?.(read);
      if (rows.length < CHUNK) break;
      after = rows[rows.length - 1]!.id;
    }
    const check = readCheck(this.db);
    if (check === null || !keyring.isSealedAsNow(check)) {
      this.db.query("UPDATE sealing SET check_value = ?, updated_at = ? WHERE id = 1").run(sealCheck(keyring), Date.now());
    }
    return changed;
  }
}

function readCheck(db: Database): string | null {
  const row = db.query("SELECT check_value FROM sealing WHERE id = 1").get() as { check_value: string } | null;
  return row?.check_value ?? null;
}
