// Portal links revoked one by one, on every store: each link made is listed
// (GET /v1/portal-links, newest first, paged; its record, never the link), and
// DELETE /v1/portal-links/{id} refuses that link from the next request on —
// with the answer an expired link gets — on this instance and on another
// sharing the database, while another link of the same tenant keeps working.
// Revoking is audited once; retention removes the records of expired links.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { adminAndTenantTokens, startHerald, TestClock, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

const credentialOf = (url: string) => new URL(url).hash.slice("#portal=".length);

describeOnEachStore("portal links revoked one by one", () => {
  let herald: TestHerald;
  const clock = new TestClock();

  beforeAll(async () => {
    herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), event_types: [{ name: "acme.invoice-paid" }] }), { clock });
  });
  afterAll(() => herald?.stop());

  const link = async (body: object) => {
    const made = await herald.api("POST", "/v1/portal-links", body);
    expect(made.status).toBe(201);
    expect(made.body.id).toMatch(/^plk_[0-9a-f]{32}$/);
    return { id: made.body.id as string, token: credentialOf(made.body.url), expires_at: made.body.expires_at as string };
  };
  const works = async (token: string, on = herald) => (await on.api("GET", "/v1/events", undefined, { token })).status;

  it("lists each link's record newest first, paged, never the link or its signature", async () => {
    const first = await link({ tenant: "acme" });
    clock.advance(1);
    const second = await link({ tenant: "globex", read_only: true, expires_in: "2h" });
    const listed = await herald.api("GET", "/v1/portal-links");
    expect(listed.status).toBe(200);
    const ids = listed.body.data.map((l: { id: string }) => l.id);
    expect(ids.indexOf(second.id)).toBeLessThan(ids.indexOf(first.id));
    expect(listed.body.data[ids.indexOf(second.id)]).toEqual({
      id: second.id, tenant: "globex", read_only: true, created_at: new Date(clock.now()).toISOString(), expires_at: second.expires_at, revoked_at: null,
    });
    const text = JSON.stringify(listed.body);
    for (const made of [first, second]) {
      expect(text).not.toContain(made.token);
      expect(text).not.toContain(made.token.split(".")[1]!);
    }
    expect(text).not.toContain("hpl_");
    const page = await herald.api("GET", "/v1/portal-links?limit=1");
    expect(page.body.data.map((l: { id: string }) => l.id)).toEqual([ids[0]]);
    const next = await herald.api("GET", `/v1/portal-links?limit=1&cursor=${page.body.next_cursor}`);
    expect(next.body.data.map((l: { id: string }) => l.id)).toEqual([ids[1]]);
  });

  it("refuses a revoked link from the next request on, as an expired one; another link of the tenant keeps working", async () => {
    const revoked = await link({ tenant: "acme" });
    const kept = await link({ tenant: "acme" });
    // A console session opened with the link: it presents the link on every request.
    expect(await works(revoked.token)).toBe(200);
    expect(await works(revoked.token)).toBe(200);
    const answer = await herald.api("DELETE", `/v1/portal-links/${revoked.id}`);
    expect(answer.status).toBe(204);
    const refused = await herald.api("GET", "/v1/events", undefined, { token: revoked.token });
    expect(refused.status).toBe(401);
    const expiring = await link({ tenant: "acme", expires_in: "1s" });
    clock.advance(1_000);
    const expired = await herald.api("GET", "/v1/events", undefined, { token: expiring.token });
    expect(expired.status).toBe(401);
    expect(refused.body).toEqual(expired.body);
    expect(await works(kept.token)).toBe(200);
    const record = (await herald.api("GET", "/v1/portal-links")).body.data.find((l: { id: string }) => l.id === revoked.id);
    expect(record.revoked_at).toBe(new Date(clock.now() - 1_000).toISOString());
  });

  it("is refused on another instance sharing the database too", async () => {
    const made = await link({ tenant: "acme", read_only: true });
    const other = await startHerald(herald.app.config, { clock });
    try {
      expect(await works(made.token, other)).toBe(200);
      expect((await herald.api("DELETE", `/v1/portal-links/${made.id}`)).status).toBe(204);
      expect(await works(made.token, other)).toBe(401);
    } finally {
      await other.stop();
    }
  });

  it("audits a revocation once (a second DELETE changes nothing); an unknown id is a 404; only admins may", async () => {
    const made = await link({ tenant: "acme" });
    expect((await herald.api("DELETE", `/v1/portal-links/${made.id}`, undefined, { token: made.token })).status).toBe(403);
    expect((await herald.api("GET", "/v1/portal-links", undefined, { token: made.token })).status).toBe(403);
    expect((await herald.api("DELETE", `/v1/portal-links/${made.id}`)).status).toBe(204);
    expect((await herald.api("DELETE", `/v1/portal-links/${made.id}`)).status).toBe(204);
    const audit = await herald.api("GET", `/v1/audit?action=portal_link.revoked&resource_id=${made.id}`);
    expect(audit.body.data).toHaveLength(1);
    expect(audit.body.data[0]).toMatchObject({ tenant: "acme", actor: { name: "admin" }, resource: { type: "portal_link", id: made.id } });
    expect(JSON.stringify(audit.body)).not.toContain(made.token.split(".")[1]!);
    const missing = await herald.api("DELETE", "/v1/portal-links/plk_nothing");
    expect(missing.status).toBe(404);
    expect(missing.body.error).toBe("not_found");
  });

  it("retention removes the records of expired links, and keeps the others", async () => {
    const short = await link({ tenant: "acme", expires_in: "1m" });
    const long = await link({ tenant: "acme", expires_in: "7d" });
    clock.advance(60_000);
    await herald.app.engine.retention.runOnce(clock.now());
    const ids = (await herald.api("GET", "/v1/portal-links?limit=1000")).body.data.map((l: { id: string }) => l.id);
    expect(ids).not.toContain(short.id);
    expect(ids).toContain(long.id);
    expect(await works(long.token)).toBe(200);
  });
});
