// /v1/destinations: CRUD, the signing secret and its rotation, test sends,
// enable/disable, recovery of failed deliveries, health stats and endpoint health.
import { Elysia } from "elysia";
import { type } from "arktype";
import { ClientCertificate, duration, EventTypeName, Headers, HttpUrl, Id, MaxInFlight, RateLimit, Secret, SignatureScheme, StringMap, Tenant, TimeoutMs as Timeout } from "../../config/fields.ts";
import { narrow, owningTenant, type Scope } from "../../engine/scope.ts";
import { authenticated, changeErrors, DEFAULT_LIMIT, errorResponses, Limit, NoContent, parseTime, security, statsWindow, type HttpContext } from "../context.ts";
import { Cursor, DESTINATION_ID, idParams, TenantFilter } from "../parameters.ts";
import { callerOf } from "../caller.ts";
import { iso, presentAttempt, presentDestination, presentDestinationStats } from "../present.ts";
import { publicKeyOf, schemeOf } from "../../rules/signing-keys.ts";
import { isoTime, AttemptBody, DestinationBody, DestinationList, DestinationStatsBody, EndpointHealthBody } from "../schemas.ts";

const CreateBody = type({
  "id?": Id,
  url: HttpUrl,
  "description?": "string <= 1000",
  "tenant?": Tenant,
  "headers?": Headers,
  "tls?": ClientCertificate,
  "timeout?": Timeout,
  "rate_limit?": RateLimit,
  "max_in_flight?": MaxInFlight,
  "ordered?": "boolean",
  "enabled?": "boolean",
  "metadata?": StringMap,
  "signature?": SignatureScheme,
  "secret?": Secret,
  "+": "reject",
}).configure({
  title: "DestinationInput",
  examples: [{
    id: "crm", url: "https://crm.example.com/hooks/herald", description: "The CRM's order webhook",
    headers: { "x-auth-token": "crm-token-from-your-vault" }, timeout: 10_000, rate_limit: 20, metadata: { team: "sales" },
  }],
});
const PatchBody = type({
  "url?": HttpUrl,
  "description?": "string <= 1000",
  "headers?": Headers,
  // Values checked like `headers` (names, reserved names, line breaks); null removes.
  "header_changes?": type({ "[string]": "string | null" }).narrow((changes, ctx) => {
    const set = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== null)) as Record<string, string>;
    const removed = Object.keys(changes).filter((name) => changes[name] === null);
    const checked = Headers(Object.fromEntries([...Object.entries(set), ...removed.map((name) => [name, ""])]));
    if (checked instanceof type.errors) {
      for (const e of checked) ctx.reject({ path: [...ctx.path, ...e.path], problem: e.problem });
      return false;
    }
    return true;
  }),
  "tls?": ClientCertificate.or("null"),
  "timeout?": Timeout.or("null"),
  "rate_limit?": RateLimit.or("null"),
  "max_in_flight?": MaxInFlight.or("null"),
  "ordered?": "boolean",
  "enabled?": "boolean",
  "metadata?": StringMap,
  "signature?": SignatureScheme,
  "+": "reject",
}).configure({
  title: "DestinationChanges",
  examples: [{ url: "https://crm.example.com/hooks/herald-v2", header_changes: { "x-auth-token": "rotated-token", "x-old-header": null }, rate_limit: null }],
});
const ListQuery = type({ "tenant?": TenantFilter, "limit?": Limit, "cursor?": Cursor, "+": "reject" });
const IdParams = idParams(DESTINATION_ID);
const RotateBody = type({
  "secret?": Secret,
  "grace_period?": duration(0, 7 * 24 * 3_600_000).describe("how long the previous secret stays valid, such as 24h (default) or 0s; at most 7d"),
  "+": "reject",
}).configure({ title: "SecretRotation", examples: [{ grace_period: "24h" }] });
// Any valid name may be sent, catalogued or not: a test checks the receiver, and may come
// before the type exists. `data` is bounded like publish data, by the body limits.
const TestBody = type({
  "event_type?": EventTypeName,
  "data?": type("unknown").describe("the payload to send (default: the event type's example)"),
  "+": "reject",
}).configure({ title: "TestSend", examples: [{ event_type: "order.created", data: { order_id: "ord_test", total: 1 } }] });
const Instant = isoTime("ISO 8601, such as 2026-01-31T12:00:00Z");
const RecoverBody = type({
  since: Instant.describe("failed deliveries created at or after this time (ISO 8601)"),
  "until?": Instant.describe("…and before this time (ISO 8601; default now)"),
  "+": "reject",
}).configure({ title: "RecoveryWindow", examples: [{ since: "2026-01-31T00:00:00Z", until: "2026-01-31T12:00:00Z" }] });
const DisableBody = type({ "reason?": type("string <= 500").describe("why, shown as disabled_reason"), "+": "reject" }).configure({
  title: "DisableReason",
  examples: [{ reason: "receiver under maintenance until 14:00" }],
});
const WindowQuery = type({
  "since?": Instant.describe("the window's start (ISO 8601; default 24 hours ago)"),
  "until?": Instant.describe("the window's end (ISO 8601; default now)"),
  "+": "reject",
});
const HealthQuery = type({ "range?": type("'24h' | '7d'").describe("24h: hourly buckets (default); 7d: daily buckets"), "+": "reject" });
const SecretAnswer = type({
  secret: "string",
  previous: type({ secret: "string", expires_at: "string" }).array().describe("secrets still valid during a rotation's grace period"),
})
  .or({ public_key: "string", previous_public_keys: type({ public_key: "string", expires_at: "string" }).array() })
  .configure({ title: "DestinationSecret", description: "an HMAC destination's secret (whsec_…), or an ed25519 destination's public keys (whpk_…)" }, "self");
