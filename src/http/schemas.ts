// The shapes of API answers, for the OpenAPI document (and checked by Elysia
// on the way out). They mirror present.ts. A `title` names a schema in the
// document's components (openapi-document.ts): answers refer to it by name.
import { type } from "arktype";

/** A time as the API writes and reads it: an ISO 8601 string (format date-time), described. */
export const isoTime = (description: string) => type("string").configure({ format: "date-time", description });
export const Time = isoTime("an ISO 8601 time");
export const NullableTime = Time.or("null");
export const StatusName = type("'pending' | 'delivering' | 'succeeded' | 'failed' | 'cancelled'");

export const ErrorBody = type({
  error: type("string").describe("a stable code: invalid_request, unauthorized, forbidden, not_found, conflict, payload_too_large, …"),
  message: type("string").describe("a sentence for people"),
  "details?": type({ path: "string", message: "string" }).array().describe("for invalid input, each problem with the field it is about (at most 20)"),
}).configure({
  title: "Error",
  description: "Every answer that is not a success",
  examples: [{ error: "invalid_request", message: "the request is invalid", details: [{ path: "url", message: "url must be an http:// or https:// URL" }] }],
});

export const EXAMPLE_EVENT = {
  id: "evt_0197a3c2e4b07c1d9f3e2a1b4c5d6e7f", type: "order.created", tenant: "default",
  data: { order_id: "ord_1042", total: 129.5, currency: "EUR" }, created_at: "2026-01-31T12:00:00.000Z", deliver_at: null,
};
export const EventBody = type({
  id: "string", type: "string", tenant: "string", data: "unknown", created_at: Time,
  deliver_at: NullableTime.describe("when its deliveries were asked to be made (scheduled delivery); null when published to be sent at once"),
}).configure({ title: "Event", examples: [EXAMPLE_EVENT] });

export const EXAMPLE_DELIVERY = {
  id: "dlv_0197a3c2e4b17a2b8c9d0e1f2a3b4c5d", event_id: EXAMPLE_EVENT.id, destination_id: "crm", subscription_id: "crm-orders", tenant: "default",
  event_type: "order.created", status: "succeeded" as const, attempt_count: 1, next_attempt_at: null, last_status: 200, last_error: null,
  created_at: "2026-01-31T12:00:00.000Z", updated_at: "2026-01-31T12:00:00.180Z", finalized_at: "2026-01-31T12:00:00.180Z",
};
export const DeliveryBody = type({
  id: "string", event_id: "string", destination_id: "string", subscription_id: "string | null", tenant: "string",
  event_type: "string", status: StatusName, attempt_count: "number", next_attempt_at: NullableTime, last_status: "number | null",
  last_error: "string | null", created_at: Time, updated_at: Time, finalized_at: NullableTime,
}).configure({
  title: "Delivery",
  examples: [EXAMPLE_DELIVERY],
});

export const AttemptBody = type({
  id: "string", delivery_id: "string", number: "number", started_at: Time, duration_ms: "number",
  request: { url: "string", headers: { "[string]": "string" } },
  response: type({ status: "number", headers: type({ "[string]": "string" }).or("null"), body: "string | null" }).or("null"),
  error: "string | null",
}).configure({ title: "Attempt" });

export const DestinationBody = type({
  id: "string", tenant: "string", url: "string", description: "string",
  header_names: type("string[]").describe("the static headers' names; their values are write-only (GET …/headers reveals them)"),
  client_certificate: type("boolean").describe("a client certificate is set for mutual TLS (`tls`); it and its key are write-only and never answered"),
  signature: type("'hmac' | 'ed25519'").describe("hmac: `v1` HMAC-SHA256 signatures with a `whsec_` secret; ed25519: `v1a` signatures with a private key Herald keeps"),
  public_key: type("string | null").describe("for ed25519, the `whpk_` public key receivers verify with; null for hmac"),
  timeout: "number | null", rate_limit: "number | null",
  max_in_flight: type("number | null").describe("most requests to it at once, across instances; null: no limit but delivery.concurrency"),
  ordered: type("boolean").describe("deliveries sent one at a time in publish order; a failing head holds the rest back until it succeeds or fails for good"),
  enabled: "boolean", disabled_reason: "string | null",
  metadata: { "[string]": "string" }, failing_since: NullableTime, managed_by: "'config' | 'api'",
  breaker: type("'closed' | 'open' | 'half_open'").describe(
    "the circuit breaker: open after delivery.breaker.failures failed attempts in a row (deliveries wait, pending); half_open while a probe is in flight",
  ),
  breaker_opened_at: NullableTime, breaker_next_probe_at: NullableTime,
  held_by_head: type({
    delivery_id: "string", attempts: "number", next_attempt_at: NullableTime, last_error: "string | null", waiting: "number",
  })
    .or("null")
    .describe("an ordered destination's head that failed and waits for its retry, holding back `waiting` deliveries behind it"),
  in_flight: type("number").describe("its deliveries being sent right now, across instances (compare max_in_flight)"),
  created_at: Time, updated_at: Time,
}).configure({ title: "Destination" });

