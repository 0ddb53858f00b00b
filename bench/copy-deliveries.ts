// `bun bench/copy-deliveries.ts POSTGRES_URL [ROWS]`: PostgreSQL's two ways of
// writing a publish batch's delivery rows, ROWS a transaction (1,000 unless
// given), taking turns for three rounds: the json_to_recordset INSERT (with
// `parked` worked out in the statement) and COPY … FROM STDIN (after reading
// the parking destinations), each as src/store/postgres/publish.ts runs it.
// Prints wall µs a row. Run it on a throwaway database: it migrates it and
// leaves 300,000 pending rows to destination `d1` behind.
import { SQL } from "bun";
import { openPostgresStore } from "../src/store/postgres/postgres-store.ts";
import { configuredKeys } from "../src/store/sealing-keys.ts";
import { copyIn } from "../src/store/postgres/copy-in.ts";
import { PARKING_DESTINATIONS } from "../src/store/postgres/parking.ts";
import { DELIVERIES, DELIVERIES_COPIED } from "../src/store/postgres/publish.ts";

const url = process.argv[2];
if (!url) throw new Error("usage: bun bench/copy-deliveries.ts POSTGRES_URL [ROWS]");
const ROWS = Number(process.argv[3] ?? 1000);
const TRANSACTIONS = Math.max(1, Math.round(50_000 / ROWS));

const keys = configuredKeys({ driver: "postgres", path: "" }, { HERALD_ENCRYPTION_KEY: "aGVyYWxkLWJlbmNoLXNlYWxpbmcta2V5LTMyLWJ5dGU=" });
const store = await openPostgresStore({ url, pool_size: 2, keys });
const sql = new SQL(url);
await sql`INSERT INTO destinations (id, tenant, url, secrets, headers, timeout_ms, enabled, managed_by, created_at, updated_at)
  VALUES ('d1', 'default', 'http://127.0.0.1/', '[]', '{}', 1000, true, 'api', 0, 0) ON CONFLICT DO NOTHING`;

// The store's own statement and columns (publish.ts), so the two ways cannot drift from it.
const COLUMNS = DELIVERIES.columns;
const INSERT = DELIVERIES.insert;

function rows(): Record<string, unknown>[] {
  const now = Date.now();
  return Array.from({ length: ROWS }, () => ({
    id: `dlv_${Bun.randomUUIDv7("hex")}`, event_id: `evt_${Bun.randomUUIDv7("hex")}`, destination_id: "d1", subscription_id: "s1",
    tenant: "default", event_type: "order.created", status: "pending", attempts: 0, schedule_start: 0, next_attempt_at: now,
    lease_until: null, lease_owner: null, last_status: null, last_error: null, created_at: now, updated_at: now, finalized_at: null,
  }));
}

const WAYS = {
  insert: async () => {
    const batch = rows();
    await sql.begin((tx) => tx.unsafe(INSERT, [JSON.stringify(batch)]));
  },
  copy: async () => {
    const batch = rows();
    await sql.begin(async (tx) => {
      const parking = new Set((await tx.unsafe(PARKING_DESTINATIONS)).map((r: { id: string }) => r.id));
      const values = batch.map((r) => [...COLUMNS.map((c) => r[c]), r.status === "pending" && parking.has(r.destination_id as string)]);
      await copyIn(tx, "deliveries", DELIVERIES_COPIED, values);
    });
  },
};

for (let round = 1; round <= 3; round++) {
  for (const [name, write] of Object.entries(WAYS)) {
    const started = performance.now();
    for (let t = 0; t < TRANSACTIONS; t++) await write();
    console.log(`round ${round}  ${name.padEnd(6)} ${((performance.now() - started) * 1000 / (ROWS * TRANSACTIONS)).toFixed(2)} µs a row`);
  }
}
await sql.close();
await store.close();
