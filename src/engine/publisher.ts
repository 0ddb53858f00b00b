// Publishing: check an event against the catalogue, fan it out, and write the
// event with one delivery per destination in one (group-committed) transaction.
// A batch request's events go to the store in one call (publishMany): each is
// prepared and settled as a single publish is, and the store writes them together.
// Deliveries that fit in the dispatcher's queue are leased at once and handed
// over after the commit, so a fresh event is sent without waiting for a sweep.
// A scheduled event (deliver_at ahead) leases nothing: its deliveries wait in
// the job table, pending and due at that time, where a claim finds them.
import type { QueueStore } from "../store/store.ts";
import { newId } from "../store/ids.ts";
import type { Delivery, DeliveryJob, Destination, HeraldEvent, NewEvent, PublishResult } from "../store/types.ts";
import { isLimited, type Catalog } from "./catalog.ts";
import type { EngineDeps } from "./deps.ts";
import type { Dispatcher, Reservation } from "./dispatcher.ts";
import { routesFor } from "./fanout.ts";
import { validateData } from "../rules/data-schema.ts";
import { formatDuration } from "../config/durations.ts";
import { Problem, type Outcome } from "./problem.ts";

export interface PublishInput {
  type: string;
  data: unknown;
  tenant: string;
  id?: string;
  idempotency_key?: string;
  /** Scheduled delivery: the deliveries are made at this time (ms), or at once when it is not ahead. */
  deliver_at?: number;
}

/** A publish either wrote the event (`created`) or found the original of a repeat; a repeat with another body is a conflict. */
export type PublishOutcome = Outcome<{ created: boolean; event: HeraldEvent; deliveries: Delivery[] }>;

export class Publisher {
  constructor(
    private readonly store: Pick<QueueStore, "publish" | "publishMany">,
    private readonly catalog: Catalog,
    private readonly dispatcher: Dispatcher,
    private readonly deps: EngineDeps,
    private readonly lease_ms: number,
    /** The furthest ahead a publish may schedule its deliveries (delivery.max_schedule_ahead). */
    private readonly max_schedule_ahead_ms: number,
  ) {}

  /** Told the type of every event written (not repeats): metrics. */
  onPublished: (type: string) => void = () => {};

  /**
   * Checks an input against the catalogue without writing anything: the problem (invalid), or null.
   * A type private to other tenants than the event's is refused as a missing one: a tenant's
   * caller learns nothing of it; `explain` (an admin, who sees every type) is told why.
   */
  check(input: PublishInput, explain = false): Problem | null {
    const eventType = this.catalog.eventTypeFor(input.type, input.tenant);
    if (!eventType) {
      const hidden = explain ? this.catalog.eventTypes.get(input.type) : undefined;
      const message = hidden
        ? `event type "${input.type}" is limited to tenants ${hidden.tenants!.join(", ")}; tenant "${input.tenant}" may not publish it`
        : `event type "${input.type}" is not in the catalogue; create it first`;
      return new Problem("invalid", message, undefined, "unknown_event_type");
    }
    if (eventType.schema) {
      const problems = validateData(eventType.schema, input.data);
      if (problems.length) {
        return new Problem("invalid", `data does not match the schema of "${input.type}"`, problems, "invalid_data");
      }
    }
    if (input.deliver_at !== undefined && input.deliver_at - this.deps.now() > this.max_schedule_ahead_ms) {
      const ahead = formatDuration(this.max_schedule_ahead_ms);
      return new Problem("invalid", `deliver_at is more than ${ahead} ahead`, [
        { path: "deliver_at", message: `must be at most ${ahead} ahead (delivery.max_schedule_ahead)` },
      ]);
    }
    return null;
  }

  /** Writes a checked input. Resolves after the commit: a created event is on disk. */
  async publish(input: PublishInput): Promise<PublishOutcome> {
    const now = this.deps.now();
    const prepared = this.prepare(input, now);
    let result: PublishResult;
    try {
      result = await this.store.publish(prepared.item);
    } catch (error) {
      // A store that cannot write is answered 503 by the HTTP layer's one error handler.
      this.dispatcher.release(prepared.granted);
      throw error;
    }
    return this.settle(prepared, result);
  }

  /**
   * Writes checked inputs together (a batch request), each as publish would,
   * one outcome per input in order. They are handed to the store in one call:
   * on SQLite one write of the group commit instead of one per event.
   */
  async publishMany(inputs: PublishInput[]): Promise<PublishOutcome[]> {
    const now = this.deps.now();
    const prepared = inputs.map((input) => this.prepare(input, now));
    let results: PublishResult[];
    try {
      results = await this.store.publishMany(prepared.map((p) => p.item));
    } catch (error) {
      for (const p of prepared) this.dispatcher.release(p.granted);
      throw error;
    }
    return prepared.map((p, i) => this.settle(p, results[i]!));
  }

