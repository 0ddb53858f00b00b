// Scheduled delivery end to end, on every store: a publish with deliver_at
// waits, visible as pending and due at that time, and arrives then (not before,
// once per destination, with its own event); it can be cancelled meanwhile; a
// time too far ahead or malformed is refused. Time is the injected clock: the
// dispatcher's wake-up runs on it (clockTimers), sweeps are run by hand.
import { afterEach, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import {
  ACME_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, secretOf, startHerald, testConfig, verifyWithStandardWebhooks, type TestHerald,
} from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";
import { validateConfig } from "../src/config/schema.ts";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

describeOnEachStore("scheduled delivery", () => {
  let herald: TestHerald;
  let a: Receiver;
  let b: Receiver;
  afterEach(async () => {
    await herald?.stop();
    await a?.stop();
    await b?.stop();
  });

  /** Two destinations, both subscribed to order.*, each with its own receiver. */
  async function setup(options: { delivery?: Record<string, unknown>; script?: Parameters<typeof startReceiver>[0]; auth?: object } = {}) {
    a = startReceiver(options.script ?? []);
    b = startReceiver();
    herald = await startHerald(
      testConfig({
        delivery: { retry_schedule: ["5s", "5m"], ...options.delivery },
        ...(options.auth ? { auth: options.auth } : {}),
        event_types: [{ name: "order.created" }],
        destinations: [
          { id: "a", url: a.url, tenant: "acme" },
          { id: "b", url: b.url, tenant: "acme" },
        ],
        subscriptions: [
          { id: "a-orders", destination: "a", event_types: ["order.*"] },
          { id: "b-orders", destination: "b", event_types: ["order.*"] },
        ],
      }),
      { clockTimers: true },
    );
  }

  /**
   * A time `ms` from now on Herald's clock, on a whole second: the dispatcher
   * groups wake-ups on 100 ms steps, so a time on a step is woken exactly at it.
   */
  const ahead = (ms: number) => Math.ceil((herald.clock.now() + ms) / SECOND) * SECOND;
  const iso = (ms: number) => new Date(ms).toISOString();

  async function publish(body: Record<string, unknown>, status = 202): Promise<{ id: string; deliveries: number; deliver_at: string | null }> {
    const res = await herald.api("POST", "/v1/events", { type: "order.created", tenant: "acme", ...body });
    expect(res.status).toBe(status);
    return res.body;
  }

  /** Moves the clock to `at` (running the dispatcher's timers on the way) and waits for the sends they start. */
  async function advanceTo(at: number) {
    herald.clock.advance(at - herald.clock.now());
    await herald.app.engine.idle();
  }

  /** The same, then a sweep at `at`, as the sweep's timer would run it. */
  async function sweepAt(at: number) {
    await advanceTo(at);
    await herald.app.engine.sweeper.runOnce(herald.clock.now());
    await herald.app.engine.idle();
  }

  /** The webhook-ids a receiver got, in order. */
  const ids = (receiver: Receiver) => receiver.requests.map((r) => r.headers["webhook-id"]);

  it("arrives at its time, not before, once per destination with its own event; one far off is found by the sweep", async () => {
    await setup();
    const soon = ahead(30 * SECOND); // within the dispatcher's wake window: its own timer
    const later = ahead(2 * 60 * MINUTE); // beyond it: the sweep's claim
    const first = await publish({ data: { n: 1 }, deliver_at: iso(soon) });
    const second = await publish({ data: { n: 2 }, deliver_at: iso(later) });
    const now = await publish({ data: { n: 3 } });
    expect(first.deliver_at).toBe(iso(soon));
    expect(now.deliver_at).toBeNull();
    await a.waitFor(1);
    await b.waitFor(1);
    await herald.app.engine.idle();
    // Only the unscheduled event went out at once.
    expect([ids(a), ids(b)]).toEqual([[now.id], [now.id]]);

    // Visible meanwhile: the event with its deliver_at, its deliveries pending and due then.
    const shown = (await herald.api("GET", `/v1/events/${first.id}`)).body;
    expect(shown.deliver_at).toBe(iso(soon));
    expect(shown.deliveries.map((d: any) => [d.destination_id, d.status, d.next_attempt_at, d.attempt_count]).sort()).toEqual([
      ["a", "pending", iso(soon), 0],
      ["b", "pending", iso(soon), 0],
    ]);
    const listed = (await herald.api("GET", "/v1/events")).body.data;
    expect(Object.fromEntries(listed.map((e: any) => [e.id, e.deliver_at]))).toEqual({
      [first.id]: iso(soon), [second.id]: iso(later), [now.id]: null,
    });
    const pending = (await herald.api("GET", "/v1/deliveries?status=pending")).body.data;
    expect(pending).toHaveLength(4);

    // A millisecond early, a sweep finds nothing due; at the time, the wake-up sends both deliveries, no sweep needed.
    await sweepAt(soon - 1);
    expect(a.requests).toHaveLength(1);
    await advanceTo(soon);
    expect([ids(a), ids(b)]).toEqual([[now.id, first.id], [now.id, first.id]]);
    const secret = await secretOf(herald, "a");
    expect(verifyWithStandardWebhooks(secret, a.requests[1]!)).toEqual({ type: "order.created", timestamp: expect.any(String), data: { n: 1 } });
    expect(JSON.parse(b.requests[1]!.body).data).toEqual({ n: 1 });
    // Signed when sent, not when published.
    expect(Number(a.requests[1]!.headers["webhook-timestamp"])).toBe(Math.floor(soon / SECOND));

    // The far one: no timer was armed for it; the sweep at its time claims it.
    await sweepAt(later - 1);
    expect(a.requests).toHaveLength(2);
    await sweepAt(later);
    expect([ids(a), ids(b)]).toEqual([[now.id, first.id, second.id], [now.id, first.id, second.id]]);
    expect(JSON.parse(a.requests[2]!.body).data).toEqual({ n: 2 });

    // Once each: later sweeps send nothing more, and every delivery succeeded.
    await sweepAt(later + 10 * MINUTE);
    await sweepAt(later + DAY);
    expect([a.requests.length, b.requests.length]).toEqual([3, 3]);
    const all = (await herald.api("GET", "/v1/deliveries")).body.data;
    expect(all.map((d: any) => d.status)).toEqual(Array(6).fill("succeeded"));
  });

  it("keeps scheduled deliveries across a restart, and sends them at their time", async () => {
    await setup();
    const at = ahead(10 * MINUTE);
    const event = await publish({ data: { n: 1 }, deliver_at: iso(at) });
    await herald.app.stop();
    const clock = herald.clock;
    herald = await startHerald(herald.app.config, { clock, clockTimers: true });
    expect((await herald.api("GET", `/v1/events/${event.id}`)).body.deliveries.map((d: any) => d.status)).toEqual(["pending", "pending"]);
    await sweepAt(at - 1);
    expect(a.requests).toHaveLength(0);
    await sweepAt(at);
    expect([ids(a), ids(b)]).toEqual([[event.id], [event.id]]);
  });

  it("cancel stops an event's scheduled deliveries; they are never sent", async () => {
    await setup();
    const at = ahead(20 * SECOND);
    const cancelled = await publish({ data: { n: 1 }, deliver_at: iso(at) });
    const kept = await publish({ data: { n: 2 }, deliver_at: iso(at) });
    herald.clock.advance(5 * SECOND);
    const res = await herald.api("POST", `/v1/events/${cancelled.id}/cancel`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id: cancelled.id, deliver_at: iso(at), cancelled: 2 });
    for (const d of res.body.deliveries) {
      expect(d).toMatchObject({ status: "cancelled", last_error: "cancelled through the API", next_attempt_at: null, finalized_at: iso(herald.clock.now()) });
    }
    // A second cancel finds nothing left to cancel.
    expect((await herald.api("POST", `/v1/events/${cancelled.id}/cancel`)).body.cancelled).toBe(0);

    await advanceTo(at);
    await sweepAt(at + DAY);
    expect([ids(a), ids(b)]).toEqual([[kept.id], [kept.id]]);
    expect((await herald.api("GET", `/v1/events/${cancelled.id}`)).body.deliveries.map((d: any) => d.status)).toEqual(["cancelled", "cancelled"]);
    // Cancelled is final: a manual retry is refused.
    const [one] = res.body.deliveries;
    expect((await herald.api("POST", `/v1/deliveries/${one.id}/retry`)).status).toBe(409);
  });

  it("cancel takes an unscheduled event's pending retries, and leaves a delivery being sent to finish", async () => {
    // a: the first answer is a 500 (a retry pending), then slow answers; b: 200.
    await setup({ script: [{ status: 500 }, { status: 200, delay_ms: 300 }] });
    const failing = await publish({ data: { n: 1 } });
    await a.waitFor(1);
    await b.waitFor(1);
    await herald.app.engine.idle();
    const res = (await herald.api("POST", `/v1/events/${failing.id}/cancel`)).body;
    expect(res.cancelled).toBe(1);
    expect(Object.fromEntries(res.deliveries.map((d: any) => [d.destination_id, d.status]))).toEqual({ a: "cancelled", b: "succeeded" });
    await sweepAt(herald.clock.now() + 10 * MINUTE);
    expect(a.requests).toHaveLength(1);

    // A scheduled delivery whose send is under way when the cancel comes: left to finish.
    const at = ahead(10 * SECOND);
    const sending = await publish({ data: { n: 2 }, deliver_at: iso(at) });
    herald.clock.advance(at - herald.clock.now());
    await a.waitFor(2); // a's answer takes 300 ms: the send is in flight
    const during = (await herald.api("POST", `/v1/events/${sending.id}/cancel`)).body;
    const forA = during.deliveries.find((d: any) => d.destination_id === "a");
    expect(forA.status).toBe("delivering");
    await herald.app.engine.idle();
    expect((await herald.api("GET", `/v1/deliveries/${forA.id}`)).body.status).toBe("succeeded");
  });

  it("cancel is scoped to the caller's tenant: another tenant's event is a 404 and keeps its deliveries", async () => {
    await setup({ auth: adminAndTenantTokens() });
    const at = ahead(MINUTE);
    const event = await publish({ deliver_at: iso(at) });
    expect((await herald.api("POST", `/v1/events/${event.id}/cancel`, undefined, { token: GLOBEX_TOKEN })).status).toBe(404);
    expect((await herald.api("POST", "/v1/events/evt_missing/cancel")).status).toBe(404);
    expect((await herald.api("GET", `/v1/events/${event.id}`)).body.deliveries.map((d: any) => d.status)).toEqual(["pending", "pending"]);
    const own = await herald.api("POST", `/v1/events/${event.id}/cancel`, undefined, { token: ACME_TOKEN });
    expect([own.status, own.body.cancelled]).toEqual([200, 2]);
  });

  it("refuses a time further ahead than delivery.max_schedule_ahead, or malformed, naming deliver_at", async () => {
    await setup({ delivery: { max_schedule_ahead: "1d" } });
    const tooFar = await herald.api("POST", "/v1/events", { type: "order.created", tenant: "acme", deliver_at: iso(herald.clock.now() + DAY + 1) });
    expect(tooFar.status).toBe(400);
    expect(tooFar.body.details).toEqual([{ path: "deliver_at", message: expect.stringContaining("at most 1d ahead") }]);
    for (const bad of ["tomorrow", "2026-02-30T12:00:00Z", "2026-06-01T12:00:00", "2026-06-01 12:00:00Z", 1780315200000]) {
      const res = await herald.api("POST", "/v1/events", { type: "order.created", tenant: "acme", deliver_at: bad });
      expect([bad, res.status, res.body.details?.[0]?.path]).toEqual([bad, 400, "deliver_at"]);
    }
    // Nothing was written.
    expect((await herald.api("GET", "/v1/events")).body.data).toEqual([]);
    // Exactly the limit is allowed, with an offset as well as Z.
    const limit = herald.clock.now() + DAY;
    const atLimit = await publish({ deliver_at: iso(limit).replace("Z", "+00:00") });
    expect(atLimit.deliver_at).toBe(iso(limit));
  });

  it("a time not ahead means now: sent at once, and the event keeps the time it was given", async () => {
    await setup();
    const past = herald.clock.now() - MINUTE;
    const event = await publish({ data: { n: 1 }, deliver_at: iso(past) });
    await a.waitFor(1);
    await b.waitFor(1);
    await herald.app.engine.idle();
    expect(ids(a)).toEqual([event.id]);
    const shown = (await herald.api("GET", `/v1/events/${event.id}`)).body;
    expect(shown.deliver_at).toBe(iso(past));
    expect(shown.deliveries.map((d: any) => d.status)).toEqual(["succeeded", "succeeded"]);
  });

  it("takes events with and without deliver_at in one batch, each sent at its own time", async () => {
    await setup();
    const at = ahead(40 * SECOND);
    const res = await herald.api("POST", "/v1/events/batch", {
      events: [
        { type: "order.created", tenant: "acme", data: { n: 1 }, deliver_at: iso(at) },
        { type: "order.created", tenant: "acme", data: { n: 2 } },
        { type: "order.created", tenant: "acme", data: { n: 3 }, deliver_at: null },
      ],
    });
    expect(res.status).toBe(202);
    const [scheduled, now, alsoNow] = res.body.data;
    expect([scheduled.deliver_at, now.deliver_at, alsoNow.deliver_at]).toEqual([iso(at), null, null]);
    await a.waitFor(2);
    await b.waitFor(2);
    await herald.app.engine.idle();
    expect(new Set(ids(a))).toEqual(new Set([now.id, alsoNow.id]));
    await advanceTo(at - 1);
    expect(a.requests).toHaveLength(2);
    await advanceTo(at);
    expect(ids(a)[2]).toBe(scheduled.id);
    expect(ids(b)[2]).toBe(scheduled.id);
    expect(JSON.parse(a.requests[2]!.body).data).toEqual({ n: 1 });
    await sweepAt(at + DAY);
    expect([a.requests.length, b.requests.length]).toEqual([3, 3]);

    // One item too far ahead fails the whole batch, named by its path.
    const bad = await herald.api("POST", "/v1/events/batch", {
      events: [
        { type: "order.created", tenant: "acme" },
        { type: "order.created", tenant: "acme", deliver_at: iso(herald.clock.now() + 91 * DAY) },
        { type: "order.created", tenant: "acme", deliver_at: "soon" },
      ],
    });
    expect(bad.status).toBe(400);
    expect(bad.body.details.map((d: any) => d.path)).toEqual(["events[1].deliver_at", "events[2].deliver_at"]);
    expect((await herald.api("GET", "/v1/events")).body.data).toHaveLength(3);
  });

  it("a repeat with the same id and deliver_at returns the original; another deliver_at is a conflict", async () => {
    await setup();
    const at = ahead(50 * SECOND);
    const original = await publish({ id: "order-1", data: { n: 1 }, deliver_at: iso(at) });
    // The same instant, written with an offset: the same request.
    const repeat = await publish({ id: "order-1", data: { n: 1 }, deliver_at: iso(at).replace("Z", "+00:00") }, 200);
    expect(repeat).toEqual({ id: original.id, deliveries: 2, deliver_at: iso(at) });
    await publish({ id: "order-1", data: { n: 1 }, deliver_at: iso(at + SECOND) }, 409);
    await publish({ id: "order-1", data: { n: 1 } }, 409);
    // An Idempotency-Key likewise.
    const keyed = await herald.api("POST", "/v1/events", { type: "order.created", tenant: "acme", deliver_at: iso(at) }, { headers: { "idempotency-key": "k1" } });
    const again = await herald.api("POST", "/v1/events", { type: "order.created", tenant: "acme", deliver_at: iso(at) }, { headers: { "idempotency-key": "k1" } });
    expect([keyed.status, again.status, again.body.id]).toEqual([202, 200, keyed.body.id]);
    // Sent once each, at the time.
    await advanceTo(at);
    expect(ids(a).sort()).toEqual([original.id, keyed.body.id].sort());
    await sweepAt(at + DAY);
    expect(a.requests).toHaveLength(2);
  });
});

