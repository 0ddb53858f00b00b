// Every time the API reads (the lists' filters, a recovery's and a backfill's
// window, an API key's expiry, an event's deliver_at) is held to the one
// strict rule (ISO 8601 with a time zone, a real date) and a bad one is refused
// alike: 400 invalid_request, "<field> is not a valid ISO 8601 time", and the
// field's path with the same sentence in details.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

const RULE = "must be an ISO 8601 time with a time zone, such as 2026-01-31T12:00:00Z";
// Each would be read leniently by Date.parse: no zone (the server's own), an impossible date, a bare number.
const BAD = ["2026-01-31T12:00:00", "2026-02-30T00:00:00Z", "1"];
const GOOD = "2026-01-01T00:00:00Z";

const refusal = (field: string) => ({ error: "invalid_request", message: `${field} is not a valid ISO 8601 time`, details: [{ path: field, message: RULE }] });

describeOnEachStore("time fields", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startHerald(testConfig());
    expect((await herald.api("POST", "/v1/destinations", { id: "crm", url: "http://127.0.0.1:9/hook" })).status).toBe(201);
    expect((await herald.api("POST", "/v1/subscriptions", { id: "crm-all", destination_id: "crm", event_types: ["*"] })).status).toBe(201);
  });
  afterAll(async () => {
    await herald?.stop();
  });

  it("refuses a bad time in a list's filter", async () => {
    for (const bad of BAD) {
      for (const [path, field] of [["/v1/events", "since"], ["/v1/deliveries", "until"]] as const) {
        const answer = await herald.api("GET", `${path}?${field}=${encodeURIComponent(bad)}`);
        expect({ status: answer.status, body: answer.body }).toEqual({ status: 400, body: refusal(field) });
      }
    }
  });

  it("refuses a bad time in a recovery's window", async () => {
    for (const bad of BAD) {
      for (const [body, field] of [[{ since: bad }, "since"], [{ since: GOOD, until: bad }, "until"]] as const) {
        const answer = await herald.api("POST", "/v1/destinations/crm/recover", body);
        expect({ status: answer.status, body: answer.body }).toEqual({ status: 400, body: refusal(field) });
      }
    }
  });

  it("refuses a bad time in a backfill's window", async () => {
    for (const bad of BAD) {
      for (const [body, field] of [[{ since: bad }, "since"], [{ since: GOOD, until: bad }, "until"]] as const) {
        const answer = await herald.api("POST", "/v1/subscriptions/crm-all/backfill", body);
        expect({ status: answer.status, body: answer.body }).toEqual({ status: 400, body: refusal(field) });
      }
    }
  });

  it("refuses a bad expiry for an API key", async () => {
    for (const bad of BAD) {
      const answer = await herald.api("POST", "/v1/api-keys", { name: "temp", role: "reader", expires_at: bad });
      expect({ status: answer.status, body: answer.body }).toEqual({ status: 400, body: refusal("expires_at") });
    }
  });

  it("tells a bad deliver_at the same rule, at its path", async () => {
    for (const bad of BAD) {
      const answer = await herald.api("POST", "/v1/events", { type: "order.paid", data: {}, deliver_at: bad });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe("invalid_request");
      expect(answer.body.details).toEqual([{ path: "deliver_at", message: RULE }]);
    }
  });
});
