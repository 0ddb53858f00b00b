// /v1/api-keys (admin only; access.ts): issue a key (its text answered once,
// only its hash kept), list and read keys (never their text or hash), revoke
// (the key is kept, for the record). The config's tokens are listed too,
// read-only, as `managed_by: "config"` with the id `cfg_<name>`.
import { Elysia } from "elysia";
import { type } from "arktype";
import { EventTypePattern } from "../../config/fields.ts";
import type { ApiKey } from "../../engine/api-keys.ts";
import { assertApiManaged, notFound } from "../../engine/problem.ts";
import type { ConfigTokenRecord } from "../auth.ts";
import { callerOf } from "../caller.ts";
import { authenticated, changeErrors, DEFAULT_LIMIT, errorResponses, Limit, NoContent, parseTime, security, type HttpContext } from "../context.ts";
import { Cursor, idParams } from "../parameters.ts";
import { iso, time } from "../present.ts";
import { isoTime, NullableTime, page } from "../schemas.ts";

const Role = type("'admin' | 'tenant' | 'publisher' | 'reader'");
const CreateBody = type({
  name: type("string").describe("what the key is for, shown in lists (1 to 100 characters)"),
  role: Role.describe("admin: everything; tenant: its tenant's resources; publisher: only POST /v1/events(/batch); reader: only reads"),
  "tenant?": type("string").describe("required for role tenant; for publisher and reader, limits the key to this tenant"),
  "event_types?": EventTypePattern.array().describe("publisher only: the event types it may publish (subscription patterns); all when left out"),
  "expires_at?": isoTime("ISO 8601 with a time zone, in the future; never expires when left out"),
  "+": "reject",
}).configure({
  title: "ApiKeyInput",
  examples: [{ name: "shop-backend", role: "publisher", tenant: "acme", event_types: ["order.*"], expires_at: "2027-01-31T00:00:00Z" }],
});
const ListQuery = type({ "limit?": Limit, "cursor?": Cursor, "+": "reject" });
const IdParams = idParams("the key's id: key_… for a key made through the API, cfg_<name> for a token of the config");

export const KeyBody = type({
  id: type("string").describe("key_… for a key made through the API; cfg_<name> for a token of the config"),
  name: "string",
  role: Role,
  tenant: "string | null",
  event_types: type("string[] | null").describe("a publisher's patterns; null: every type"),
  managed_by: "'api' | 'config'",
  created_at: NullableTime.describe("null for config tokens"),
  expires_at: NullableTime,
  revoked_at: NullableTime,
  last_used_at: NullableTime.describe("written at most once a minute per key; null for config tokens (not tracked)"),
}).configure({ title: "ApiKey" });
const KeyList = type(page(KeyBody.array())).configure({ title: "ApiKeyList" });
export const Created = KeyBody.and({ key: type("string").describe("the key itself (hrk_…): shown this once, never again; keep it safe") }).configure({ title: "CreatedApiKey" });
const tags = ["API keys"];

function presentKey(k: ApiKey) {
  return {
    id: k.id, name: k.name, role: k.role, tenant: k.tenant, event_types: k.event_types, managed_by: "api" as const,
    created_at: time(k.created_at), expires_at: iso(k.expires_at), revoked_at: iso(k.revoked_at), last_used_at: iso(k.last_used_at),
  };
}

function presentConfigToken(t: ConfigTokenRecord) {
  return {
    id: t.id, name: t.name, role: t.role, tenant: t.tenant, event_types: t.event_types === null ? null : [...t.event_types],
    managed_by: "config" as const, created_at: null, expires_at: null, revoked_at: null, last_used_at: null,
  };
}

/** A config token is revoked by removing it from the file (and restarting): 409, like any resource the config owns. */
const refuseConfigToken = (id: string) => assertApiManaged({ managed_by: "config" }, "token", id);

export function apiKeyRoutes(ctx: HttpContext) {
  const keys = ctx.engine.apiKeys;
  const configToken = (id: string) => ctx.auth.configTokens().find((t) => t.id === id) ?? null;

  return new Elysia({ prefix: "/v1/api-keys" })
    .use(authenticated())
    .post(
      "",
      async ({ body, set, principal, request }) => {
        const now = ctx.engine.deps.now();
        const expires = parseTime(body.expires_at, "expires_at");
        const { key, record } = await keys.create(callerOf(principal, request), { name: body.name, role: body.role, tenant: body.tenant, event_types: body.event_types, expires_at: expires }, now);
        set.status = 201;
        // The one answer that holds the key; never logged.
        return { ...presentKey(record), key };
      },
      {
        parse: "json",
        body: CreateBody,
        response: { 201: Created, ...changeErrors },
        detail: { operationId: "createApiKey", summary: "Issue an API key (the key is in this answer only)", tags, security },
      },
    )
    .get(
      "",
      async ({ query }) => {
        // Config tokens (cfg_…) sort before keys (key_…): one list in id order, paged by id.
        const all = [...ctx.auth.configTokens().map(presentConfigToken), ...(await keys.list()).map(presentKey)].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const after = query.cursor === undefined ? all : all.filter((k) => k.id > query.cursor!);
        const limit = query.limit ?? DEFAULT_LIMIT;
        const data = after.slice(0, limit);
        return { data, next_cursor: after.length > limit ? data[data.length - 1]!.id : null };
      },
      { query: ListQuery, response: { 200: KeyList, ...errorResponses }, detail: { operationId: "listApiKeys", summary: "List API keys and config tokens (never the keys themselves)", tags, security } },
    )
    .get(
      "/:id",
      async ({ params }) => {
        const token = configToken(params.id);
        if (token) return presentConfigToken(token);
        if (params.id.startsWith("cfg_")) throw notFound("API key", params.id);
        return presentKey(await keys.get(params.id));
      },
      { params: IdParams, response: { 200: KeyBody, ...errorResponses }, detail: { operationId: "getApiKey", summary: "Get an API key", tags, security } },
    )
    .post(
      "/:id/revoke",
      async ({ params, principal, request }) => {
        if (configToken(params.id)) refuseConfigToken(params.id);
        return presentKey(await keys.revoke(callerOf(principal, request), params.id, ctx.engine.deps.now()));
      },
      {
        params: IdParams,
        response: { 200: KeyBody, ...changeErrors },
        detail: { operationId: "revokeApiKey", summary: "Revoke an API key: refused at once on every instance; kept in the list, revoked", tags, security },
      },
    )
    .delete(
      "/:id",
      async ({ params, set, principal, request }) => {
        if (configToken(params.id)) refuseConfigToken(params.id);
        await keys.revoke(callerOf(principal, request), params.id, ctx.engine.deps.now());
        set.status = 204;
        return null;
      },
      {
        params: IdParams,
        response: { 204: NoContent, ...changeErrors },
        detail: { operationId: "deleteApiKey", summary: "Revoke an API key (as POST …/revoke; the record is kept, revoked)", tags, security },
      },
    );
}
