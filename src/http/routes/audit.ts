// GET /v1/audit: the audit log, newest first, filtered and paged like the other
// lists. An admin token reads every entry (and may narrow to a tenant); a
// tenant token reads only its tenant's entries. Entries never hold a secret or
// a static header value: the engine redacts them before anything is written.
import { Elysia } from "elysia";
import { type } from "arktype";
import type { AuditEntry } from "../../engine/records.ts";
import { authenticated, errorResponses, Limit, security, timeWindowPage, type HttpContext } from "../context.ts";
import { time } from "../present.ts";
import { Cursor, Since, TenantFilter, Until } from "../parameters.ts";
import { page } from "../schemas.ts";

const ListQuery = type({
  "resource_type?": type("string").describe("event_type, destination, subscription, delivery, event or backfill"),
  "resource_id?": type("string").describe("only changes to the resource of this id (dst_…, sub_…, an event type's name …)"),
  "actor?": type("string").describe("the actor's name: a token's or key's name, `config`, or the id of the Herald instance"),
  "action?": type("string").describe("such as destination.updated"),
  "tenant?": TenantFilter,
  "since?": Since,
  "until?": Until,
  "limit?": Limit,
  "cursor?": Cursor,
  "+": "reject",
});

export const AuditEntryBody = type({
  id: "string",
  at: type("string").describe("when the change was made (ISO 8601)"),
  actor: { type: "'token' | 'key' | 'config' | 'herald'", name: "string" },
  action: "string",
  resource: { type: "string", id: "string" },
  tenant: "string | null",
  changes: type({ "[string]": "unknown" }).describe(
    "each changed field as {from, to}; `headers` as header name → {from, to}; secrets and header values read \"[redacted]\"",
  ),
  request_id: "string | null",
}).configure({
  title: "AuditEntry",
  examples: [{
    id: "aud_0197a3c2e4b37c4d0e1f2a3b4c5d6e7f", at: "2026-01-31T12:00:00.000Z", actor: { type: "key", name: "deploy-bot" }, action: "destination.updated",
    resource: { type: "destination", id: "crm" }, tenant: "default", changes: { url: { from: "https://old.example.com/hooks", to: "https://crm.example.com/hooks" } },
    request_id: "req_7f3a9c",
  }],
});
const AuditList = type(page(AuditEntryBody.array())).configure({ title: "AuditList" });

export function presentAuditEntry(e: AuditEntry) {
  return { ...e, at: time(e.at) };
}

export function auditRoutes(ctx: HttpContext) {
  return new Elysia({ prefix: "/v1/audit" })
    .use(authenticated())
    .get(
      "",
      async ({ query, scope }) => {
        const { scope: within, ...window } = timeWindowPage(scope, query);
        const page = await ctx.engine.audit.list(within, {
          resource_type: query.resource_type, resource_id: query.resource_id, actor: query.actor, action: query.action, ...window,
        });
        return { data: page.data.map(presentAuditEntry), next_cursor: page.next_cursor };
      },
      {
        query: ListQuery,
        response: { 200: AuditList, ...errorResponses },
        detail: {
          operationId: "listAuditEntries",
          summary: "Read the audit log, newest first",
          description:
            "Every management change: who (actor), when (at), what (action), to which resource, in which tenant, and the fields it changed. " +
            "Signing secrets and static header values are never shown: a change to one reads \"[redacted]\". A tenant token sees only its tenant's entries.",
          tags: ["Audit"],
          security,
        },
      },
    );
}
