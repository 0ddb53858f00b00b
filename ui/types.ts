// The shapes the /v1 API answers with, taken from the server's own response
// schemas (src/http/schemas.ts), so the console and the API cannot drift apart.
// Type-only imports: nothing of the server reaches the browser bundle.
import type {
  AttemptBody, Counts as CountsBody, DeliveryBody, DestinationBody, DestinationStatsBody, EndpointHealthBody, EventBody, EventTypeBody,
  StatsBody, StatusName, SubscriptionBody,
} from "../src/http/schemas.ts";
import type { Created as CreatedBody, KeyBody } from "../src/http/routes/api-keys.ts";
import type { LinkBody, LinkRecordBody } from "../src/http/routes/portal-links.ts";

export type DeliveryStatus = typeof StatusName.infer;
export const DELIVERY_STATUSES: DeliveryStatus[] = ["pending", "delivering", "succeeded", "failed", "cancelled"];

export interface ListPage<T> {
  data: T[];
  next_cursor: string | null;
}

export type HeraldEvent = typeof EventBody.infer;
export type Delivery = typeof DeliveryBody.infer;
export type Attempt = typeof AttemptBody.infer;
/** GET /v1/deliveries/{id}: the delivery with every attempt, oldest first. */
export type DeliveryWithAttempts = Delivery & { attempts: Attempt[] };
export type Destination = typeof DestinationBody.infer;
export type Counts = typeof CountsBody.infer;
export type DestinationStats = typeof DestinationStatsBody.infer;
export type Stats = typeof StatsBody.infer;
export type EventType = typeof EventTypeBody.infer;
/** GET /v1/api-keys: a key made through the API, or a config token (never the key itself). */
export type ApiKey = typeof KeyBody.infer;
/** POST /v1/api-keys: the record with the key, shown this once. */
export type CreatedApiKey = typeof CreatedBody.infer;
/** GET /v1/subscriptions: a destination's link to event-type patterns, with an optional payload filter. */
export type Subscription = typeof SubscriptionBody.infer;

/** GET /v1/destinations/{id}/health: attempts over time, the success rate, the breaker, why it is held back. */
export type EndpointHealth = typeof EndpointHealthBody.infer;
/** GET /v1/portal-links: a link's record (never the link). */
export type PortalLinkRecord = typeof LinkRecordBody.infer;
/** POST /v1/portal-links: the link, shown this once. */
export type CreatedPortalLink = typeof LinkBody.infer;
