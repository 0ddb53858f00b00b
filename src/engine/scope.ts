// Whose resources a caller may see and change: every tenant (an admin), or one.
// HTTP builds a Scope from the request's token once; the engine's reads apply
// it, so tenant scoping is written here and nowhere else.
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