export const SubscriptionBody = type({
  id: "string", destination_id: "string", tenant: "string", event_types: "string[]", filter: "object | null",
  enabled: "boolean", description: "string", managed_by: "'config' | 'api'", created_at: Time, updated_at: Time,
}).configure({ title: "Subscription" });

export const EventTypeBody = type({
  name: "string", description: "string", schema: "object | null", example: "unknown", managed_by: "'config' | 'api'",
  "tenants?": type("string[] | null").describe("the tenants that may see, publish and receive it; null: every tenant. Shown only to callers that see every tenant"),
  created_at: Time, updated_at: Time,
}).configure({ title: "EventType" });

export const Counts = type({ pending: "number", delivering: "number", succeeded: "number", failed: "number", cancelled: "number" }).configure({
  title: "DeliveryCounts",
  description: "deliveries by state",
});

export const NextCursor = type("string | null").describe("pass as `cursor` for the next page; null on the last page");
/** A page of a list (DESIGN §4); each is named (`title`) in the document. */
export const page = <T>(data: T) => ({ data, next_cursor: NextCursor }) as const;
export const EventList = type(page(EventBody.array())).configure({ title: "EventList" });
export const DeliveryList = type(page(DeliveryBody.array())).configure({ title: "DeliveryList" });
export const DestinationList = type(page(DestinationBody.array())).configure({ title: "DestinationList" });
export const SubscriptionList = type(page(SubscriptionBody.array())).configure({ title: "SubscriptionList" });
export const EventTypeList = type(page(EventTypeBody.array())).configure({ title: "EventTypeList" });

/** The one definition of the success rate (engine/success-rate.ts), said wherever one is answered. */
const SuccessRate = type("number | null").describe(
  "of the deliveries created in the window, succeeded / (succeeded + failed + retrying): one that has failed at least once and is still retrying counts against it; not yet attempted and cancelled ones do not count; null when there are none of these",
);
const Retrying = type("number").describe("deliveries created in the window that are pending or delivering after at least one failed attempt");

export const DestinationStatsBody = type({
  destination_id: "string", since: "string", until: "string", counts: Counts, retrying: Retrying, success_rate: SuccessRate,
  last_success_at: "string | null", last_failure_at: "string | null", last_error: "string | null",
}).configure({ title: "DestinationStats" });

export const StatsBody = type({
  since: "string", until: "string", counts: Counts, retrying: Retrying, success_rate: SuccessRate,
  series: type({ start: "string", succeeded: "number", failed: "number", retrying: "number" }).array(),
}).configure({ title: "DeliveryStats" });

export const EndpointHealthBody = type({
  destination_id: "string", range: "'24h' | '7d'", since: Time, until: Time,
  bucket: type("'1h' | '1d'").describe("the width of each bucket"),
  counts: Counts, retrying: Retrying, success_rate: SuccessRate,
  buckets: type({
    start: Time,
    attempts: "number",
    succeeded: type("number").describe("attempts answered 2xx"),
    p50_ms: type("number | null").describe("the attempts' median duration (nearest rank); null when there were none"),
    p95_ms: type("number | null").describe("the 95th percentile duration (nearest rank); null when there were none"),
  }).array().describe("every bucket of the window, oldest first, empty ones included"),
  breaker: "'closed' | 'open' | 'half_open'", breaker_next_probe_at: NullableTime,
  in_flight: "number", max_in_flight: "number | null", rate_limit: "number | null",
  due: type("number").describe("pending deliveries due now, waiting to be sent"),
  held_back: type({
    reason: "'disabled' | 'breaker_open' | 'ordered_head' | 'max_in_flight' | 'rate_limit'",
    message: "string",
    until: NullableTime.describe("when this may end (the next probe, the head's retry); null when not known"),
  }).array().describe("every reason its deliveries are not going out now; empty when nothing holds them"),
}).configure({ title: "EndpointHealth" });
