// /v1/events: publish one or a batch (202 once on disk), now or scheduled
// (deliver_at), list, read one event with its deliveries, and cancel the
// deliveries of one that are not yet made.
import { Elysia } from "elysia";
import { type } from "arktype";
import { isReservedEventType, RESERVED_EVENT_TYPE } from "../../rules/patterns.ts";
import { parseInstant } from "../../rules/instant.ts";
import type { PublishInput } from "../../engine/publisher.ts";
import { forbidden, invalid } from "../../engine/problem.ts";
import { owningTenant, type Scope } from "../../engine/scope.ts";
import { EVENT_TYPE_NAME, ID } from "../../config/fields.ts";
import { mayPublish, publishRefusal } from "../access.ts";
import { authenticated, changeErrors, documentedResponses, errorResponses, Limit, security, TIME_RULE, timeWindowPage, type HttpContext } from "../context.ts";
import { Cursor, EVENT_ID as EVENT_ID_PARAM, idParams, Since, TenantFilter, Until } from "../parameters.ts";
import type { ErrorDetail } from "../errors.ts";
import { callerOf } from "../caller.ts";
import { iso, presentDelivery, presentEvent } from "../present.ts";
import { DeliveryBody, EventBody, EventList, EXAMPLE_DELIVERY, EXAMPLE_EVENT, NullableTime } from "../schemas.ts";

const MAX_BATCH = 1000;
/** As many problems as an error answer shows (errors.ts keeps the first 20). */
const MAX_DETAILS = 20;
const Published = type({
  id: type("string").describe("the event's id"),
  deliveries: type("number").describe("how many deliveries it made (one per matching subscription)"),
  deliver_at: NullableTime,
}).configure({ title: "PublishedEvent", examples: [{ id: "evt_0197a3c2e4b07c1d9f3e2a1b4c5d6e7f", deliveries: 2, deliver_at: null }] });
const BatchPublished = type({
  data: type({ id: "string", deliveries: "number", created: type("boolean").describe("false when an event of that id already existed (answered as it was)"), deliver_at: NullableTime })
    .or({ error: "string", message: "string" })
    .array()
    .describe("one result per event, in the order sent"),
}).configure({ title: "PublishedBatch" });
const EventWithDeliveries = EventBody.and({ deliveries: DeliveryBody.array() }).configure({
  title: "EventWithDeliveries",
  examples: [{ ...EXAMPLE_EVENT, deliveries: [EXAMPLE_DELIVERY] }],
});
const Cancelled = EventBody.and({
  deliveries: DeliveryBody.array(),
  cancelled: type("number").describe("how many deliveries this request cancelled"),
}).configure({
  title: "CancelledEvent",
  examples: [{ ...EXAMPLE_EVENT, deliveries: [{ ...EXAMPLE_DELIVERY, status: "cancelled", last_status: null, last_error: "cancelled through the API" }], cancelled: 1 }],
});
/** Producers may bring their own event ids (their own primary keys, say). */
const EVENT_ID = /^[a-zA-Z0-9_.:-]{1,128}$/;

const PublishBody = type({
  type: type("string").describe("a catalogued event type name, such as order.created"),
  "data?": type("unknown").describe("the payload, any JSON; checked against the event type's schema when it has one"),
  "tenant?": type("string").describe("the tenant it belongs to (default: `default`, or the token's own tenant)"),
  "id?": type("string").describe("your own id for it (1 to 128 letters, digits or _ . : -): a repeat with the same id answers 200 with the original"),
  "deliver_at?": type("string | null").describe(
    "deliver the event's webhooks at this time, not now: ISO 8601 with a time zone (2026-01-31T12:00:00Z); " +
      "a time not ahead means now; at most delivery.max_schedule_ahead (default 90 days) ahead",
  ),
  "+": "reject",
}).configure({
  title: "EventInput",
  examples: [{ type: "order.created", tenant: "default", data: { order_id: "ord_1042", total: 129.5, currency: "EUR" } }],
});
const BatchBody = type({ events: PublishBody.array().describe(`1 to ${MAX_BATCH} events`), "+": "reject" }).configure({
  title: "EventBatchInput",
  examples: [{
    events: [
      { type: "order.created", data: { order_id: "ord_1042", total: 129.5 } },
      { type: "order.paid", id: "ord_1042-paid", data: { order_id: "ord_1042" }, deliver_at: "2026-02-01T09:00:00Z" },
    ],
  }],
});
const IdempotencyHeaders = type({
  "idempotency-key?": type("string").describe(
    "1 to 256 characters; a repeat with the same key (within the tenant) answers 200 with the original event, the same key with another body 409",
  ),
});
const ListQuery = type({
  "type?": type("string").describe("only events of this type"),
  "tenant?": TenantFilter,
  "since?": Since,
  "until?": Until,
  "limit?": Limit,
  "cursor?": Cursor,
  "+": "reject",
});
const IdParams = idParams(EVENT_ID_PARAM);

