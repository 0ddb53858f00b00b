// Publishing on PostgreSQL: a gathered batch of events and their deliveries,
// most often in one statement committed on its own (publishBatch), otherwise
// in one transaction of multi-row INSERTs (and its deliveries, when many, one
// COPY). Idempotency keys and producer ids are enforced by the unique indexes
// (migration 1), so a repeat returns the original even when two instances
// publish the same id at the same moment: the second INSERT … ON CONFLICT DO
// NOTHING waits for the first's commit and then finds its row.
import type { SQL } from "bun";
import { newId } from "../ids.ts";
import type { NewEvent, PublishResult } from "../types.ts";
import { copyIn } from "./copy-in.ts";
import { inTransaction, PUBLISH_RETRYABLE, retried } from "./transactions.ts";
import { recordset } from "./recordset.ts";
import { PARKING_DESTINATIONS } from "./parking.ts";
import { deliveryRow, toDelivery, toEvent } from "./rows.ts";

const EVENT_COLUMNS = {
  id: "text", type: "text", tenant: "text", data: "text", created_at: "bigint", idempotency_key: "text", request_hash: "text",
  producer_id: "text", deliver_at: "bigint",
} as const;

/** One row per event of the batch; a repeat (any unique index: id, tenant+key, tenant+producer id) is skipped and not returned. */
const EVENTS = recordset("events", EVENT_COLUMNS, "ON CONFLICT DO NOTHING RETURNING id");

/**
 * Events that cannot be repeats (isFresh), without ON CONFLICT: its speculative
 * insertion (a check, then a confirmation written to the WAL for every row)
 * cost the server ~2 µs an event more, a tenth of its work per event in batch
 * ingest (bench/README.md). Should one fail all the same, the transaction fails,
 * and the gatherer writes its publishes again one by one, by EVENTS.
 */
const FRESH_EVENTS = recordset("events", EVENT_COLUMNS, "");

/** The deliveries' columns in insert order (the one INSERT of a publish batch's deliveries; rows from deliveryRow). */
export const DELIVERIES = recordset("deliveries", {
  id: "text", event_id: "text", destination_id: "text", subscription_id: "text", tenant: "text", event_type: "text", status: "text",
  attempts: "integer", schedule_start: "integer", next_attempt_at: "bigint", lease_until: "bigint", lease_owner: "text",
  last_status: "integer", last_error: "text", created_at: "bigint", updated_at: "bigint", finalized_at: "bigint",
}, "", {
  // A pending row of a destination whose rows are parked (or being parked) goes
  // parked (migration 16): the set read once per statement, no round trip of its own.
  parked: `r.status = 'pending' AND r.destination_id IN (${PARKING_DESTINATIONS})`,
});

/**
 * Events that cannot be repeats and their deliveries in ONE statement,
 * committed on its own: no BEGIN and COMMIT round trips, and one statement
 * instead of two (bench/README.md, "one statement a publish batch"). Nothing
 * is written if any row fails.
 */
const FRESH_EVENTS_AND_DELIVERIES = `WITH events_written AS (${FRESH_EVENTS.insertFrom(1)}) ${DELIVERIES.insertFrom(2)}`;

/**
 * Events with keys of their producers' and, in the same statement, the
 * deliveries of those that went in; answers their ids. An event left out is a
 * repeat (or holds an id another tenant's event has): publishBatch looks it up
 * in a transaction of its own.
 */
const KEYED_EVENTS_AND_DELIVERIES = `WITH events_written AS (${EVENTS.insertFrom(1)}),
  deliveries_written AS (${DELIVERIES.insertFrom(2)} WHERE r.event_id IN (SELECT id FROM events_written))
  SELECT id FROM events_written`;

/**
 * Writes a gathered batch of publishes; one result per item, in order. Most
 * batches are one statement committed on its own: every event without keys of
 * its producer's, or every event with them and none twice, and fewer
 * deliveries than go in by COPY. The rest go in a transaction (publishAll).
 */
