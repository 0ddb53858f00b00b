// Managing subscriptions: each links one destination (and so its tenant) to
// event-type patterns, with an optional payload filter checked on save. Each
// change is written with its audit entry, under the caller (`by`).
import type { Subscription } from "../store/types.ts";
import type { Caller } from "./audit.ts";
import { subscriptionChanges } from "./audit-changes.ts";
import { newId } from "../store/ids.ts";
import type { ServiceParts } from "./service-parts.ts";
import { validateFilter } from "../rules/filter.ts";
import { assertApiManaged, notFound, Problem } from "./problem.ts";

export interface SubscriptionInput {
  id?: string;
  destination_id: string;
  event_types: string[];
  filter?: object | null;
  enabled?: boolean;
  description?: string;
}

export type SubscriptionPatch = Partial<Omit<SubscriptionInput, "id" | "destination_id">>;

export class SubscriptionService {
  constructor(private readonly parts: ServiceParts) {}

  async get(id: string): Promise<Subscription> {
    const subscription = await this.parts.store.catalog.getSubscription(id);
    if (!subscription) throw notFound("subscription", id);
    return subscription;
  }

  /** `tenant` is the destination's: a subscription cannot cross tenants. */
  async create(by: Caller, input: SubscriptionInput): Promise<Subscription> {
    const destination = await this.parts.store.catalog.getDestination(input.destination_id);
    if (!destination) throw missingDestination(input.destination_id);
    checkFilter(input.filter);
    const now = this.parts.deps.now();
    const id = input.id ?? newId("sub", now);
    const subscription: Subscription = {
      id, destination_id: destination.id, tenant: destination.tenant, event_types: input.event_types,
      filter: input.filter ?? null, enabled: input.enabled ?? true, description: input.description ?? "",
      managed_by: "api", created_at: now, updated_at: now,
    };
    // One insert-if-absent, never look-then-write: another instance may create the same id meanwhile.
    const created = await this.parts.store.catalog.createSubscription(subscription, this.entry(by, "subscription.created", null, subscription));
    if (created === "taken") throw new Problem("conflict", `subscription ${id} exists already`, [{ path: "id", message: "is taken" }]);
    if (created === "no_destination") throw missingDestination(destination.id);
    await this.parts.catalog.reload();
    this.parts.operational.emit("herald.subscription.created", subscription.tenant, {
      subscription_id: id, destination_id: destination.id, event_types: subscription.event_types,
    });
    return subscription;
  }

  async update(by: Caller, id: string, patch: SubscriptionPatch): Promise<Subscription> {
    const current = await this.get(id);
    assertApiManaged(current, "subscription", id);
    if (patch.filter !== undefined) checkFilter(patch.filter);
    const next: Subscription = {
      ...current,
      event_types: patch.event_types ?? current.event_types,
      filter: patch.filter === undefined ? current.filter : patch.filter,
      enabled: patch.enabled ?? current.enabled,
      description: patch.description ?? current.description,
      updated_at: this.parts.deps.now(),
    };
    // A keyed update: a subscription deleted meanwhile (here, elsewhere, or with its destination) stays deleted.
    const found = await this.parts.store.catalog.updateSubscription(next, this.entry(by, "subscription.updated", current, next));
    await this.parts.catalog.reload();
    if (!found) throw notFound("subscription", id);
    return next;
  }

  async remove(by: Caller, id: string): Promise<void> {
    const current = await this.get(id);
    assertApiManaged(current, "subscription", id);
    await this.parts.store.catalog.deleteSubscription(id, this.entry(by, "subscription.deleted", current, null));
    await this.parts.catalog.reload();
  }

  /**
   * The same check a save makes, without saving (the console's "check" button):
   * throws the 400 problem with its details, or returns when the filter is valid.
   */
  checkFilter(filter: object | null): void {
    checkFilter(filter);
  }

  private entry(by: Caller, action: string, before: Subscription | null, after: Subscription | null) {
    const s = (after ?? before)!;
    return this.parts.audit.entry(by, { action, resource: { type: "subscription", id: s.id }, tenant: s.tenant, changes: subscriptionChanges(before, after) });
  }
}

const missingDestination = (id: string) =>
  new Problem("invalid", `destination ${id} does not exist`, [{ path: "destination_id", message: "does not exist" }]);

function checkFilter(filter: object | null | undefined): void {
  if (filter === undefined || filter === null) return;
  const problems = validateFilter(filter);
  if (problems.length) throw new Problem("invalid", `the filter is invalid: ${problems[0]!.message}`, problems);
}
