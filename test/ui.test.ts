// The console in a real browser (headless Chromium) against a real Herald with
// real receivers: sign-in, the log, a delivery that fails then succeeds, retry,
// tenant scope, every page at desktop and phone width (screenshots saved to
// test-artifacts/ui/) and keyboard use. First-render time is a benchmark
// (`npm run bench -- console`), not a test.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { CHROMIUM, DESKTOP, PHONE, fitsWidth, launchBrowser, openPage, screenshot, signIn } from "./support/browser.ts";

const TENANT_TOKEN = "test-tenant-acme-token-0123456";
/** Browser steps wait for selectors, not sleeps; this bounds a whole test on a slow machine. */
const UI_TIMEOUT = 30_000;

let herald: TestHerald;
let shop: Receiver;
let crm: Receiver;
let acme: Receiver;
let browser: Browser;
/** The event whose delivery to `shop` fails once (500), then succeeds. */
let retriedEvent: string;
let goneEvent: string;
let acmeEvent: string;

async function publish(type: string, data: unknown, tenant?: string): Promise<string> {
  const res = await herald.api("POST", "/v1/events", { type, data, ...(tenant ? { tenant } : {}) });
  expect(res.status).toBe(202);
  await herald.app.engine.idle();
  return res.body.id;
}

/** Moves the clock past the first retry delay and runs the sweep, as its timer would. */
async function sweepAfter(ms: number): Promise<void> {
  herald.clock.advance(ms);
  await herald.app.engine.sweeper.runOnce(herald.clock.now());
  await herald.app.engine.idle();
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  shop = startReceiver([{ status: 500, body: JSON.stringify({ error: "database is busy, try again" }) }], { status: 200, body: '{"received":true}' });
  crm = startReceiver([], { status: 410, body: "this endpoint was retired" });
  acme = startReceiver();
  herald = await startHerald(
    testConfig({
      auth: {
        tokens: [
          { name: "admin", token: ADMIN_TOKEN, role: "admin" },
          { name: "acme", token: TENANT_TOKEN, role: "tenant", tenant: "acme" },
        ],
      },
      delivery: { retry_schedule: ["5s", "5m", "30m"] },
      event_types: [
        {
          name: "order.created",
          description: "An order was placed in the shop.",
          schema: { type: "object", required: ["order_id"], properties: { order_id: { type: "integer" }, total: { type: "number" }, items: { type: "array" } } },
          example: { order_id: 1, total: 12.5, items: [{ sku: "tea", qty: 1 }] },
        },
        { name: "attendee.updated", description: "An attendee's details changed.", example: { attendee_id: "att_1", email: "ada@example.com" } },
      ],
      destinations: [
        { id: "shop", url: shop.url, description: "The shop's order service", headers: { "x-auth-token": "s3cret-static" } },
        { id: "legacy-crm", url: crm.url, description: "The old CRM, being retired" },
        { id: "acme-hooks", tenant: "acme", url: acme.url, description: "Acme's webhook endpoint" },
      ],
      subscriptions: [
        { id: "shop-orders", destination: "shop", event_types: ["order.*"] },
        { id: "crm-attendees", destination: "legacy-crm", event_types: ["attendee.*"] },
        { id: "acme-all", destination: "acme-hooks", event_types: ["*"] },
      ],
    }),
  );
  retriedEvent = await publish("order.created", { order_id: 4242, total: 99.9, items: [{ sku: "green-tea", qty: 2 }, { sku: "mug", qty: 1 }] });
  goneEvent = await publish("attendee.updated", { attendee_id: "att_77", email: "grace@example.com" });
  acmeEvent = await publish("order.created", { order_id: 7, total: 5 }, "acme");
  const lines = Array.from({ length: 40 }, (_, i) => ({ sku: `sku-${i}`, qty: i + 1, note: "a long order, folded in the console" }));
  await publish("order.created", { order_id: 4243, total: 1234.5, items: lines });
  expect(shop.requests.length).toBe(2);
  browser = await launchBrowser();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await herald?.stop();
  await Promise.all([shop?.stop(), crm?.stop(), acme?.stop()]);
});