export async function publishBatch(sql: SQL, items: NewEvent[], tries: number): Promise<PublishResult[]> {
  const shape = atOnceShape(items);
  if (shape === null) return inTransaction(sql, (tx) => publishAll(tx, items), tries, PUBLISH_RETRYABLE);
  // The read of held destinations, when a delivery is leased, comes first, as
  // in a transaction: at READ COMMITTED it sees no more there.
  const held = await retried(() => holdBackOpenBreakers(sql, items), tries, PUBLISH_RETRYABLE);
  const written = await retried(() => publishAtOnce(sql, held, shape), tries, PUBLISH_RETRYABLE);
  // Only keyed events are left out, so what went in stays: a retry of the whole
  // batch would find those as repeats, and create nothing twice.
  const left = held.flatMap((_, i) => (written[i] === null ? [i] : []));
  if (left.length === 0) return written as PublishResult[];
  const found = await inTransaction(sql, (tx) => publishEach(tx, left.map((i) => held[i]!)), tries, PUBLISH_RETRYABLE);
  left.forEach((i, k) => (written[i] = found[k]!));
  return written as PublishResult[];
}

/**
 * Whether a batch can be one statement: "fresh" when no event has keys of its
 * producer's (isFresh), "keyed" when every event has and no key comes twice
 * (a repeat within the batch must find its original's row), null otherwise
 * (a mix would leave its fresh events written should the lookup of a repeat
 * fail, and the gatherer write them again one by one).
 */
function atOnceShape(items: NewEvent[]): "fresh" | "keyed" | null {
  let deliveries = 0;
  let fresh = 0;
  const seen = new Set<string>();
  for (const item of items) {
    deliveries += item.deliveries.length;
    if (isFresh(item)) fresh++;
    else for (const key of keysOf(item)) {
      if (seen.has(key)) return null;
      seen.add(key);
    }
  }
  if (deliveries >= COPY_FROM_ROWS) return null;
  return fresh === items.length ? "fresh" : fresh === 0 ? "keyed" : null;
}

/** One statement for a batch of atOnceShape's `shape` (held back already): a result per item, null for an event left out (keyed only). */
async function publishAtOnce(sql: SQL, items: NewEvent[], shape: "fresh" | "keyed"): Promise<(PublishResult | null)[]> {
  // Keyed rows in id order, as publishAll's bulk: two batches sharing keys wait rather than deadlock.
  const rows = shape === "keyed" ? [...items].sort(byEventId) : items;
  const events = rows.map((item) => eventRow(item, item.event.id));
  const deliveries = rows.flatMap((item) => item.deliveries.map(deliveryRow));
  const params = [JSON.stringify(events), JSON.stringify(deliveries)];
  if (shape === "fresh") {
    await sql.unsafe(FRESH_EVENTS_AND_DELIVERIES, params);
    return items.map((item) => createdAs(item, item.event.id));
  }
  const ids = new Set((await sql.unsafe(KEYED_EVENTS_AND_DELIVERIES, params)).map((r: { id: string }) => r.id));
  return items.map((item) => (ids.has(item.event.id) ? createdAs(item, item.event.id) : null));
}

/** Publishes held back already, each alone in the transaction `tx` (publishOne), in order. */
async function publishEach(tx: SQL, items: NewEvent[]): Promise<PublishResult[]> {
  const results: PublishResult[] = [];
  for (const item of items) results.push(await publishOne(tx, item));
  return results;
}

/** One publish alone: stored (under its id, or a generated one), or its original found. */
async function publishOne(tx: SQL, item: NewEvent): Promise<PublishResult> {
  const outcome = await insertOrFind(tx, item);
  if ("existing" in outcome) return outcome.existing;
  await insertDeliveries(tx, [{ item, id: outcome.id }]);
  return createdAs(item, outcome.id);
}

/** The result of a publish stored as `id` (its own id, or one generated when another tenant's event holds it). */
function createdAs(item: NewEvent, id: string): PublishResult {
  const moved = id !== item.event.id;
  return {
    created: true,
    event: moved ? { ...item.event, id } : item.event,
    deliveries: moved ? item.deliveries.map((d) => ({ ...d, event_id: id })) : item.deliveries,
  };
}

const byEventId = (a: NewEvent, b: NewEvent): number => (a.event.id < b.event.id ? -1 : 1);

