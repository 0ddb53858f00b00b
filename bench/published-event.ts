// One published event with its one delivery, as the publisher makes them, for
// the benches that write the store's rows themselves (row-writes.ts,
// read-leased-ab.ts, floor-server.ts): leased for three minutes, or pending (due now).
import { newId } from "../src/store/ids.ts";
import type { Delivery, NewEvent } from "../src/store/types.ts";

export const LEASE_OWNER = "ins_bench";
const DATA = { order_id: 12345, amount: 99.5, currency: "EUR", items: [{ sku: "abc", qty: 2 }] };

/** What a bench may choose of the event and its delivery; each has a default below. */
export interface EventParts {
  eventId: string;
  deliveryId: string;
  type: string;
  /** The event's data as written (data_json); the parsed form is left null then, since no writer reads it. */
  dataJson: string;
  requestHash: string;
  destinationId: string;
  subscriptionId: string;
  /** The lease's owner, when leased. */
  owner: string;
}

export function publishedEvent(now: number, pending: boolean, parts: Partial<EventParts> = {}): { item: NewEvent; delivery: Delivery } {
  const id = parts.eventId ?? newId("evt", now);
  const type = parts.type ?? "order.created";
  const delivery: Delivery = {
    id: parts.deliveryId ?? newId("dlv", now), event_id: id, destination_id: parts.destinationId ?? "dst_bench",
    subscription_id: parts.subscriptionId ?? "sub_bench", tenant: "default", event_type: type,
    status: pending ? "pending" : "delivering", attempts: 0, schedule_start: 0, next_attempt_at: pending ? now : null,
    lease_until: pending ? null : now + 180_000, lease_owner: pending ? null : (parts.owner ?? LEASE_OWNER),
    last_status: null, last_error: null, created_at: now, updated_at: now, finalized_at: null,
  };
  const event = { id, type, tenant: "default", data: parts.dataJson === undefined ? DATA : null, created_at: now, deliver_at: null };
  const data_json = parts.dataJson ?? JSON.stringify(DATA);
  return { item: { event, data_json, idempotency_key: null, request_hash: parts.requestHash ?? "1234567890", deliveries: [delivery] }, delivery };
}