describe("the console", () => {
  it("refuses a bad token with a clear message, then signs in", async () => {
    const page = await openPage(browser);
    await page.goto(`${herald.url}/ui/`);
    await page.waitForSelector("#token");
    await screenshot(page, "sign-in");
    await page.fill("#token", "not-a-real-token");
    await page.press("#token", "Enter");
    const message = await page.waitForSelector("#sign-in-message .alert");
    expect(await message.textContent()).toContain("did not accept this token (401");
    await screenshot(page, "sign-in-bad-token");
    expect(await page.evaluate(() => sessionStorage.getItem("herald.token"))).toBeNull();

    await page.fill("#token", ADMIN_TOKEN);
    await page.press("#token", "Enter");
    await page.waitForSelector("#overview-counts .tile");
    expect(await page.evaluate(() => sessionStorage.getItem("herald.token"))).toBe(ADMIN_TOKEN);
    await page.context().close();
  }, UI_TIMEOUT);

  it("shows a delivery that failed, then succeeded, with its attempts; retry adds an attempt", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.click("nav >> text=Event log");
    // The log shows events at once and fills in their deliveries' states.
    const row = await page.waitForSelector(`#log-table tr[data-event-id="${retriedEvent}"] .badge`);
    expect(await row.textContent()).toContain("retrying");

    await page.click(`#log-table tr[data-event-id="${retriedEvent}"] a`);
    await page.waitForSelector(`#event-id:text("${retriedEvent}")`);
    const delivery = `section.delivery[data-status="pending"]`;
    await page.waitForSelector(delivery);
    expect(await page.textContent(delivery)).toContain("retrying");
    // Attempt 1 answered 500; its body and the redacted static header are in the log.
    await page.focus(`${delivery} details[data-attempt-number="1"] > summary`);
    await page.keyboard.press("Enter");
    const first = await page.waitForSelector(`details[data-attempt-number="1"][open] .attempt-body`);
    const firstText = (await first.textContent())!;
    expect(firstText).toContain("database is busy");
    expect(firstText).toContain("x-auth-token");
    expect(firstText).not.toContain("s3cret-static");
    expect(await page.textContent(`details[data-attempt-number="1"] > summary`)).toContain("500");
    await screenshot(page, "event-retrying");

    // The retry falls due; the page follows the delivery until it succeeds.
    await sweepAfter(5_000);
    expect(shop.requests.length).toBe(3);
    await page.waitForSelector(`section.delivery[data-status="succeeded"] details[data-attempt-number="2"]`);
    expect(await page.textContent(`details[data-attempt-number="2"] > summary`)).toContain("200");
    // The attempt opened before the refresh stays open.
    expect(await page.$(`details[data-attempt-number="1"][open]`)).not.toBeNull();

    await page.click(`section.delivery button[data-retry]`);
    await page.waitForSelector(`section.delivery[data-status="succeeded"] details[data-attempt-number="3"]`);
    expect(shop.requests.length).toBe(4);
    expect(shop.requests[3]!.headers["webhook-id"]).toBe(retriedEvent);
    await page.click(`details[data-attempt-number="3"] > summary`);
    expect(await page.textContent(`details[data-attempt-number="3"] .attempt-body`)).toContain("received");
    await screenshot(page, "event-detail");

    // The log's status filter lists deliveries: the 410 made one failed.
    await page.goto(`${herald.url}/ui/#/events?status=failed`);
    const failed = await page.waitForSelector(`#log-table tr[data-event-id="${goneEvent}"]`);
    expect(await failed.textContent()).toContain("failed");
    expect(await failed.textContent()).toContain("410");
    expect(await page.$$("#log-table tbody tr")).toHaveLength(1);
    await page.context().close();
  }, UI_TIMEOUT);

  it("shows a tenant token only its own tenant's events and destinations", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, TENANT_TOKEN);
    await page.goto(`${herald.url}/ui/#/events`);
    await page.waitForSelector(`#log-table tr[data-event-id="${acmeEvent}"]`);
    const tenants = await page.$$eval(`#log-table td[data-label="Tenant"]`, (cells) => cells.map((c) => c.textContent));
    expect(tenants).toEqual(["acme"]);
    expect(await page.$(`tr[data-event-id="${retriedEvent}"]`)).toBeNull();

    await page.goto(`${herald.url}/ui/#/destinations`);
    await page.waitForSelector("section.destination");
    const ids = await page.$$eval("section.destination", (cards) => cards.map((c) => (c as HTMLElement).dataset.destinationId));
    expect(ids).toEqual(["acme-hooks"]);

    // Another tenant's event is simply not found.
    await page.goto(`${herald.url}/ui/#/events/${retriedEvent}`);
    expect(await (await page.waitForSelector("main .alert")).textContent()).toContain("does not exist");
    await page.context().close();
  }, UI_TIMEOUT);

  it("sends a test event and disables and enables a destination", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.goto(`${herald.url}/ui/#/destinations`);
    const card = `section.destination[data-destination-id="shop"]`;
    await page.waitForSelector(card);
    // Static headers: the names are shown, the values never reach the browser.
    expect(await page.textContent(card)).toContain("x-auth-token");
    expect(await page.content()).not.toContain("s3cret-static");
    await page.click(`${card} button[data-action="test"]`);
    expect(await (await page.waitForSelector(`${card} .result`)).textContent()).toContain("test accepted");

    await page.fill(`${card} input[id="reason-shop"]`, "maintenance window");
    await page.click(`${card} button[data-action="disable"]`);
    await page.waitForSelector(`${card} button[data-action="enable"]`);
    expect(await page.textContent(card)).toContain("maintenance window");
    await page.click(`${card} button[data-action="enable"]`);
    await page.waitForSelector(`${card} button[data-action="disable"]`);
    await page.context().close();
  }, UI_TIMEOUT);

  it("renders every page at 1280 px and 390 px wide without sideways scrolling", async () => {
    const pages: [string, string, string][] = [
      ["overview", "#/", "#overview-chart figure"],
      ["event-log", "#/events", "#log-table"],
      ["event", `#/events/${retriedEvent}`, "section.delivery details.attempt"],
      ["destinations", "#/destinations", "section.destination .stats"],
      ["event-types", "#/event-types", "section.event-type"],
    ];
    for (const viewport of [DESKTOP, PHONE]) {
      const page = await openPage(browser, viewport);
      await signIn(page, herald.url, ADMIN_TOKEN);
      for (const [name, hash, ready] of pages) {
        await page.goto(`${herald.url}/ui/${hash}`);
        await page.waitForSelector(ready);
        await screenshot(page, name);
        expect({ name, width: viewport.width, fits: await fitsWidth(page) }).toEqual({ name, width: viewport.width, fits: true });
      }
      if (viewport === PHONE) {
        await page.context().close();
        const signedOut = await openPage(browser, viewport);
        await signedOut.goto(`${herald.url}/ui/`);
        await signedOut.waitForSelector("#token");
        await screenshot(signedOut, "sign-in");
        await signedOut.context().close();
      } else await page.context().close();
    }
  }, 60_000);

  it("can be used from the keyboard", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    // Signing in leaves focus at the content; from a fresh load, Tab starts at the top.
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await page.reload();
    await page.waitForSelector("#overview-counts .tile");
    // Skip link, brand, Overview, Event log.
    for (let i = 0; i < 4; i++) await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Event log");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#log-table");
    expect(new URL(page.url()).hash).toBe("#/events");
    expect(await page.getAttribute(`nav a[data-nav="events"]`, "aria-current")).toBe("page");
    await page.context().close();
  }, UI_TIMEOUT);

  it("refreshes the log by itself, and pages back through it with a cursor", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.goto(`${herald.url}/ui/#/events`);
    await page.waitForSelector("#log-table");
    expect(await page.getAttribute("#log-pause", "aria-pressed")).toBe("false");
    // Published after the page loaded: auto-refresh (every 5 s) brings it in without a reload.
    const fresh = await publish("attendee.updated", { attendee_id: "att_fresh" });
    await page.waitForSelector(`#log-table tr[data-event-id="${fresh}"]`, { timeout: 10_000 });

    const batch = await herald.api("POST", "/v1/events/batch", { events: Array.from({ length: 55 }, (_, i) => ({ type: "attendee.updated", data: { attendee_id: `att_${i}` } })) });
    expect(batch.status).toBe(202);
    await page.reload();
    await page.waitForSelector("#log-table");
    expect(await page.$$("#log-table tbody tr")).toHaveLength(50);
    await page.click("#log-pause");
    expect(await page.getAttribute("#log-pause", "aria-pressed")).toBe("true");
    await page.click(".pager a[rel=next]");
    await page.waitForSelector(`#log-table tr[data-event-id="${retriedEvent}"]`);
    expect(new URL(page.url()).hash).toContain("cursor=");
    expect(await page.textContent(".toolbar")).toContain("auto-refresh is off");
    await page.click(".pager >> text=Newest");
    await page.waitForSelector("#log-pause");
    await page.context().close();
  }, UI_TIMEOUT);
});