const PUBLISH_FIELDS = new Set(["type", "data", "tenant", "id", "deliver_at"]);

/**
 * Checks a batch's size and its events' field names before arktype sees it.
 * arktype reports each unknown key as an issue (~16 µs each, measured), so a
 * 1 MiB batch of events with many stray keys would cost seconds of the one
 * thread; after this check each event can raise at most five issues.
 */
function precheckBatch(body: unknown): void {
  const events = (body as { events?: unknown } | null)?.events;
  if (!Array.isArray(events)) return; // arktype's own message names the field
  if (events.length === 0 || events.length > MAX_BATCH) {
    throw invalid(`a batch holds 1 to ${MAX_BATCH} events`, [{ path: "events", message: `must hold 1 to ${MAX_BATCH} events (had ${events.length})` }]);
  }
  const problems: ErrorDetail[] = [];
  for (let i = 0; i < events.length && problems.length < MAX_DETAILS; i++) {
    const event = events[i];
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      problems.push({ path: `events[${i}]`, message: "must be an object" });
      continue;
    }
    for (const key of Object.keys(event)) {
      if (PUBLISH_FIELDS.has(key)) continue;
      problems.push({ path: `events[${i}].${key}`, message: `events[${i}].${key} is not a known field` });
      if (problems.length >= MAX_DETAILS) break;
    }
  }
  if (problems.length) throw invalid("some events in the batch are invalid; none were published", problems);
}

type Checked = { ok: true; input: PublishInput } | { ok: false; message: string; details: ErrorDetail[] };

/**
 * Checks one publish request and turns it into engine input; problems carry
 * `prefix` in their paths. Every problem is answered as invalid_request with its
 * details (a batch gathers them from many events), whatever the engine's code.
 */
function toInput(ctx: HttpContext, scope: Scope, body: typeof PublishBody.infer, key: string | undefined, prefix: string): Checked {
  const details: ErrorDetail[] = [];
  if (!EVENT_TYPE_NAME.test(body.type)) details.push({ path: `${prefix}type`, message: "must be an event type name such as order.created" });
  // Only Herald publishes its operational events: a forged herald.destination.disabled would mislead.
  else if (isReservedEventType(body.type)) details.push({ path: `${prefix}type`, message: RESERVED_EVENT_TYPE });
  if (body.id !== undefined && !EVENT_ID.test(body.id)) details.push({ path: `${prefix}id`, message: "must be 1 to 128 letters, digits or _ . : -" });
  if (body.tenant !== undefined && !ID.test(body.tenant)) details.push({ path: `${prefix}tenant`, message: "must be 1 to 64 letters, digits, _ or -" });
  const deliverAt = typeof body.deliver_at === "string" ? parseInstant(body.deliver_at) : undefined;
  if (deliverAt === null) details.push({ path: `${prefix}deliver_at`, message: TIME_RULE });
  if (details.length) return { ok: false, message: "the event is invalid", details };
  const tenant = owningTenant(scope, body.tenant);
  const input: PublishInput = { type: body.type, data: body.data ?? null, tenant, id: body.id, idempotency_key: key };
  if (deliverAt !== undefined && deliverAt !== null) input.deliver_at = deliverAt;
  const problem = ctx.engine.publisher.check(input, scope.tenant === null);
  if (!problem) return { ok: true, input };
  const found = problem.details ?? [{ path: "type", message: problem.message }];
  return { ok: false, message: problem.message, details: found.map((d) => ({ path: `${prefix}${d.path}`, message: d.message })) };
}

