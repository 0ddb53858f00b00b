// The records the engine hands upward (events, deliveries, attempts and the
// catalogue's resources), named here so that HTTP takes them from the engine
// and never imports the store (DESIGN §7: http → engine → store).
export type { Attempt, AuditEntry, BackfillJob, Delivery, Destination, DestinationHealth, EventType, HeraldEvent, Subscription } from "../store/types.ts";
export { DELIVERY_STATUSES, breakerState } from "../store/types.ts";
export type { BreakerState } from "../store/types.ts";