it("delivery.max_schedule_ahead is a duration of at most 3650d, 90d by default", () => {
  const ok = validateConfig({});
  expect(ok.ok && ok.config.delivery.max_schedule_ahead).toBe(90 * DAY);
  const tooLong = validateConfig({ delivery: { max_schedule_ahead: "4000d" } });
  expect(!tooLong.ok && tooLong.errors).toEqual([{ path: "delivery.max_schedule_ahead", message: expect.stringContaining("at most 3650d") }]);
  const notDuration = validateConfig({ delivery: { max_schedule_ahead: 5 } });
  expect(!notDuration.ok && notDuration.errors[0]!.path).toBe("delivery.max_schedule_ahead");
});

it("documents deliver_at and the cancel route in /openapi.json, with their schemas", async () => {
  const herald = await startHerald(testConfig());
  try {
    const doc: any = await (await fetch(herald.url + "/openapi.json")).json();
    // Schemas are named components, referred to by $ref: read them with their references followed.
    const deref = (schema: any): any =>
      Array.isArray(schema) ? schema.map(deref)
      : typeof schema !== "object" || schema === null ? schema
      : schema.$ref ? deref(doc.components.schemas[schema.$ref.replace("#/components/schemas/", "")])
      : Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, deref(value)]));
    const schemaOf = (op: any, status: string) => deref(op.responses[status].content["application/json"].schema);
    const publish = doc.paths["/v1/events"].post;
    expect(deref(publish.requestBody.content["application/json"].schema).properties.deliver_at).toBeDefined();
    expect(schemaOf(publish, "202").required).toContain("deliver_at");
    const batch = doc.paths["/v1/events/batch"].post;
    expect(JSON.stringify(deref(batch.requestBody.content["application/json"].schema))).toContain("deliver_at");
    expect(schemaOf(doc.paths["/v1/events/{id}"].get, "200").required).toContain("deliver_at");
    expect(JSON.stringify(schemaOf(doc.paths["/v1/events"].get, "200"))).toContain("deliver_at");
    const cancel = doc.paths["/v1/events/{id}/cancel"]?.post;
    expect(cancel.summary).toBe("Cancel an event's deliveries not yet made");
    expect(cancel.description).toContain("left to finish");
    expect(cancel.security).toEqual([{ bearer: [] }]);
    expect(schemaOf(cancel, "200").required).toEqual(expect.arrayContaining(["id", "deliver_at", "deliveries", "cancelled"]));
    expect(Object.keys(cancel.responses)).toEqual(expect.arrayContaining(["200", "401", "404"]));
  } finally {
    await herald.stop();
  }
});