/** Writes a batch of publishes in the transaction `tx`; one result per item, in order. */
export async function publishAll(tx: SQL, items: NewEvent[]): Promise<PublishResult[]> {
  items = await holdBackOpenBreakers(tx, items);
  const results: (PublishResult | undefined)[] = new Array(items.length);
  // Items whose keys repeat an earlier item of the batch go after the bulk insert,
  // one by one, so they find that item's row exactly as a later request would.
  // Events that cannot be repeats go apart (FRESH_EVENTS), but never when written
  // alone (a gathered batch of one, or a failed batch written again one by one).
  const seen = new Set<string>();
  const fresh: number[] = [];
  const bulk: number[] = [];
  const later: number[] = [];
  items.forEach((item, i) => {
    const keys = keysOf(item);
    if (keys.some((k) => seen.has(k))) later.push(i);
    else if (items.length > 1 && isFresh(item)) fresh.push(i);
    else bulk.push(i);
    for (const k of keys) seen.add(k);
  });
  // A stable order of rows across instances makes two batches that share keys
  // wait for each other in the same order rather than deadlock (a deadlock is
  // still retried: postgres-store.ts).
  bulk.sort((a, b) => byEventId(items[a]!, items[b]!));

  const created: { index: number; item: NewEvent; id: string }[] = [];
  if (fresh.length > 0) {
    await tx.unsafe(FRESH_EVENTS.insert, [JSON.stringify(fresh.map((i) => eventRow(items[i]!, items[i]!.event.id)))]);
    for (const i of fresh) created.push({ index: i, item: items[i]!, id: items[i]!.event.id });
  }
  if (bulk.length > 0) {
    const rows = bulk.map((i) => eventRow(items[i]!, items[i]!.event.id));
    // No conflict target: any unique index (id, tenant+key, tenant+producer id) makes the row a repeat.
    const inserted = new Set((await tx.unsafe(EVENTS.insert, [JSON.stringify(rows)])).map((r: { id: string }) => r.id));
    for (const i of bulk) {
      const item = items[i]!;
      if (inserted.has(item.event.id)) created.push({ index: i, item, id: item.event.id });
      else later.push(i);
    }
  }
  // The bulk's deliveries go in before the rest is looked at: a repeat of one
  // of these events further on in the batch is answered with its deliveries.
  await insertDeliveries(tx, created);
  for (const { index, item, id } of created) results[index] = createdAs(item, id);
  later.sort((a, b) => a - b);
  for (const i of later) results[i] = await publishOne(tx, items[i]!);
  return results as PublishResult[];
}

/**
 * From this many delivery rows at once they go in by COPY: at 1,000 rows a
 * statement ~30 % less time a row than the INSERT, level at ~100, while a few
 * rows pay for its round trips (bench/README.md, "COPY for a batch's deliveries").
 */
const COPY_FROM_ROWS = 128;

/** The COPY's columns: the INSERT's, then `parked`, which COPY cannot work out and is given. */
export const DELIVERIES_COPIED = [...DELIVERIES.columns, "parked"];

/** The delivery rows of events stored as `id`: one INSERT, or one COPY for many. */
async function insertDeliveries(tx: SQL, created: { item: NewEvent; id: string }[]): Promise<void> {
  const deliveries = created.flatMap(({ item, id }) => item.deliveries.map((d) => deliveryRow(id === item.event.id ? d : { ...d, event_id: id })));
  if (deliveries.length === 0) return;
  if (deliveries.length < COPY_FROM_ROWS) {
    await tx.unsafe(DELIVERIES.insert, [JSON.stringify(deliveries)]);
    return;
  }
  // The INSERT works `parked` out per row; COPY cannot, so the set of parking
  // destinations is read first, in this transaction, when a row is pending.
  // A destination whose parking starts between that read and the commit may
  // get a row unparked, as it may after the INSERT's own read: the claim holds
  // such a row back all the same (queue.ts: claimDue's NOT EXISTS).
  const parking = deliveries.some((d) => d.status === "pending")
    ? new Set((await tx.unsafe(PARKING_DESTINATIONS)).map((r: { id: string }) => r.id))
    : new Set<string>();
  const rows = deliveries.map((d) => [...DELIVERIES.columns.map((c) => d[c]), d.status === "pending" && parking.has(d.destination_id)]);
  await copyIn(tx, "deliveries", DELIVERIES_COPIED, rows);
}

/**
 * One event whose id or key was taken: the tenant's original if it has one;
 * otherwise another tenant's event holds the producer's id as its id, and this
 * one is stored under a generated id (nothing of the other event is read or shown).
 */
