// The events and deliveries that publishes write, gathered and written in
// multi-row INSERTs (MultiRowInsert). Measured on Herald's schema, 200,000
// events with one delivery each in transactions of 1,000: 8.5 µs an event as
// one statement a row, 6.0 as statements of 50 rows (parked pending rows: 6
// index entries each), 6.5 against 4.6 for leased ones. Statements of 256 rows
// rather than 64 took another 0.5 µs an event off batch publishes
// (bench/ingest-ab.ts, two runs); 512 showed nothing more.
import type { Database } from "bun:sqlite";
import type { Delivery, NewEvent } from "../types.ts";
import { MultiRowInsert } from "./multi-row-insert.ts";
import { DELIVERY_COLUMNS } from "./rows.ts";
import type { DeferredRows } from "./write-batcher.ts";

const EVENT_ROWS = new MultiRowInsert("events", ["id", "type", "tenant", "data", "created_at", "idempotency_key", "request_hash", "producer_id", "deliver_at"]);
/** A delivery's columns as read (rows.ts), and whether the row is parked; addDelivery's values in this order. */
const DELIVERY_ROWS = new MultiRowInsert("deliveries", [...DELIVERY_COLUMNS.split(", "), "parked"]);

/** Appends an event's values to `into`, in EVENT_ROWS' column order. */
function pushEventValues(into: unknown[], item: NewEvent, id: string): void {
  const e = item.event;
  into.push(id, e.type, e.tenant, item.data_json, e.created_at, item.idempotency_key, item.request_hash, item.producer_id ?? null, e.deliver_at ?? null);
}

export class PublishRows implements DeferredRows {
  /** Each table's gathered rows, their values one after another in column order. */
  private events: unknown[] = [];
  private deliveries: unknown[] = [];

  constructor(private readonly db: Database) {}

  /** The event of `item`, stored under `id` (which may differ from the item's: a producer id another tenant holds). */
  addEvent(item: NewEvent, id: string): void {
    pushEventValues(this.events, item, id);
  }

  /**
   * Writes the event of `item` at once, alone: a publish with an idempotency key
   * or producer id learns from this INSERT's failure that it is a repeat.
   */
  writeEvent(item: NewEvent, id: string): void {
    const values: unknown[] = [];
    pushEventValues(values, item, id);
    EVENT_ROWS.write(this.db, values);
  }

  /** A delivery; `parked` writes a pending row out of the claim's index (parking.ts). */
  addDelivery(d: Delivery, parked: boolean): void {
    this.deliveries.push(
      d.id, d.event_id, d.destination_id, d.subscription_id, d.tenant, d.event_type, d.status, d.attempts, d.schedule_start,
      d.next_attempt_at, d.lease_until, d.lease_owner, d.last_status, d.last_error, d.created_at, d.updated_at, d.finalized_at, parked ? 1 : 0,
    );
  }

  /** Writes every gathered row (events first) and forgets them, also when a statement throws. */
  flush(): void {
    const events = this.events;
    const deliveries = this.deliveries;
    this.discard();
    EVENT_ROWS.write(this.db, events);
    DELIVERY_ROWS.write(this.db, deliveries);
  }

  discard(): void {
    this.events = [];
    this.deliveries = [];
  }
}
