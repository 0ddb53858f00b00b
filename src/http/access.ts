// Which roles may call which route: the one table, checked in the server's
// first hook right after authentication (before any body is read), so a
// publisher or reader is refused (403) whatever the route's own code does.
// Tenant limits stay with the engine's scope (scope.ts); a publisher's event
// types are checked where the event's type is known (mayPublish, events.ts).
// A route missing from the table is for admins only: a new route must be added
// here to be open to any other role (and test/api-keys-access.test.ts checks
// every route of the OpenAPI document against its own table).
import { matchesPattern } from "../rules/patterns.ts";
import type { Principal, Role } from "./auth.ts";

const MANAGE: readonly Role[] = ["admin", "tenant"];
const READ: readonly Role[] = ["admin", "tenant", "reader"];
const PUBLISH: readonly Role[] = ["admin", "tenant", "publisher"];
const ADMIN: readonly Role[] = ["admin"];

export interface AccessRule {
  method: string;
  /** The route as Elysia names it: `:name` stands for one path segment. */
  path: string;
  roles: readonly Role[];
  /** Only for principals that see every tenant (figures over all tenants: /metrics). */
  unscoped?: true;
}

const rule = (method: string, path: string, roles: readonly Role[], unscoped?: true): AccessRule => ({ method, path, roles, ...(unscoped ? { unscoped } : {}) });

/** Every protected route. Public paths (probes, docs, console) never get here. */
export const ACCESS: readonly AccessRule[] = [
  // Delivery counts over every tenant: no tenant-limited principal reads them.
  rule("GET", "/metrics", ["admin", "reader"], true),

  rule("POST", "/v1/events", PUBLISH),
  rule("POST", "/v1/events/batch", PUBLISH),
  rule("GET", "/v1/events", READ),
  rule("GET", "/v1/events/:id", READ),
  rule("POST", "/v1/events/:id/cancel", MANAGE),

  rule("GET", "/v1/deliveries", READ),
  rule("GET", "/v1/deliveries/:id", READ),
  rule("POST", "/v1/deliveries/retry", MANAGE),
  rule("POST", "/v1/deliveries/:id/retry", MANAGE),

  rule("GET", "/v1/destinations", READ),
  rule("POST", "/v1/destinations", MANAGE),
  rule("GET", "/v1/destinations/:id", READ),
  rule("PATCH", "/v1/destinations/:id", MANAGE),
  rule("DELETE", "/v1/destinations/:id", MANAGE),
  // The reveal routes: a secret and header values are not "reading" for a reader.
  rule("GET", "/v1/destinations/:id/secret", MANAGE),
  rule("GET", "/v1/destinations/:id/headers", MANAGE),
  rule("POST", "/v1/destinations/:id/rotate-secret", MANAGE),
  rule("POST", "/v1/destinations/:id/test", MANAGE),
  rule("POST", "/v1/destinations/:id/enable", MANAGE),
  rule("POST", "/v1/destinations/:id/disable", MANAGE),
  rule("POST", "/v1/destinations/:id/recover", MANAGE),
  rule("GET", "/v1/destinations/:id/stats", READ),
  rule("GET", "/v1/destinations/:id/health", READ),

  // Who changed what: read like the rest, within the caller's tenant (the engine's scope).
  rule("GET", "/v1/audit", READ),

  rule("GET", "/v1/subscriptions", READ),
  rule("POST", "/v1/subscriptions", MANAGE),
  rule("GET", "/v1/subscriptions/:id", READ),
  rule("PATCH", "/v1/subscriptions/:id", MANAGE),
  rule("DELETE", "/v1/subscriptions/:id", MANAGE),
  rule("POST", "/v1/subscriptions/:id/backfill", MANAGE),
  // Validates a filter and changes nothing: anyone who may read subscriptions may ask.
  rule("POST", "/v1/subscriptions/check-filter", READ),

  rule("GET", "/v1/backfills", READ),
  rule("GET", "/v1/backfills/:id", READ),
  rule("POST", "/v1/backfills/:id/cancel", MANAGE),

  // Event types are shared by every tenant: only an admin changes them.
  rule("GET", "/v1/event-types", READ),
  rule("POST", "/v1/event-types", ADMIN),
  rule("GET", "/v1/event-types/:name", READ),
  rule("PATCH", "/v1/event-types/:name", ADMIN),
  rule("DELETE", "/v1/event-types/:name", ADMIN),

  rule("GET", "/v1/stats", READ),
  rule("GET", "/v1/stats/destinations", READ),

  // The caller's own name, role and tenant: every role may ask who it is.
  rule("GET", "/v1/me", ["admin", "tenant", "reader", "publisher"]),

  rule("GET", "/v1/api-keys", ADMIN),
  rule("POST", "/v1/api-keys", ADMIN),
  rule("GET", "/v1/api-keys/:id", ADMIN),
  rule("DELETE", "/v1/api-keys/:id", ADMIN),
  rule("POST", "/v1/api-keys/:id/revoke", ADMIN),

  // A link signed in as a tenant: only an admin hands one out.
  rule("POST", "/v1/portal-links", ADMIN),
  rule("GET", "/v1/portal-links", ADMIN),
  rule("DELETE", "/v1/portal-links/:id", ADMIN),
];

const compiled = ACCESS.map((r) => ({
  ...r,
  pattern: new RegExp("^" + r.path.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/:[^/]+/g, "[^/]+") + "/?$"),
}));

/** The rule for a request, if any (HEAD reads like GET). */
export function ruleFor(method: string, path: string): AccessRule | null {
  const m = method === "HEAD" ? "GET" : method;
  return compiled.find((r) => r.method === m && r.pattern.test(path)) ?? null;
}

/**
 * Why the principal may not make this request, or null when it may. The
 * message names the role and the route, never anything about other tokens.
 */
export function refusal(principal: Principal, method: string, path: string): string | null {
  if (principal.role === "admin") return null;
  const found = ruleFor(method, path);
  if (!found || !found.roles.includes(principal.role)) return `a ${principal.role} token may not ${method} ${path}`;
  if (found.unscoped && principal.tenant !== null) return `a token limited to tenant "${principal.tenant}" may not read ${path}: it shows figures of every tenant`;
  return null;
}

/** Whether the principal may publish an event of this type: a publisher only within its patterns. */
export function mayPublish(principal: Principal, type: string): boolean {
  return principal.event_types === null || principal.event_types.some((pattern) => matchesPattern(pattern, type));
}

/** The 403 message for a type outside a publisher's patterns. */
export function publishRefusal(principal: Principal, type: string): string {
  return `this token may publish only event types matching ${principal.event_types!.join(", ")}; "${type}" is not one of them`;
}