async function insertOrFind(tx: SQL, item: NewEvent): Promise<{ existing: PublishResult } | { id: string }> {
  let id = item.event.id;
  for (let tries = 0; tries < 3; tries++) {
    const [row] = await tx`INSERT INTO events ${tx(eventRow(item, id), ...EVENTS.columns)} ON CONFLICT DO NOTHING RETURNING id`;
    if (row) return { id };
    const existing = await findExisting(tx, item);
    if (existing) {
      const [event] = await tx`SELECT id, type, tenant, data, created_at, deliver_at FROM events WHERE id = ${existing.id}`;
      const deliveries = await tx`SELECT * FROM deliveries WHERE event_id = ${existing.id} ORDER BY id`;
      return {
        existing: {
          created: false,
          event: toEvent(event),
          deliveries: deliveries.map(toDelivery),
          same_request: existing.request_hash === item.request_hash,
        },
      };
    }
    if (!item.producer_id) break;
    id = newId("evt", item.event.created_at);
  }
  throw new Error(`event ${item.event.id} could not be stored: its id is taken and no original of tenant ${item.event.tenant} was found`);
}

/** The event this tenant already published with this producer id or idempotency key, if any. */
async function findExisting(tx: SQL, item: NewEvent): Promise<{ id: string; request_hash: string } | null> {
  const { tenant } = item.event;
  if (item.producer_id) {
    const [byId] = await tx`SELECT id, request_hash FROM events WHERE tenant = ${tenant} AND producer_id = ${item.producer_id}`;
    if (byId) return byId;
  }
  if (item.idempotency_key === null) return null;
  const [byKey] = await tx`SELECT id, request_hash FROM events WHERE tenant = ${tenant} AND idempotency_key = ${item.idempotency_key}`;
  return byKey ?? null;
}

/**
 * An event with no key of its producer's (no idempotency key, no id of its
 * own): its id is one Herald generated (a UUIDv7, 74 random bits), so no row
 * can hold it already and it cannot be a repeat.
 */
function isFresh(item: NewEvent): boolean {
  return item.idempotency_key === null && !item.producer_id;
}

/** The unique keys an event claims: its id, and its tenant's producer id and idempotency key. */
function keysOf(item: NewEvent): string[] {
  const { tenant } = item.event;
  const keys = [`id\n${item.event.id}`];
  if (item.producer_id) keys.push(`producer\n${tenant}\n${item.producer_id}`);
  if (item.idempotency_key !== null) keys.push(`key\n${tenant}\n${item.idempotency_key}`);
  return keys;
}

function eventRow(item: NewEvent, id: string): Record<string, unknown> {
  const e = item.event;
  return {
    id, type: e.type, tenant: e.tenant, data: item.data_json, created_at: Math.round(e.created_at),
    idempotency_key: item.idempotency_key, request_hash: item.request_hash, producer_id: item.producer_id ?? null,
    deliver_at: e.deliver_at == null ? null : Math.round(e.deliver_at),
  };
}

/**
 * Deliveries handed in leased whose destination's breaker is open, or whose
 * destination has a limit only the claim counts (max_in_flight, ordered), are
 * written pending instead (due now; claimDue holds them back or leases them
 * within the limit). One read a batch, and only when something is leased; the
 * partial indexes it reads (migrations 3 and 5) are empty nearly always.
 */
async function holdBackOpenBreakers(sql: SQL, items: NewEvent[]): Promise<NewEvent[]> {
  if (!items.some((item) => item.deliveries.some((d) => d.status === "delivering"))) return items;
  const open = new Set<string>(
    (await sql`SELECT id FROM destinations WHERE breaker_opened_at IS NOT NULL
      UNION SELECT id FROM destinations WHERE max_in_flight IS NOT NULL OR ordered`).map((r: { id: string }) => r.id),
  );
  if (open.size === 0) return items;
  return items.map((item) =>
    item.deliveries.some((d) => d.status === "delivering" && open.has(d.destination_id))
      ? {
          ...item,
          deliveries: item.deliveries.map((d) =>
            d.status === "delivering" && open.has(d.destination_id)
              ? { ...d, status: "pending" as const, next_attempt_at: d.created_at, lease_until: null, lease_owner: null }
              : d,
          ),
        }
      : item,
  );
}
