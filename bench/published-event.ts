// One published event with its one delivery, as the publisher makes them, for
// the benches that write the store's rows themselves (row-writes.ts,
// read-leased-ab.ts): leased to LEASE_OWNER for three minutes, or pending (due now).
import { newId } from "../src/store/ids.ts";
import type { Delivery, NewEvent } from "../src/store/types.ts";

export const LEASE_OWNER = "ins_bench";
const data = { order_id: 12345, amount: 99.5, currency: "EUR", items: [{ sku: "abc", qty: 2 }] };

export function publishedEvent(now: number, pending: boolean): { item: NewEvent; delivery: Delivery } {
  const id = newId("evt", now);
  const delivery: Delivery = {
    id: newId("dlv", now), event_id: id, destination_id: "dst_bench", subscription_id: "sub_bench", tenant: "default",
    event_type: "order.created", status: pending ? "pending" : "delivering", attempts: 0, schedule_start: 0,
    next_attempt_at: pending ? now : null, lease_until: pending ? null : now + 180_000, lease_owner: pending ? null : LEASE_OWNER,
    last_status: null, last_error: null, created_at: now, updated_at: now, finalized_at: null,
  };
  const event = { id, type: "order.created", tenant: "default", data, created_at: now, deliver_at: null };
  return { item: { event, data_json: JSON.stringify(data), idempotency_key: null, request_hash: "1234567890", deliveries: [delivery] }, delivery };
}
