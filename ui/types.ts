// The shapes the /v1 API answers with (see src/http/present.ts): times are ISO strings.

export type DeliveryStatus = "pending" | "delivering" | "succeeded" | "failed" | "cancelled";
export const DELIVERY_STATUSES: DeliveryStatus[] = ["pending", "delivering", "succeeded", "failed", "cancelled"];

export interface ListPage<T> {
  data: T[];
  next_cursor: string | null;
}

export interface HeraldEvent {
  id: string;
  type: string;
  tenant: string;
  data: unknown;
  created_at: string;
}

export interface Delivery {
  id: string;
  event_id: string;
  destination_id: string;
  subscription_id: string | null;
  tenant: string;
  event_type: string;
  status: DeliveryStatus;
  /** Attempts made so far, manual retries included. */
  attempt_count: number;
  next_attempt_at: string | null;
  last_status: number | null;
  last_error: string | null;
  created_at: string;
  updated_at: string;
  finalized_at: string | null;
}

/** GET /v1/deliveries/{id}: the delivery with every attempt, oldest first. */
export type DeliveryWithAttempts = Delivery & { attempts: Attempt[] };

export interface Attempt {
  id: string;
  delivery_id?: string;
  number: number;
  started_at: string;
  duration_ms: number;
  request: { url: string; headers: Record<string, string> };
  response: { status: number; headers: Record<string, string> | null; body: string | null } | null;
  error: string | null;
}

export interface Destination {
  id: string;
  tenant: string;
  url: string;
  description: string;
  headers: Record<string, string>;
  timeout: number | null;
  rate_limit: number | null;
  enabled: boolean;
  disabled_reason: string | null;
  metadata: Record<string, string>;
  failing_since: string | null;
  managed_by: "config" | "api";
  created_at: string;
  updated_at: string;
}

export type Counts = Record<DeliveryStatus, number>;

export interface DestinationStats {
  destination_id: string;
  since: string;
  until: string;
  counts: Counts;
  success_rate: number | null;
  last_success_at: string | null;
  last_failure_at: string | null;
  last_error: string | null;
}

export interface Stats {
  since: string;
  until: string;
  counts: Counts;
  success_rate: number | null;
  series: { start: string; succeeded: number; failed: number; retrying: number }[];
}

export interface EventType {
  name: string;
  description: string;
  schema: object | null;
  example: unknown;
  managed_by: "config" | "api";
  created_at: string;
  updated_at: string;
}