const RotatedSecret = type({ secret: "string", previous_expires_at: "string" })
  .or({ public_key: "string", previous_expires_at: "string" })
  .configure({ title: "RotatedSecret" }, "self");
const Recovered = type({ requeued: type("number").describe("how many failed deliveries went back to pending") }).configure({ title: "Recovered" });
const HeadersAnswer = type({ headers: type({ "[string]": "string" }).describe("each static header's name and value") }).configure({ title: "DestinationHeaders" });
const TestResult = type({ ok: type("boolean").describe("the receiver answered 2xx in time"), attempt: AttemptBody }).configure({ title: "TestResult" });

const tags = ["Destinations"];

export function destinationRoutes(ctx: HttpContext) {
  const service = ctx.engine.destinations;
  /** A destination the token may see; another tenant's is a 404, as if it did not exist. */
  const visible = (scope: Scope, id: string) => ctx.engine.reads.getDestination(scope, id);
  // An HMAC secret is shown once here; an ed25519 private key never is (public_key is in the body).
  const WithSecret = DestinationBody.and({ "secret?": type("string").describe("the signing secret (whsec_…), for an hmac destination: shown here and by GET …/secret") }).configure({
    title: "CreatedDestination",
  });
  /** What a rotation or a secret read may show of a key: an HMAC secret itself, an ed25519 key only as its public key. */
  const shown = (secret: string) => (schemeOf(secret) === "ed25519" ? { public_key: publicKeyOf(secret) } : { secret });

  return new Elysia({ prefix: "/v1/destinations" })
    .use(authenticated())
    .get(
      "",
      async ({ query, scope }) => {
        const page = await ctx.engine.reads.listDestinations(narrow(scope, query.tenant), { cursor: query.cursor, limit: query.limit ?? DEFAULT_LIMIT });
        return { data: page.data.map(presentDestination), next_cursor: page.next_cursor };
      },
      { query: ListQuery, response: { 200: DestinationList, ...errorResponses }, detail: { operationId: "listDestinations", summary: "List destinations", tags, security } },
    )
    .post(
      "",
      async ({ body, scope, principal, request, set }) => {
        const tenant = owningTenant(scope, body.tenant);
        const { destination, secret } = await service.create(callerOf(principal, request), { ...body, tenant });
        set.status = 201;
        return { ...presentDestination(destination), ...(schemeOf(secret) === "hmac" ? { secret } : {}) };
      },
      {
        parse: "json",
        body: CreateBody,
        response: { 201: WithSecret, ...changeErrors },
        detail: {
          operationId: "createDestination",
          summary: "Create a destination",
          description:
            "The signing secret is generated unless given, and shown only in this answer and by GET …/secret. With `signature: ed25519` Herald keeps a private key (`whsk_`) and never shows it: the answer carries the `public_key` (`whpk_`) instead.",
          tags,
          security,
        },
      },
    )
    .get("/:id", async ({ params, scope }) => presentDestination(await visible(scope, params.id)), {
      params: IdParams,
      response: { 200: DestinationBody, ...errorResponses },
      detail: { operationId: "getDestination", summary: "Get a destination", tags, security },
    })
    .patch(
      "/:id",
      async ({ params, body, scope, principal, request }) => {
        await visible(scope, params.id);
        return presentDestination(await service.update(callerOf(principal, request), params.id, body));
      },
      { params: IdParams, parse: "json", body: PatchBody, response: { 200: DestinationBody, ...changeErrors }, detail: { operationId: "updateDestination", summary: "Change a destination", description: "`headers`, when given, replaces every static header; `header_changes` changes only the headers it names (a value sets or replaces, null removes). Answers show header_names only. A `signature` other than the current one generates a fresh key of that scheme, replacing every previous one at once (no grace period).", tags, security } },
    )
    .delete(
      "/:id",
      async ({ params, scope, principal, request, set }) => {
        await visible(scope, params.id);
        await service.remove(callerOf(principal, request), params.id);
        set.status = 204;
        return null;
      },
      { params: IdParams, response: { 204: NoContent, ...changeErrors }, detail: { operationId: "deleteDestination", summary: "Delete a destination (its unfinished deliveries are cancelled)", tags, security } },
    )
    .get(
      "/:id/secret",
      async ({ params, scope }) => {
        const { secret, previous } = await ctx.engine.reads.destinationSecrets(scope, params.id);
        const scheme = schemeOf(secret);
        // Only keys of the current scheme: a scheme switch drops the others, this keeps a private key out for certain.
        const same = previous.filter((p) => schemeOf(p.secret) === scheme);
        if (scheme === "ed25519") {
          return { public_key: publicKeyOf(secret), previous_public_keys: same.map((p) => ({ public_key: publicKeyOf(p.secret), expires_at: iso(p.expires_at)! })) };
        }
        return { secret, previous: same.map((p) => ({ secret: p.secret, expires_at: iso(p.expires_at)! })) };
      },
      {
        params: IdParams,
        response: { 200: SecretAnswer, ...errorResponses },
        detail: {
          operationId: "getDestinationSecret",
          summary: "Read the signing secret (and any previous one still in its grace period)",
          description: "For an ed25519 destination, the public keys (`whpk_`) instead: the private key never leaves Herald.",
          tags,
          security,
        },
      },
    )
    .get(
      "/:id/headers",
      async ({ params, scope }) => ({ headers: await ctx.engine.reads.destinationHeaders(scope, params.id) }),
      {
        params: IdParams,
        response: { 200: HeadersAnswer, ...errorResponses },
        detail: {
          operationId: "getDestinationHeaders",
          summary: "Read the static header values",
          description: "Lists and reads show only header_names: values often carry credentials. The same tokens that may read the signing secret may read them here.",
          tags,
          security,
        },
      },
    )
    .post(
      "/:id/rotate-secret",
      async ({ params, body, scope, principal, request }) => {
        await visible(scope, params.id);
        const result = await service.rotateSecret(callerOf(principal, request), params.id, { secret: body.secret, grace_ms: body.grace_period });
        return { ...shown(result.secret), previous_expires_at: iso(result.previous_expires_at)! };
      },
      {
        params: IdParams,
        parse: "json",
        body: RotateBody,
        response: { 200: RotatedSecret, ...changeErrors },
        detail: {
          operationId: "rotateDestinationSecret",
          summary: "Rotate the signing secret",
          description:
            "During the grace period (default 24h, at most 7d) messages carry a signature for each valid secret. An ed25519 destination gets a new key pair of its scheme; the answer shows its public key.",
          tags,
          security,
        },
      },
    )
    .post(
      "/:id/test",
      async ({ params, body, scope, principal, request }) => {
        await visible(scope, params.id);
        const result = await service.test(callerOf(principal, request), params.id, body);
        return { ok: result.ok, attempt: presentAttempt({ ...result.attempt, id: "test", delivery_id: "test", number: 1 }) };
      },
      {
        params: IdParams,
        parse: "json",
        body: TestBody,
        response: { 200: TestResult, ...changeErrors },
        detail: { operationId: "testDestination", summary: "Send a test event now and answer with the attempt", description: "Sends the event type's example (or the given data). Test sends are not kept in the log.", tags, security },
      },
    )
    .post(
      "/:id/enable",
      async ({ params, scope, principal, request }) => {
        await visible(scope, params.id);
        return presentDestination(await service.setEnabled(callerOf(principal, request), params.id, true));
      },
      { params: IdParams, response: { 200: DestinationBody, ...changeErrors }, detail: { operationId: "enableDestination", summary: "Enable a destination; its pending deliveries resume", tags, security } },
    )
    .post(
      "/:id/disable",
      async ({ params, body, scope, principal, request }) => {
        await visible(scope, params.id);
        return presentDestination(await service.setEnabled(callerOf(principal, request), params.id, false, body.reason));
      },
      { params: IdParams, parse: "json", body: DisableBody, response: { 200: DestinationBody, ...changeErrors }, detail: { operationId: "disableDestination", summary: "Disable a destination; its deliveries wait, pending", tags, security } },
    )
    .post(
      "/:id/recover",
      async ({ params, body, scope, principal, request }) => {
        await visible(scope, params.id);
        const since = parseTime(body.since, "since")!;
        const requeued = await service.recover(callerOf(principal, request), params.id, since, parseTime(body.until, "until"));
        return { requeued };
      },
      {
        params: IdParams,
        parse: "json",
        body: RecoverBody,
        response: { 200: Recovered, ...changeErrors },
        detail: { operationId: "recoverDestination", summary: "Re-queue the failed deliveries created in a window", description: "Each keeps its webhook-id and gets a fresh retry schedule.", tags, security },
      },
    )
    .get(
      "/:id/stats",
      async ({ params, query, scope }) => {
        const { since, until } = statsWindow(query, ctx.engine.deps.now());
        return presentDestinationStats(params.id, since, until, await ctx.engine.reads.destinationHealth(scope, params.id, since, until));
      },
      {
        params: IdParams,
        query: WindowQuery,
        response: {
          200: DestinationStatsBody,
          ...errorResponses,
        },
        detail: { operationId: "getDestinationStats", summary: "Delivery counts, success rate, last success and last failure (default window: the last 24 h)", tags, security },
      },
    )
    .get(
      "/:id/health",
      async ({ params, query, scope }) => {
        const range = query.range ?? "24h";
        const h = await ctx.engine.reads.endpointHealth(scope, params.id, range);
        const d = h.destination;
        return {
          destination_id: d.id, range, since: iso(h.since)!, until: iso(h.until)!, bucket: range === "24h" ? ("1h" as const) : ("1d" as const),
          counts: h.deliveries.counts, retrying: h.deliveries.retrying, success_rate: h.success_rate,
          buckets: h.buckets.map((b) => ({ ...b, start: iso(b.start)! })),
          breaker: h.breaker, breaker_next_probe_at: iso(d.breaker?.opened_at == null ? null : d.breaker.next_probe_at),
          in_flight: h.load.in_flight, max_in_flight: d.max_in_flight, rate_limit: d.rate_limit, due: h.load.due,
          held_back: h.held_back.map((r) => ({ ...r, until: iso(r.until) })),
        };
      },
      {
        params: IdParams,
        query: HealthQuery,
        response: { 200: EndpointHealthBody, ...errorResponses },
        detail: {
          operationId: "getDestinationHealth",
          summary: "Endpoint health: attempts and latency over time, the success rate, the breaker, and why it is held back",
          description: "range 24h (default: hourly buckets) or 7d (daily buckets). Latency percentiles are nearest-rank over the attempts started in each bucket.",
          tags,
          security,
        },
      },
    );
}
