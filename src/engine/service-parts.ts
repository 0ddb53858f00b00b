// What the management services (destinations, subscriptions, event types) are
// given: the engine's parts they use, not the Engine itself, so that the engine
// can build them without an import circle.
import type { Config } from "../config/schema.ts";
import type { Store } from "../store/store.ts";
import type { AuditLog } from "./audit.ts";
import type { Catalog } from "./catalog.ts";
import type { EngineDeps } from "./deps.ts";
import type { Dispatcher } from "./dispatcher.ts";
import type { OperationalEvents } from "./operational-events.ts";
import type { SendOptions } from "./sender.ts";

export interface ServiceParts {
  /** The stored catalogue (and the queue, for re-queueing a destination's failed deliveries). */
  readonly store: Pick<Store, "catalog" | "queue">;
  readonly catalog: Catalog;
  /** Entries for changes: handed to catalogue writes, or recorded right after the others. */
  readonly audit: AuditLog;
  readonly dispatcher: Dispatcher;
  readonly operational: OperationalEvents;
  readonly deps: EngineDeps;
  readonly config: Config;
  /** How test sends are made: the same options as the dispatcher's. */
  readonly sendOptions: SendOptions;
}
