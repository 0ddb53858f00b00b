// /metrics shows delivery figures over every tenant, so it needs a reader or
// admin token that sees every tenant (config token or API key), unless
// metrics.public is set for a scraper on a private network.
import { afterEach, describe, expect, it } from "bun:test";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, startHerald, testConfig, type TestHerald } from "./support/herald.ts";

describe("/metrics access", () => {
  let herald: TestHerald;
  afterEach(() => herald?.stop());

  const metrics = (token: string | null) => herald.api("GET", "/metrics", undefined, { token });

  it("is 401 without a token, 403 for tenant-limited tokens and publishers, 200 for readers and admins", async () => {
    herald = await startHerald(testConfig({ auth: adminAndTenantTokens() }));
    const key = async (body: object) => (await herald.api("POST", "/v1/api-keys", body)).body.key as string;
    const reader = await key({ name: "scraper", role: "reader" });
    const admin = await key({ name: "ops", role: "admin" });
    const acmeReader = await key({ name: "acme-dash", role: "reader", tenant: "acme" });
    const acmeTenant = await key({ name: "acme", role: "tenant", tenant: "acme" });
    const publisher = await key({ name: "producer", role: "publisher" });

    expect((await metrics(null)).status).toBe(401);
    expect((await metrics("not-a-token-0123456789")).status).toBe(401);
    for (const token of [ACME_TOKEN, acmeTenant, acmeReader, publisher]) {
      const answer = await metrics(token);
      expect(answer.status).toBe(403);
      // No figure in the refusal.
      expect(JSON.stringify(answer.body)).not.toContain("herald_");
    }
    for (const token of [ADMIN_TOKEN, admin, reader]) {
      const answer = await metrics(token);
      expect(answer.status).toBe(200);
      expect(answer.body).toContain("herald_deliveries{");
    }
  });

  it("answers without a token when metrics.public is set", async () => {
    herald = await startHerald(testConfig({ metrics: { public: true } }));
    const answer = await metrics(null);
    expect(answer.status).toBe(200);
    expect(answer.body).toContain("herald_deliveries{");
    // Only /metrics is opened: the API still needs a token.
    expect((await herald.api("GET", "/v1/events", undefined, { token: null })).status).toBe(401);
  });
});
