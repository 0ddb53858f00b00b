// Reading the audit log, on every store: a tenant token sees only its tenant's
// entries (never another's, never an event type's), the filters narrow the
// list, pages follow the cursor newest first without gaps or repeats, and the
// retention run deletes entries older than retention.keep and keeps the rest.
import { afterEach, expect, it } from "bun:test";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { ACME_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

const iso = (ms: number) => new Date(ms).toISOString();
const DAY = 24 * 3_600_000;

describeOnEachStore("reading the audit log", () => {
  let herald: TestHerald;
  let receiver: Receiver;
  afterEach(async () => {
    await herald?.stop();
    await receiver?.stop();
  });

  async function start(overrides: Record<string, any> = {}) {
    receiver = startReceiver();
    herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), ...overrides }));
  }

  async function read(query: string, token?: string) {
    return herald.api("GET", `/v1/audit${query}`, undefined, { token });
  }

  async function destination(tenant: string, token?: string): Promise<string> {
    const res = await herald.api("POST", "/v1/destinations", { url: receiver.url, tenant }, { token });
    expect(res.status).toBe(201);
    herald.clock.advance(1_000);
    return res.body.id;
  }

  it("shows a tenant token only its tenant's entries; an admin sees all and may narrow to a tenant", async () => {
    await start();
    const acme = await destination("acme", ACME_TOKEN);
    const globex = await destination("globex", GLOBEX_TOKEN);
    expect((await herald.api("POST", "/v1/event-types", { name: "order.paid" })).status).toBe(201);
    expect((await herald.api("POST", `/v1/destinations/${globex}/disable`, {})).status).toBe(200);

    const ids = (res: { body: any }) => res.body.data.map((e: any) => `${e.action} ${e.resource.id}`);
    expect(ids(await read("", ACME_TOKEN))).toEqual([`destination.created ${acme}`]);
    expect(ids(await read("", GLOBEX_TOKEN))).toEqual([`destination.disabled ${globex}`, `destination.created ${globex}`]);
    // Asking for another's resource finds nothing; naming another tenant is refused outright.
    expect(ids(await read(`?resource_id=${globex}`, ACME_TOKEN))).toEqual([]);
    expect((await read("?tenant=globex", ACME_TOKEN)).status).toBe(403);
    expect(ids(await read("?tenant=acme", ACME_TOKEN))).toEqual([`destination.created ${acme}`]);

    expect(ids(await read(""))).toEqual([
      `destination.disabled ${globex}`, "event_type.created order.paid", `destination.created ${globex}`, `destination.created ${acme}`,
    ]);
    expect(ids(await read("?tenant=globex"))).toEqual([`destination.disabled ${globex}`, `destination.created ${globex}`]);
  });

  it("filters by resource, actor, action and time, and pages newest first by cursor", async () => {
    await start();
    const t0 = herald.clock.now();
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push(await destination("acme", ACME_TOKEN));
    const admins = await destination("acme");
    const first = made[0]!;
    expect((await herald.api("PATCH", `/v1/destinations/${first}`, { description: "changed" })).status).toBe(200);
    const t1 = herald.clock.now();

    const actions = (res: { body: any }) => res.body.data.map((e: any) => `${e.action} ${e.resource.id}`);
    expect(actions(await read(`?resource_type=destination&resource_id=${first}`))).toEqual([`destination.updated ${first}`, `destination.created ${first}`]);
    expect(actions(await read("?resource_type=subscription"))).toEqual([]);
    expect(actions(await read("?actor=admin"))).toEqual([`destination.updated ${first}`, `destination.created ${admins}`]);
    expect(actions(await read("?action=destination.updated"))).toEqual([`destination.updated ${first}`]);
    expect((await read("?actor=acme")).body.data).toHaveLength(5);
    // since is inclusive, until exclusive: the entries made at t0 + 1s .. t0 + 2s.
    expect(actions(await read(`?since=${iso(t0 + 1_000)}&until=${iso(t0 + 3_000)}`))).toEqual([
      `destination.created ${made[2]}`, `destination.created ${made[1]}`,
    ]);
    expect(actions(await read(`?since=${iso(t1)}`))).toEqual([`destination.updated ${first}`]);
    expect((await read("?since=yesterday")).status).toBe(400);
    expect((await read("?limit=0")).status).toBe(400);
    expect((await read("?colour=blue")).status).toBe(400);

    // Pages of 2: every entry once, newest first, then next_cursor null.
    const all = (await read("")).body.data.map((e: any) => e.id);
    expect(all).toHaveLength(7);
    expect([...all].sort().reverse()).toEqual(all);
    const paged: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: { body: any } = await read(`?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      paged.push(...res.body.data.map((e: any) => e.id));
      cursor = res.body.next_cursor;
      pages++;
    } while (cursor);
    expect(paged).toEqual(all);
    expect(pages).toBe(4);
    // Filters and the cursor together.
    const acmePage = await read("?actor=acme&limit=3");
    expect(acmePage.body.data).toHaveLength(3);
    const rest = await read(`?actor=acme&limit=3&cursor=${acmePage.body.next_cursor}`);
    expect(rest.body.data.map((e: any) => e.resource.id)).toEqual([made[1], made[0]]);
    expect(rest.body.next_cursor).toBeNull();
  });

  it("deletes entries older than retention.keep in the retention run, and keeps the newer ones", async () => {
    await start({ retention: { keep: "30d" } });
    const old = await destination("acme");
    herald.clock.advance(20 * DAY);
    const recent = await destination("acme");
    herald.clock.advance(11 * DAY);
    await herald.app.engine.retention.runOnce(herald.clock.now());
    const left = (await read("")).body.data.map((e: any) => e.resource.id);
    expect(left).toEqual([recent]);
    expect(left).not.toContain(old);
    // The next run, once the other is old enough too.
    herald.clock.advance(20 * DAY);
    await herald.app.engine.retention.runOnce(herald.clock.now());
    expect((await read("")).body.data).toEqual([]);
  });
});
