// Publishing and fan-out: patterns, tenants, one delivery per destination,
// idempotency, batches, and the errors a producer gets for bad input.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

describeOnEachStore("publishing", () => {
  let herald: TestHerald;
  const receivers: Record<string, Receiver> = {};

  beforeAll(async () => {
    for (const name of ["all", "attendees", "sync", "acme"]) receivers[name] = startReceiver();
    herald = await startHerald(
      testConfig({
        auth: {
          tokens: [
            { name: "admin", token: "test-admin-token-0123456789", role: "admin" },
            { name: "acme", token: "acme-tenant-token-0123456789", role: "tenant", tenant: "acme" },
          ],
        },
        event_types: [
          { name: "attendee.created" },
          { name: "attendee.badge.printed" },
          { name: "sync.completed" },
          { name: "booking.made" },
        ],
        destinations: [
          { id: "all", url: receivers.all!.url },
          { id: "attendees", url: receivers.attendees!.url },
          { id: "sync", url: receivers.sync!.url },
          { id: "acme", url: receivers.acme!.url, tenant: "acme" },
        ],
        subscriptions: [
          { id: "all", destination: "all", event_types: ["*"] },
          { id: "attendees", destination: "attendees", event_types: ["attendee.*"] },
          // Two subscriptions reach "sync": it must still get each event once.
          { id: "sync-exact", destination: "sync", event_types: ["sync.completed"] },
          { id: "sync-wide", destination: "sync", event_types: ["sync.*", "attendee.created"] },
          { id: "acme", destination: "acme", event_types: ["*"] },
        ],
      }),
    );
  });
  afterAll(async () => {
    await herald.stop();
    for (const r of Object.values(receivers)) await r.stop();
  });

  async function publishAndDrain(body: Record<string, unknown>, token?: string) {
    const res = await herald.api("POST", "/v1/events", body, { token });
    await herald.app.engine.idle();
    return res;
  }

  const received = (name: string, type: string) => receivers[name]!.requests.filter((r) => JSON.parse(r.body).type === type).length;

  describe("fan-out", () => {
    it("sends one event to every matching destination, each once", async () => {
      const res = await publishAndDrain({ type: "attendee.created", data: { name: "Ada" } });
      expect(res.status).toBe(202);
      expect(res.body.deliveries).toBe(3);
      expect(received("all", "attendee.created")).toBe(1);
      expect(received("attendees", "attendee.created")).toBe(1);
      expect(received("sync", "attendee.created")).toBe(1);
      expect(received("acme", "attendee.created")).toBe(0);
      const ids = ["all", "attendees", "sync"].map((n) => receivers[n]!.requests.at(-1)!.headers["webhook-id"]);
      expect(new Set(ids)).toEqual(new Set([res.body.id]));
    });

    it("prefix.* matches any depth below the prefix, and * matches everything", async () => {
      const res = await publishAndDrain({ type: "attendee.badge.printed", data: {} });
      expect(res.body.deliveries).toBe(2);
      expect(received("attendees", "attendee.badge.printed")).toBe(1);
      expect(received("all", "attendee.badge.printed")).toBe(1);
      expect(received("sync", "attendee.badge.printed")).toBe(0);
    });

    it("an event with no matching subscription is stored with no deliveries", async () => {
      const res = await publishAndDrain({ type: "booking.made", data: {}, tenant: "nobody" });
      expect(res.status).toBe(202);
      expect(res.body.deliveries).toBe(0);
      const event = await herald.api("GET", `/v1/events/${res.body.id}`);
      expect(event.body.deliveries).toEqual([]);
    });

    it("an event reaches only its own tenant's subscriptions", async () => {
      const res = await publishAndDrain({ type: "sync.completed", data: {}, tenant: "acme" });
      expect(res.body.deliveries).toBe(1);
      expect(received("acme", "sync.completed")).toBe(1);
      expect(received("all", "sync.completed")).toBe(0);
    });

    it("a tenant token publishes into its tenant and cannot publish into another", async () => {
      const own = await publishAndDrain({ type: "booking.made", data: { n: 1 } }, "acme-tenant-token-0123456789");
      expect(own.status).toBe(202);
      expect(received("acme", "booking.made")).toBe(1);
      const other = await herald.api("POST", "/v1/events", { type: "booking.made", data: {}, tenant: "default" }, { token: "acme-tenant-token-0123456789" });
      expect(other.status).toBe(403);
      expect(other.body.error).toBe("forbidden");
    });

    it("a tenant token sees only its tenant's events and deliveries", async () => {
      const events = await herald.api("GET", "/v1/events?limit=1000", undefined, { token: "acme-tenant-token-0123456789" });
      expect(events.body.data.length).toBeGreaterThan(0);
      expect(events.body.data.every((e: any) => e.tenant === "acme")).toBe(true);
      const deliveries = await herald.api("GET", "/v1/deliveries?limit=1000", undefined, { token: "acme-tenant-token-0123456789" });
      expect(deliveries.body.data.every((d: any) => d.tenant === "acme")).toBe(true);
      const foreign = (await herald.api("GET", "/v1/events?tenant=default&limit=1")).body.data[0];
      expect((await herald.api("GET", `/v1/events/${foreign.id}`, undefined, { token: "acme-tenant-token-0123456789" })).status).toBe(404);
    });
  });

  describe("idempotency", () => {
    it("a repeat with the same Idempotency-Key returns the original (200) and sends nothing more", async () => {
      const headers = { "idempotency-key": "order-77" };
      const first = await herald.api("POST", "/v1/events", { type: "sync.completed", data: { run: 77 } }, { headers });
      expect(first.status).toBe(202);
      await herald.app.engine.idle();
      const before = received("sync", "sync.completed");
      const again = await herald.api("POST", "/v1/events", { type: "sync.completed", data: { run: 77 } }, { headers });
      await herald.app.engine.idle();
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(first.body.id);
      expect(received("sync", "sync.completed")).toBe(before);
    });

    it("the same key with a different body is a 409", async () => {
      const headers = { "idempotency-key": "order-78" };
      await herald.api("POST", "/v1/events", { type: "sync.completed", data: { run: 78 } }, { headers });
      const clash = await herald.api("POST", "/v1/events", { type: "sync.completed", data: { run: 79 } }, { headers });
      expect(clash.status).toBe(409);
      expect(clash.body.error).toBe("idempotency_conflict");
    });

    it("a repeat with the same id returns the original", async () => {
      const first = await herald.api("POST", "/v1/events", { id: "evt_mine_1", type: "booking.made", data: {} });
      const again = await herald.api("POST", "/v1/events", { id: "evt_mine_1", type: "booking.made", data: {} });
      expect(first.status).toBe(202);
      expect(again.status).toBe(200);
      expect(again.body.id).toBe("evt_mine_1");
    });

    it("concurrent repeats of one key create one event", async () => {
      const headers = { "idempotency-key": "burst-1" };
      const answers = await Promise.all(Array.from({ length: 20 }, () => herald.api("POST", "/v1/events", { type: "booking.made", data: { b: 1 } }, { headers })));
      expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
      expect(answers.filter((a) => a.status === 202).length).toBe(1);
      expect(answers.filter((a) => a.status === 200).length).toBe(19);
    });
  });

  describe("batch publish", () => {
    it("publishes many events in one call", async () => {
      const events = Array.from({ length: 50 }, (_, i) => ({ type: "booking.made", data: { i } }));
      const res = await herald.api("POST", "/v1/events/batch", { events });
      expect(res.status).toBe(202);
      expect(res.body.data.length).toBe(50);
      expect(new Set(res.body.data.map((e: any) => e.id)).size).toBe(50);
      // The answer is documented, not checked by Elysia at run time: its shape is checked here.
      for (const item of res.body.data) expect(item).toEqual({ id: expect.any(String), deliveries: expect.any(Number), created: true, deliver_at: null });
    });

    it("an invalid event fails the whole batch, names its path, and writes nothing", async () => {
      const before = (await herald.api("GET", "/v1/events?limit=1000")).body.data.length;
      const res = await herald.api("POST", "/v1/events/batch", { events: [{ type: "booking.made", data: {} }, { type: "no.such.type", data: {} }] });
      expect(res.status).toBe(400);
      expect(res.body.details[0].path).toBe("events[1].type");
      expect((await herald.api("GET", "/v1/events?limit=1000")).body.data.length).toBe(before);
    });

    it("more than 1000 events is a 400", async () => {
      const events = Array.from({ length: 1001 }, () => ({ type: "booking.made", data: {} }));
      const res = await herald.api("POST", "/v1/events/batch", { events });
      expect(res.status).toBe(400);
      expect(res.body.details[0].path).toBe("events");
    });
  });

  describe("bad input", () => {
    const cases: [string, unknown, number, string, string?][] = [
      ["an unknown event type names the type", { type: "order.shipped", data: {} }, 400, "invalid_request", "order.shipped"],
      ["a missing type", { data: {} }, 400, "invalid_request", "type"],
      ["a type that is not a string", { type: 5, data: {} }, 400, "invalid_request", "type"],
      ["an unknown field", { type: "booking.made", data: {}, colour: "red" }, 400, "invalid_request", "colour"],
      ["a malformed event type name", { type: "bad name!", data: {} }, 400, "invalid_request", "type"],
      ["a body that is not JSON", "{not json", 400, "invalid_json"],
    ];
    for (const [name, body, status, code, mention] of cases) {
      it(`${name} → ${status} ${code}`, async () => {
        const res = await herald.api("POST", "/v1/events", body);
        expect(res.status).toBe(status);
        expect(res.body.error).toBe(code);
        expect(typeof res.body.message).toBe("string");
        if (mention) expect(JSON.stringify(res.body)).toContain(mention);
      });
    }

    it("no token is a 401 and a wrong token is a 401", async () => {
      expect((await herald.api("GET", "/v1/events", undefined, { token: null })).status).toBe(401);
      const wrong = await herald.api("GET", "/v1/events", undefined, { token: "nope-nope-nope-nope" });
      expect(wrong.status).toBe(401);
      expect(wrong.body.error).toBe("unauthorized");
    });

    it("an unknown route is a 404 in the error shape", async () => {
      const res = await herald.api("GET", "/v1/nothing-here");
      expect(res.status).toBe(404);
      expect(res.body.error).toBe("not_found");
    });

    it("a body over server.max_body is a 413", async () => {
      const res = await herald.api("POST", "/v1/events", { type: "booking.made", data: "x".repeat(2 * 1024 * 1024) });
      expect(res.status).toBe(413);
      expect(res.body.error).toBe("payload_too_large");
    });

    it("list queries validate limit and times", async () => {
      expect((await herald.api("GET", "/v1/deliveries?limit=5000")).status).toBe(400);
      expect((await herald.api("GET", "/v1/deliveries?status=lost")).status).toBe(400);
      const badTime = await herald.api("GET", "/v1/events?since=yesterday");
      expect(badTime.status).toBe(400);
      expect(badTime.body.details[0].path).toBe("since");
      // Times Date.parse would read, but not as the instant the client meant:
      // a bare number (a year), a time with no zone, an impossible date.
      for (const lenient of ["1", "2026-01-31T12:00:00", "2026-02-30T00:00:00Z"]) {
        const res = await herald.api("GET", `/v1/events?until=${encodeURIComponent(lenient)}`);
        expect([lenient, res.status, res.body.details?.[0]?.path]).toEqual([lenient, 400, "until"]);
      }
      expect((await herald.api("GET", `/v1/events?since=${encodeURIComponent("2026-01-31T12:00:00+01:00")}`)).status).toBe(200);
    });
  });

  describe("reading what happened", () => {
    it("pages through deliveries with a cursor", async () => {
      const seen = new Set<string>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: any = await herald.api("GET", `/v1/deliveries?limit=7${cursor ? `&cursor=${cursor}` : ""}`);
        for (const d of res.body.data) seen.add(d.id);
        cursor = res.body.next_cursor;
        pages++;
      } while (cursor);
      const all = await herald.api("GET", "/v1/deliveries?limit=1000");
      expect(seen.size).toBe(all.body.data.length);
      expect(pages).toBeGreaterThan(1);
    });

    it("filters deliveries by destination and status", async () => {
      const res = await herald.api("GET", "/v1/deliveries?destination=acme&status=succeeded&limit=1000");
      expect(res.body.data.length).toBeGreaterThan(0);
      expect(res.body.data.every((d: any) => d.destination_id === "acme" && d.status === "succeeded")).toBe(true);
    });
  });

  describe("probes and metrics", () => {
    it("/healthz and /readyz answer without a token", async () => {
      expect((await herald.api("GET", "/healthz", undefined, { token: null })).body).toEqual({ status: "ok" });
      expect((await herald.api("GET", "/readyz", undefined, { token: null })).body).toEqual({ status: "ready" });
    });

    it("/metrics counts deliveries by status and attempts by outcome in Prometheus text", async () => {
      // Attempts are counted once their record settles, which (synchronous: full)
      // is after the WAL sync that follows the commit: a row may read succeeded
      // a moment before its attempt is counted. Earlier tests' sends settle first.
      await herald.app.engine.idle();
      const res = await fetch(herald.url + "/metrics", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      expect(res.headers.get("content-type")).toContain("text/plain");
      const text = await res.text();
      const succeeded = Number(text.match(/^herald_deliveries\{status="succeeded"\} (\d+)$/m)?.[1]);
      const listed = (await herald.api("GET", "/v1/deliveries?status=succeeded&limit=1000")).body.data.length;
      expect(succeeded).toBe(listed);
      expect(Number(text.match(/^herald_attempts_total\{outcome="success"\} (\d+)$/m)?.[1])).toBeGreaterThanOrEqual(listed);
    });
  });
});
