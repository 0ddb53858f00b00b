// The API parts the console's forms stand on: POST /v1/subscriptions/check-filter
// (the engine's own filter validation, nothing saved), GET /v1/me (the token's
// role and tenant, so forms offer only what is allowed), and PATCH header_changes
// (one header set or removed without the caller knowing the others' values).
import { afterAll, beforeAll, expect, it } from "bun:test";
import { ACME_TOKEN, ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

describeOnEachStore("the forms' API", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startHerald(
      testConfig({
        auth: { tokens: [{ name: "admin", token: ADMIN_TOKEN, role: "admin" }, { name: "acme", token: ACME_TOKEN, role: "tenant", tenant: "acme" }] },
      }),
    );
  });
  afterAll(() => herald?.stop());

  it("checks a filter without saving: ok, or the 400 with each problem's path", async () => {
    expect(await herald.api("POST", "/v1/subscriptions/check-filter", { filter: { "data.total": { $gt: 5 } } })).toEqual({ status: 200, body: { ok: true } });
    expect((await herald.api("POST", "/v1/subscriptions/check-filter", { filter: null })).status).toBe(200);
    const bad = await herald.api("POST", "/v1/subscriptions/check-filter", { filter: { "data.total": { $between: [1, 2] } } }, { token: ACME_TOKEN });
    expect(bad.status).toBe(400);
    expect(bad.body.details.length).toBeGreaterThan(0);
    expect(bad.body.details[0].path.startsWith("filter")).toBe(true);
    expect(bad.body.details[0].message).toContain("$between");
    expect((await herald.api("GET", "/v1/subscriptions")).body.data).toEqual([]);
  });

  it("tells a token its own role and tenant", async () => {
    expect((await herald.api("GET", "/v1/me")).body).toEqual({ name: "admin", role: "admin", tenant: null, event_types: null });
    expect((await herald.api("GET", "/v1/me", undefined, { token: ACME_TOKEN })).body).toEqual({ name: "acme", role: "tenant", tenant: "acme", event_types: null });
    expect((await herald.api("GET", "/v1/me", undefined, { token: null })).status).toBe(401);
  });

  it("changes only the headers header_changes names; a reserved name is refused with its path, and the value is not echoed", async () => {
    const made = await herald.api("POST", "/v1/destinations", { url: "http://127.0.0.1:9/hook", headers: { "X-Auth-Token": "old-secret-value", "x-team": "billing" } });
    expect(made.status).toBe(201);
    const id = made.body.id;
    const changed = await herald.api("PATCH", `/v1/destinations/${id}`, { header_changes: { "x-auth-token": "new-secret-value", "x-team": null, "x-extra": "1" } });
    expect(changed.status).toBe(200);
    expect((await herald.api("GET", `/v1/destinations/${id}/headers`)).body.headers).toEqual({ "x-auth-token": "new-secret-value", "x-extra": "1" });
    const refused = await herald.api("PATCH", `/v1/destinations/${id}`, { header_changes: { "webhook-signature": "forged-value-xyz" } });
    expect(refused.status).toBe(400);
    expect(refused.body.details[0].path).toBe("header_changes.webhook-signature");
    expect(JSON.stringify(refused.body)).not.toContain("forged-value-xyz");
    const both = await herald.api("PATCH", `/v1/destinations/${id}`, { headers: {}, header_changes: { "x-extra": null } });
    expect(both.status).toBe(400);
  });
});