  /** An input's event and deliveries, leased where the dispatcher has room (reserved here). */
  private prepare(input: PublishInput, now: number): Prepared {
    const event: HeraldEvent = {
      id: input.id ?? newId("evt", now),
      type: input.type,
      tenant: input.tenant,
      data: input.data === undefined ? null : input.data,
      created_at: now,
      deliver_at: input.deliver_at ?? null,
    };
    const data_json = JSON.stringify(event.data);
    // A time not ahead means now: the event is sent as any other (leased at once where there is room).
    const scheduledAt = input.deliver_at !== undefined && input.deliver_at > now ? input.deliver_at : null;
    const routes = routesFor(this.catalog, event);
    // A destination whose breaker is open gets its delivery pending, not leased
    // (the store makes sure of it too: a breaker another instance just opened).
    // A scheduled event's deliveries are never leased at publish: they wait until deliver_at.
    // So is one with a limit that only the claim counts across instances (max_in_flight, ordered).
    const leasable = (d: Destination) => d.enabled && !this.dispatcher.breakerOpen(d.id) && !isLimited(d);
    const sendable = scheduledAt === null ? routes.filter((r) => leasable(r.destination)).length : 0;
    const limitedDue = scheduledAt === null && routes.some((r) => r.destination.enabled && isLimited(r.destination));
    // Past the in-memory queue, leased on disk: the row is written leased and read back later (dispatcher.ts: ON_DISK_LEASES).
    const granted = this.dispatcher.reserve(sendable, data_json.length);
    const onDiskIds = granted.disk > 0 ? new Set<string>() : null;
    let leased = 0;
    const deliveries = routes.map((route): Delivery => {
      const lease = leasable(route.destination) && leased < granted.memory + granted.disk;
      const id = newId("dlv", now);
      if (lease && leased++ >= granted.memory) onDiskIds!.add(id);
      return {
        id,
        event_id: event.id,
        destination_id: route.destination.id,
        subscription_id: route.subscription.id,
        tenant: event.tenant,
        event_type: event.type,
        status: lease ? "delivering" : "pending",
        attempts: 0,
        schedule_start: 0,
        next_attempt_at: lease ? null : (scheduledAt ?? now),
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
      // deliver_at joins the fingerprint only when given, so the fingerprints of
      // events published before scheduled delivery existed still match their repeats.
      request_hash: String(Bun.hash(`${event.type}\n${event.tenant}\n${data_json}${input.deliver_at === undefined ? "" : `\n${input.deliver_at}`}`)),
      deliveries,
    };
    const wakeAt = scheduledAt !== null && routes.length > 0 ? scheduledAt : null;
    return { item, granted, onDiskIds, backlog: leased < sendable || limitedDue, wakeAt };
  }

  /** After the commit: hands the leased deliveries to the dispatcher, or the reservation back for a repeat. */
  private settle(p: Prepared, result: PublishResult): PublishOutcome {
    const { item, granted } = p;
    if (!result.created) {
      this.dispatcher.release(granted);
      if (!result.same_request) {
        const message = `event ${result.event.id} was already published with this ${item.idempotency_key ? "Idempotency-Key" : "id"} and a different body`;
        return { ok: false, problem: new Problem("conflict", message, undefined, "idempotency_conflict") };
      }
      return { ok: true, created: false, event: result.event, deliveries: result.deliveries };
    }
    // The store's event and deliveries: it may have given the event another id
    // (a producer id that another tenant's event holds).
    // One event object for all its jobs, so the sender builds its body once (fan-out).
    this.onPublished(item.event.type);
    const forDelivery = { id: result.event.id, type: item.event.type, created_at: item.event.created_at, data_json: item.data_json };
    const jobs: DeliveryJob[] = [];
    const onDisk: { id: string; until: number }[] = [];
    for (const delivery of result.deliveries) {
      if (delivery.status !== "delivering") continue;
      if (p.onDiskIds?.has(delivery.id)) onDisk.push({ id: delivery.id, until: delivery.lease_until! });
      else jobs.push({ delivery, event: forDelivery });
    }
    this.dispatcher.accept(jobs, granted, onDisk);
    if (p.backlog) this.dispatcher.noteBacklog();
    if (p.wakeAt !== null) this.dispatcher.wakeAt(p.wakeAt);
    return { ok: true, created: true, event: result.event, deliveries: result.deliveries };
  }
}

/** An input made ready to write (Publisher.prepare), with what settling it after the commit needs. */
interface Prepared {
  item: NewEvent;
  granted: Reservation;
  /** The deliveries leased on disk rather than in memory (null: none). */
  onDiskIds: Set<string> | null;
  /** Due deliveries were left for a claim: not all could be leased, or a destination's limit is the claim's to count. */
  backlog: boolean;
  /** A scheduled event's time, when it reached a destination: the dispatcher is woken then like for a near retry (one further ahead is found by a sweep's claim). */
  wakeAt: number | null;
}
