// Sealing on PostgreSQL (store/sealing.ts): the check value at open, the pass
// that seals what is not sealed as the keyring seals now, and `herald rekey`'s
// pass. Several instances may start at once: each chunk is one transaction
// under a transaction-level advisory lock and locks its rows (FOR UPDATE), so
// two passes take turns chunk by chunk, and an instance's own catalogue write
// to a row waits for the chunk instead of being overwritten by it.
import type { SQL } from "bun";
import { type Keyring, resealDestination, resealNeeded, sealCheck, sealedWith, verifyCheck } from "../sealing.ts";
import type { KeySource } from "../sealing-keys.ts";
import type { SealingStore } from "../store.ts";
import { guarded } from "./query.ts";

/** ASCII "HERALDSL": fixed, like migrate.ts's key, so every Herald build agrees on it. */
export const SEALING_LOCK_KEY = 0x4845_5241_4c44_534cn;

/** Rows per transaction: a few milliseconds of AES and one round trip per changed row. */
const CHUNK = 200;

type SealedRow = { id: string; secrets: string; headers: string; client_tls: string | null };

export class PostgresSealing implements SealingStore {
  private constructor(
    private readonly sql: SQL,
    readonly keyring: Keyring,
  ) {}

  /**
   * Asks `keys` for the keyring (telling it under which keys the database is
   * sealed), refuses it unless it opens the check value (sealing it first on a
   * database never sealed, under the lock: two first starts agree on one key),
   * and seals every row not sealed as it seals now.
   */
  static async open(sql: SQL, keys: KeySource): Promise<PostgresSealing> {
    const stored = await guarded(() => readCheck(sql));
    const keyring = keys(stored === null ? null : (sealedWith(stored) ?? []));
    // Sealed already (the usual start): no lock and no write, so a read-only server still opens.
    const check = stored ?? (await guarded(() =>
      sql.begin(async (tx) => {
        await tx`SELECT pg_advisory_xact_lock(${SEALING_LOCK_KEY.toString()}::bigint)`;
        // Lock first, then look: another instance may have sealed it meanwhile, under its key.
        const now = await readCheck(tx);
        if (now !== null) return now;
        const first = sealCheck(keyring);
        await tx`INSERT INTO sealing (id, check_value, updated_at) VALUES (1, ${first}, ${Date.now()})`;
        return first;
      }),
    ));
    verifyCheck(keyring, check);
    const sealing = new PostgresSealing(sql, keyring);
    await sealing.resealAll(keyring);
    return sealing;
  }

  async reseal(next: Keyring, onChunk?: (done: number) => void): Promise<number> {
    const check = await guarded(() => readCheck(this.sql));
    if (check !== null) verifyCheck(next, check);
    return this.resealAll(next, onChunk);
  }

  /** Every row, then the check value (last: a pass cut short leaves the check that still opens). */
  private async resealAll(keyring: Keyring, onChunk?: (done: number) => void): Promise<number> {
    let after = "";
    let changed = 0;
    let read = 0;
    for (;;) {
      // Read first, lock only a chunk with something to seal: a start with nothing to do writes nothing.
      let rows = (await guarded(() => this.sql`SELECT id, secrets, headers, client_tls FROM destinations WHERE id > ${after}
        ORDER BY id LIMIT ${CHUNK}`)) as SealedRow[];
      if (rows.some((row) => resealNeeded(keyring, row))) {
        const locked = await guarded(() =>
          this.sql.begin(async (tx) => {
            await tx`SELECT pg_advisory_xact_lock(${SEALING_LOCK_KEY.toString()}::bigint)`;
            // Read again under the row locks: what another instance sealed or wrote since is taken as it is now.
            const chunk = (await tx`SELECT id, secrets, headers, client_tls FROM destinations WHERE id > ${after}
              ORDER BY id LIMIT ${CHUNK} FOR UPDATE`) as SealedRow[];
            let sealed = 0;
            for (const row of chunk) {
              const next = resealDestination(keyring, row);
              if (!next) continue;
              await tx`UPDATE destinations SET secrets = ${next.secrets}, headers = ${next.headers}, client_tls = ${next.client_tls}
                WHERE id = ${row.id}`;
              sealed++;
            }
            return { chunk, sealed };
          }),
        );
        rows = locked.chunk;
        changed += locked.sealed;
      }
      read += rows.length;
      if (rows.length > 0) onChunk?.(read);
      if (rows.length < CHUNK) break;
      after = rows[rows.length - 1]!.id;
    }
    const check = await guarded(() => readCheck(this.sql));
    if (check === null || !keyring.isSealedAsNow(check)) {
      await guarded(() => this.sql`UPDATE sealing SET check_value = ${sealCheck(keyring)}, updated_at = ${Date.now()} WHERE id = 1`);
    }
    return changed;
  }
}

async function readCheck(sql: SQL): Promise<string | null> {
  const [row] = await sql`SELECT check_value FROM sealing WHERE id = 1`;
  return row?.check_value ?? null;
}
