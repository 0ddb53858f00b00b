// /v1/portal-links (admin only; access.ts): POST makes a URL that opens the
// console signed in as one tenant, with no token to type. The credential rides
// in the URL's fragment (`/ui/#portal=hpl_…`), which browsers never send to a
// server: not in a Referer, not in a proxy's access log. GET lists the links'
// records (never a link), DELETE /{id} revokes one.
import { Elysia } from "elysia";
import { type } from "arktype";
import { duration, Tenant } from "../../config/fields.ts";
import { PORTAL_MAX_MS } from "../../engine/portal-links.ts";
import { callerOf } from "../caller.ts";
import { authenticated, changeErrors, DEFAULT_LIMIT, errorResponses, Limit, NoContent, security, type HttpContext } from "../context.ts";
import { Cursor, idParams } from "../parameters.ts";
import { isoTime, NullableTime, page, Time } from "../schemas.ts";
import { iso, time } from "../present.ts";
import type { PortalLinkRecord } from "../../engine/portal-links.ts";

const CreateBody = type({
  tenant: Tenant.describe("the tenant the link signs in as"),
  "expires_in?": duration(1_000, PORTAL_MAX_MS).describe("how long the link works: a duration such as 30m or 1h (default 1h, at most 7d)"),
  "read_only?": type("boolean").describe("true: the link may only read (no retry, no change); default false, what a tenant token may do"),
  "+": "reject",
}).configure({ title: "PortalLinkInput", examples: [{ tenant: "acme", expires_in: "30m", read_only: true }] });

export const LinkBody = type({
  id: type("string").describe("the link's id (plk_…): list it with GET /v1/portal-links, revoke it with DELETE /v1/portal-links/{id}"),
  url: type("string").describe("the console, signed in as the tenant; give it to that customer only, as it is"),
  path: type("string").describe("the same link without scheme and host, for a portal that serves Herald under its own address"),
  tenant: "string",
  read_only: "boolean",
  expires_at: isoTime("an ISO 8601 time, on Herald's clock"),
}).configure({ title: "PortalLink" });

const ListQuery = type({ "limit?": Limit, "cursor?": Cursor, "+": "reject" });
const IdParams = idParams("the link's id (plk_…), as POST /v1/portal-links answered it");

export const LinkRecordBody = type({
  id: type("string").describe("the link's id (plk_…), as its audit entries name it; the link itself is never stored"),
  tenant: "string",
  read_only: "boolean",
  created_at: Time,
  expires_at: Time,
  revoked_at: NullableTime.describe("when it was revoked; null while it works (until expires_at)"),
}).configure({ title: "PortalLinkRecord" });
const LinkRecordList = type(page(LinkRecordBody.array())).configure({ title: "PortalLinkRecordList" });

const presentRecord = (r: PortalLinkRecord) => ({
  id: r.id, tenant: r.tenant, read_only: r.read_only, created_at: time(r.created_at), expires_at: time(r.expires_at), revoked_at: iso(r.revoked_at),
});
const tags = ["Portal links"];

/**
 * Where the admin reached Herald: the request's own origin, or, when the
 * config trusts the proxy in front (server.trust_forwarded_for), the scheme
 * and host it says the browser used.
 */
function publicOrigin(request: Request, trustProxy: boolean): string {
  const own = new URL(request.url);
  if (!trustProxy) return own.origin;
  const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
  const host = request.headers.get("x-forwarded-host")?.split(",")[0]?.trim();
  try {
    return new URL(`${proto === "https" || proto === "http" ? proto : own.protocol.slice(0, -1)}://${host || own.host}`).origin;
  } catch {
    return own.origin;
  }
}

export function portalLinkRoutes(ctx: HttpContext) {
  return new Elysia({ prefix: "/v1/portal-links" })
    .use(authenticated())
    .post(
      "",
      async ({ body, set, principal, request }) => {
        const { token, grant } = await ctx.engine.portalLinks.create(
          callerOf(principal, request),
          { tenant: body.tenant, expires_in_ms: body.expires_in, read_only: body.read_only },
          ctx.engine.deps.now(),
        );
        const path = `/ui/#portal=${token}`;
        set.status = 201;
        // The one answer that holds the link; never logged, never in the audit entry.
        return { id: grant.nonce, url: publicOrigin(request, ctx.config.server.trust_forwarded_for) + path, path, tenant: grant.tenant, read_only: grant.read_only, expires_at: time(grant.exp) };
      },
      {
        parse: "json",
        body: CreateBody,
        response: { 201: LinkBody, ...changeErrors },
        detail: {
          operationId: "createPortalLink",
          summary: "Make a customer portal link: the console signed in as one tenant until it expires",
          description:
            "The link carries a signed, expiring credential: any change to it is refused, and every instance sharing the database accepts it. " +
            "Its record (never the link) is kept until it expires, so it can be revoked (DELETE /v1/portal-links/{id}). Once the encryption key it was signed under is retired (a key change), it is refused.",
          tags,
          security,
        },
      },
    )
    .get(
      "",
      async ({ query }) => {
        const page = await ctx.engine.portalLinks.list({ cursor: query.cursor, limit: query.limit ?? DEFAULT_LIMIT });
        return { data: page.data.map(presentRecord), next_cursor: page.next_cursor };
      },
      {
        query: ListQuery,
        response: { 200: LinkRecordList, ...errorResponses },
        detail: {
          operationId: "listPortalLinks",
          summary: "List the portal links made, newest first (their records, never the links)",
          description: "Links past their expiry are removed by the retention run.",
          tags,
          security,
        },
      },
    )
    .delete(
      "/:id",
      async ({ params, principal, request, set }) => {
        await ctx.engine.portalLinks.revoke(callerOf(principal, request), params.id, ctx.engine.deps.now());
        set.status = 204;
        return null;
      },
      {
        params: IdParams,
        response: { 204: NoContent, ...changeErrors },
        detail: {
          operationId: "revokePortalLink",
          summary: "Revoke a portal link: it and any console session it opened are refused from the next request on",
          tags,
          security,
        },
      },
    );
}
