// Whose resources a caller may see and change: every tenant (an admin), or one.
// HTTP builds a Scope from the request's token once; the engine's reads apply
// it, so tenant scoping is written here and nowhere else.
import type { EventType } from "../store/types.ts";
import { forbidden } from "./problem.ts";

export interface Scope {
  /** null: every tenant (an admin); else only this tenant's resources. */
  readonly tenant: string | null;
}

/** Whether a resource of `tenant` is within the scope. Outside it, a read answers not_found, never forbidden. */
export function sees(scope: Scope, tenant: string): boolean {
  return scope.tenant === null || scope.tenant === tenant;
}

/**
 * The scope narrowed to a tenant the caller names (a `tenant` filter or field).
 * An admin may name any tenant; a tenant's caller may name only its own, and
 * naming another is forbidden (it asked outright, so nothing is hidden by saying so).
 */
export function narrow(scope: Scope, requested: string | undefined): Scope {
  if (scope.tenant === null) return requested === undefined ? scope : { tenant: requested };
  if (requested !== undefined && requested !== scope.tenant) throw forbidden(`this token is limited to tenant "${scope.tenant}"`);
  return scope;
}

/** The tenant a new resource or event belongs to: the one named, within the scope, else the scope's own, else "default". */
export function owningTenant(scope: Scope, requested: string | undefined): string {
  return narrow(scope, requested).tenant ?? "default";
}

/**
 * Whether an event type is within a tenant's catalogue: one without a tenants
 * list is every tenant's; one with it only its tenants'. Another tenant may not
 * see, publish or receive it (fan-out checks it too, not only the API).
 */
export function typeVisibleTo(eventType: Pick<EventType, "tenants">, tenant: string): boolean {
  return eventType.tenants === null || eventType.tenants.includes(tenant);
}

/** Whether the scope sees the event type: an admin sees every one; outside it, a read answers not_found. */
export function seesEventType(scope: Scope, eventType: Pick<EventType, "tenants">): boolean {
  return scope.tenant === null || typeVisibleTo(eventType, scope.tenant);
}