export function eventRoutes(ctx: HttpContext) {
  return new Elysia({ prefix: "/v1/events" })
    .use(authenticated())
    .post(
      "",
      async ({ body, headers, principal, scope, set }) => {
        if (!mayPublish(principal, body.type)) throw forbidden(publishRefusal(principal, body.type));
        const key = headers["idempotency-key"];
        if (key !== undefined && (key.length === 0 || key.length > 256)) throw invalid("Idempotency-Key must be 1 to 256 characters", [{ path: "Idempotency-Key", message: "must be 1 to 256 characters" }]);
        const checked = toInput(ctx, scope, body, key, "");
        if (!checked.ok) throw invalid(checked.message, checked.details);
        const outcome = await ctx.engine.publisher.publish(checked.input);
        if (!outcome.ok) throw outcome.problem;
        set.status = outcome.created ? 202 : 200;
        return { id: outcome.event.id, deliveries: outcome.deliveries.length, deliver_at: iso(outcome.event.deliver_at ?? null) };
      },
      {
        parse: "json",
        body: PublishBody,
        headers: IdempotencyHeaders,
        detail: {
          operationId: "publishEvent",
          summary: "Publish an event",
          description:
            "Writes the event and one delivery per matching subscription, then answers 202. A repeat with the same `Idempotency-Key` or `id` answers 200 with the original; the same key with another body (`deliver_at` included) is a 409. " +
            "With `deliver_at` ahead, the deliveries wait, `pending` with `next_attempt_at` at that time, until then; `POST /v1/events/{id}/cancel` cancels them meanwhile.",
          tags: ["Events"],
          security,
        },
        response: { 200: Published, 202: Published, ...changeErrors },
      },
    )
    .post(
      "/batch",
      async ({ body, principal, scope, set }) => {
        // A publisher's patterns first: one event outside them refuses the whole batch (403), nothing written.
        const outside = body.events.findIndex((event) => !mayPublish(principal, event.type));
        if (outside >= 0) throw forbidden(`events[${outside}]: ${publishRefusal(principal, body.events[outside]!.type)}`);
        // Every event is checked before any is written: a bad batch writes nothing.
        const inputs: PublishInput[] = [];
        const problems: ErrorDetail[] = [];
        body.events.forEach((event, i) => {
          const checked = toInput(ctx, scope, event, undefined, `events[${i}].`);
          if (checked.ok) inputs.push(checked.input);
          else problems.push(...checked.details);
        });
        if (problems.length) throw invalid("some events in the batch are invalid; none were published", problems);
        const outcomes = await ctx.engine.publisher.publishMany(inputs);
        set.status = 202;
        return {
          data: outcomes.map((o) =>
            o.ok
              ? { id: o.event.id, deliveries: o.deliveries.length, created: o.created, deliver_at: iso(o.event.deliver_at ?? null) }
              : { error: o.problem.answerCode, message: o.problem.message },
          ),
        };
      },
      {
        parse: "json",
        transform: ({ body }) => precheckBatch(body),
        body: BatchBody,
        detail: {
          operationId: "publishEventBatch",
          summary: "Publish up to 1000 events",
          description: "All events are validated first; an invalid batch publishes nothing.",
          tags: ["Events"],
          security,
          responses: documentedResponses({ 202: BatchPublished, ...changeErrors }),
        },
      },
    )
    .get(
      "",
      async ({ query, scope }) => {
        const { scope: within, ...window } = timeWindowPage(scope, query);
        const page = await ctx.engine.reads.listEvents(within, { type: query.type, ...window });
        return { data: page.data.map(presentEvent), next_cursor: page.next_cursor };
      },
      { query: ListQuery, response: { 200: EventList, ...errorResponses }, detail: { operationId: "listEvents", summary: "List events, newest first", tags: ["Events"], security } },
    )
    .get(
      "/:id",
      async ({ params, scope }) => {
        const { event, deliveries } = await ctx.engine.reads.getEvent(scope, params.id);
        return { ...presentEvent(event), deliveries: deliveries.map(presentDelivery) };
      },
      {
        params: IdParams,
        response: { 200: EventWithDeliveries, ...errorResponses },
        detail: { operationId: "getEvent", summary: "Get an event with its deliveries", tags: ["Events"], security },
      },
    )
    .post(
      "/:id/cancel",
      async ({ params, scope, principal, request }) => {
        const { event, deliveries, cancelled } = await ctx.engine.cancelEvent(callerOf(principal, request), scope, params.id);
        return { ...presentEvent(event), deliveries: deliveries.map(presentDelivery), cancelled };
      },
      {
        params: IdParams,
        response: { 200: Cancelled, ...changeErrors },
        detail: {
          operationId: "cancelEvent",
          summary: "Cancel an event's deliveries not yet made",
          description:
            "Cancels the event's `pending` deliveries (scheduled with `deliver_at`, or waiting for a retry): each becomes `cancelled`, " +
            "with `last_error` \"cancelled through the API\", and is never sent. A delivery being sent right now (`delivering`) is left " +
            "to finish and ends as its attempt says; final ones are left as they are. Answers the event with all its deliveries " +
            "and how many this request cancelled (0 when none was left to cancel).",
          tags: ["Events"],
          security,
        },
      },
    );
}
