// Publishing: check an event against the catalogue, fan it out, and write the
// event with one delivery per destination in one (group-committed) transaction.
// Deliveries that fit in the dispatcher's queue are leased at once and handed
// over after the commit, so a fresh event is sent without waiting for a sweep.
import type { QueueStore } from "../store/store.ts";
import { newId } from "../store/ids.ts";
import type { Delivery, DeliveryJob, HeraldEvent, NewEvent } from "../store/types.ts";
import type { Catalog } from "./catalog.ts";
import type { EngineDeps } from "./deps.ts";
import type { Dispatcher } from "./dispatcher.ts";
import { routesFor } from "./fanout.ts";
import { validateData } from "../rules/data-schema.ts";
import { Problem, type Outcome } from "./problem.ts";

export interface PublishInput {
  type: string;
  data: unknown;
  tenant: string;
  id?: string;
  idempotency_key?: string;
}

/** A publish either wrote the event (`created`) or found the original of a repeat; a repeat with another body is a conflict. */
export type PublishOutcome = Outcome<{ created: boolean; event: HeraldEvent; deliveries: Delivery[] }>;

export class Publisher {
  constructor(
    private readonly store: Pick<QueueStore, "publish">,
    private readonly catalog: Catalog,
    private readonly dispatcher: Dispatcher,
    private readonly deps: EngineDeps,
    private readonly lease_ms: number,
  ) {}

  /** Checks an input against the catalogue without writing anything: the problem (invalid), or null. */
  check(input: PublishInput): Problem | null {
    const eventType = this.catalog.eventTypes.get(input.type);
    if (!eventType) {
      return new Problem("invalid", `event type "${input.type}" is not in the catalogue; create it first`, undefined, "unknown_event_type");
    }
    if (eventType.schema) {
      const problems = validateData(eventType.schema, input.data);
      if (problems.length) {
        return new Problem("invalid", `data does not match the schema of "${input.type}"`, problems, "invalid_data");
      }
    }
    return null;
  }

  /** Writes a checked input. Resolves after the commit: a created event is on disk. */
  async publish(input: PublishInput): Promise<PublishOutcome> {
    const now = this.deps.now();
    const event: HeraldEvent = {
      id: input.id ?? newId("evt", now),
      type: input.type,
      tenant: input.tenant,
      data: input.data === undefined ? null : input.data,
      created_at: now,
    };
    const data_json = JSON.stringify(event.data);
    const routes = routesFor(this.catalog, event);
    // A destination whose breaker is open gets its delivery pending, not leased
    // (the store makes sure of it too: a breaker another instance just opened).
    const leasable = (destinationId: string, enabled: boolean) => enabled && !this.dispatcher.breakerOpen(destinationId);
    const sendable = routes.filter((r) => leasable(r.destination.id, r.destination.enabled)).length;
    const granted = this.dispatcher.reserve(sendable);
    let leased = 0;
    const deliveries = routes.map((route): Delivery => {
      const lease = leasable(route.destination.id, route.destination.enabled) && leased < granted;
      if (lease) leased++;
      return {
        id: newId("dlv", now),
        event_id: event.id,
        destination_id: route.destination.id,
        subscription_id: route.subscription.id,
        tenant: event.tenant,
        event_type: event.type,
        status: lease ? "delivering" : "pending",
        attempts: 0,
        schedule_start: 0,
        next_attempt_at: lease ? null : now,
        lease_until: lease ? now + this.lease_ms : null,
        lease_owner: lease ? this.deps.instance : null,
        last_status: null,
        last_error: null,
        created_at: now,
        updated_at: now,
        finalized_at: null,
      };
    });
    const item: NewEvent = {
      event,
      data_json,
      idempotency_key: input.idempotency_key ?? null,
      producer_id: input.id ?? null,
      request_hash: String(Bun.hash(`${event.type}\n${event.tenant}\n${data_json}`)),
      deliveries,
    };
    let result;
    try {
      result = await this.store.publish(item);
    } catch (error) {
      // A store that cannot write is answered 503 by the HTTP layer's one error handler.
      this.dispatcher.release(granted);
      throw error;
    }
    if (!result.created) {
      this.dispatcher.release(granted);
      if (!result.same_request) {
        const message = `event ${result.event.id} was already published with this ${input.idempotency_key ? "Idempotency-Key" : "id"} and a different body`;
        return { ok: false, problem: new Problem("conflict", message, undefined, "idempotency_conflict") };
      }
      return { ok: true, created: false, event: result.event, deliveries: result.deliveries };
    }
    // The store's event and deliveries: it may have given the event another id
    // (a producer id that another tenant's event holds).
    // One event object for all its jobs, so the sender builds its body once (fan-out).
    const forDelivery = { id: result.event.id, type: event.type, created_at: now, data_json };
    const jobs: DeliveryJob[] = result.deliveries.filter((d) => d.status === "delivering").map((delivery) => ({ delivery, event: forDelivery }));
    this.dispatcher.accept(jobs, granted);
    if (leased < sendable) this.dispatcher.noteBacklog();
    return { ok: true, created: true, event: result.event, deliveries: result.deliveries };
  }
}
