// The audit log's engine side: who is calling (a Caller, handed to every
// service call that changes something), the entry a change makes, entries
// written on their own right after a change the store's transaction cannot
// carry, and the tenant-scoped reads of GET /v1/audit.
//
// Where each entry is written: catalogue changes (event types, destinations,
// subscriptions, enable/disable, secret rotation, the config's reconcile, the
// sweep's auto-disable) hand their entry to the catalogue write, which commits
// both in one transaction. Queue and job changes (retry, recover, cancel,
// backfill start/cancel), test sends (no write at all) and the disabling by a
// 410 (made inside the attempt's record, on the delivery path, which stays free
// of audit writes) are written right after the change, by `record`.
import type { AuditStore } from "../store/store.ts";
import type { Actor, AuditEntry, AuditFilter, Destination, Page } from "../store/types.ts";
import { newId } from "../store/ids.ts";
import type { Changes } from "./audit-changes.ts";
import { errorMessage, type EngineDeps } from "./deps.ts";
import type { Scope } from "./scope.ts";

/** Who asks for a change: the actor the entry names, and the request's id when it has one. */
export interface Caller {
  readonly actor: Actor;
  readonly request_id: string | null;
}

/** The config file's reconcile (at start and on reload). */
export const CONFIG_CALLER: Caller = { actor: { type: "config", name: "config" }, request_id: null };

/** Herald's own changes (auto-disable), named by the instance that made them. */
export const heraldCaller = (instance: string): Caller => ({ actor: { type: "herald", name: instance }, request_id: null });

/** What a change did, to what: the entry without its who and when. */
export interface AuditSubject {
  action: string;
  resource: { type: string; id: string };
  /** The resource's tenant; null for what belongs to none (event types). */
  tenant: string | null;
  changes?: Changes;
}

/** Herald's own disabling of a destination (a 410 Gone, or failing too long), as its audit entry names it. */
export const disabledByHerald = (destination: Destination, reason: string): AuditSubject => ({
  action: "destination.disabled", resource: { type: "destination", id: destination.id }, tenant: destination.tenant,
  changes: { enabled: { from: true, to: false }, disabled_reason: { from: destination.disabled_reason, to: reason } },
});

export function auditEntry(by: Caller, subject: AuditSubject, now: number): AuditEntry {
  return {
    id: newId("aud", now), at: now, actor: by.actor, action: subject.action, resource: subject.resource,
    tenant: subject.tenant, changes: subject.changes ?? {}, request_id: by.request_id,
  };
}

export class AuditLog {
  constructor(
    private readonly store: AuditStore,
    private readonly deps: EngineDeps,
  ) {}

  /** The entry for a change made now, to hand to the catalogue write that makes it. */
  entry(by: Caller, subject: AuditSubject): AuditEntry {
    return auditEntry(by, subject, this.deps.now());
  }

  /**
   * Writes the entry of a change already made. Never throws: the change stands
   * whatever happens here, and an error answer would have the caller repeat it;
   * a failed write is logged (the action and resource only, nothing of the change).
   */
  async record(by: Caller, subject: AuditSubject): Promise<void> {
    try {
      await this.store.record(this.entry(by, subject));
    } catch (error) {
      this.deps.log.error("writing an audit entry failed", {
        action: subject.action, resource: `${subject.resource.type} ${subject.resource.id}`, error: errorMessage(error),
      });
    }
  }

  /** Newest first; a tenant's scope sees only its tenant's entries (never an event type's, which belong to none). */
  list(scope: Scope, filter: Omit<AuditFilter, "tenant">): Promise<Page<AuditEntry>> {
    return this.store.list({ ...filter, tenant: scope.tenant ?? undefined });
  }
}
