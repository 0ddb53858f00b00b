// The console in a real browser (headless Chromium) against a real Herald with
// real receivers: sign-in, the log, a delivery that fails then succeeds, retry,
// tenant scope, scheduled deliveries and cancelling them, every page at desktop
// and phone width (screenshots saved to test-artifacts/ui/) and keyboard use.
// First-render time is a benchmark (`npm run bench -- console`), not a test.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { ADMIN_TOKEN, sqliteOf, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { CHROMIUM, DESKTOP, PHONE, fitsWidth, launchBrowser, openPage, screenshot, signIn } from "./support/browser.ts";

const TENANT_TOKEN = "test-tenant-acme-token-0123456";
/** Browser steps wait for selectors, not sleeps; this bounds a whole test on a slow machine. */
const UI_TIMEOUT = 30_000;

let herald: TestHerald;
let shop: Receiver;
let crm: Receiver;
let acme: Receiver;
/** The two destinations of meeting.* events, the scheduled ones. */
let calendar: Receiver;
let mailer: Receiver;
let browser: Browser;
/** The event whose delivery to `shop` fails once (500), then succeeds. */
let retriedEvent: string;
let goneEvent: string;
let acmeEvent: string;

async function publish(type: string, data: unknown, tenant?: string, deliverAt?: string): Promise<string> {
  const res = await herald.api("POST", "/v1/events", { type, data, ...(tenant ? { tenant } : {}), ...(deliverAt ? { deliver_at: deliverAt } : {}) });
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
  calendar = startReceiver();
  mailer = startReceiver();
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
        { name: "meeting.reminder", description: "A meeting is about to start; published ahead with deliver_at." },
      ],
      destinations: [
        { id: "shop", url: shop.url, description: "The shop's order service", headers: { "x-auth-token": "s3cret-static" } },
        { id: "legacy-crm", url: crm.url, description: "The old CRM, being retired" },
        { id: "acme-hooks", tenant: "acme", url: acme.url, description: "Acme's webhook endpoint" },
        { id: "calendar", url: calendar.url, description: "The calendar service" },
        { id: "mailer", url: mailer.url, description: "Sends reminder mails" },
      ],
      subscriptions: [
        { id: "shop-orders", destination: "shop", event_types: ["order.*"] },
        { id: "crm-attendees", destination: "legacy-crm", event_types: ["attendee.*"] },
        { id: "acme-all", destination: "acme-hooks", event_types: ["*"] },
        { id: "calendar-meetings", destination: "calendar", event_types: ["meeting.*"] },
        { id: "mailer-meetings", destination: "mailer", event_types: ["meeting.*"] },
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
  await Promise.all([shop?.stop(), crm?.stop(), acme?.stop(), calendar?.stop(), mailer?.stop()]);
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

  it("shows an ordered destination held back by its failed head, and not once the head succeeded", async () => {
    const ledger = startReceiver([{ status: 503 }]);
    try {
      const created = await herald.api("POST", "/v1/destinations", { id: "ledger", url: ledger.url, ordered: true, max_in_flight: 1 });
      expect(created.status).toBe(201);
      expect((await herald.api("POST", "/v1/subscriptions", { destination_id: "ledger", event_types: ["attendee.updated"] })).status).toBe(201);
      const first = await publish("attendee.updated", { attendee_id: "att_1" });
      await publish("attendee.updated", { attendee_id: "att_2" });
      expect(ledger.requests.length).toBe(1);
      const [head] = (await herald.api("GET", `/v1/events/${first}`)).body.deliveries.filter((d: { destination_id: string }) => d.destination_id === "ledger");
      const page = await openPage(browser);
      await signIn(page, herald.url, ADMIN_TOKEN);
      await page.goto(`${herald.url}/ui/#/destinations`);
      const card = `section.destination[data-destination-id="ledger"]`;
      const held = await page.waitForSelector(`${card} [data-held-by-head="${head.id}"]`);
      expect(await held.textContent()).toContain("1 delivery waits behind it");
      expect(await page.textContent(card)).toContain("ordered");
      // The retry succeeds; the second follows, and nothing is held any more.
      await sweepAfter(6_000);
      expect(ledger.requests.length).toBe(3);
      await page.reload();
      await page.waitForSelector(card);
      expect(await page.$(`${card} [data-held-by-head]`)).toBeNull();
      await page.context().close();
    } finally {
      await herald.api("DELETE", "/v1/destinations/ledger");
      await ledger.stop();
    }
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

describe("scheduled deliveries in the console", () => {
  const HOUR = 3_600_000;
  /** A meeting.reminder due `ms` after the test clock's now: two deliveries (calendar, mailer) waiting. */
  const schedule = async (ms: number) => {
    const at = new Date(herald.clock.now() + ms).toISOString();
    return { id: await publish("meeting.reminder", { meeting: "weekly", starts_in: "15m" }, undefined, at), at };
  };
  /** A step's wait fails well inside the test's time, so a missing element fails as itself, not as a timeout. */
  const open = async () => {
    const page = await openPage(browser);
    page.setDefaultTimeout(10_000);
    return page;
  };
  const statuses = async (id: string) => ((await herald.api("GET", `/v1/events/${id}`)).body.deliveries as any[]).map((d) => [d.destination_id, d.status, d.last_error]).sort();

  it("shows when a scheduled event will be delivered while its deliveries wait, in the log and on its page", async () => {
    const { id, at } = await schedule(2 * HOUR);
    const page = await open();
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.goto(`${herald.url}/ui/#/events`);
    // The log, compactly: the time, absolute and relative, once the deliveries are read.
    const line = await page.waitForSelector(`#log-table tr[data-event-id="${id}"] .scheduled time[datetime="${at}"]`);
    expect(await line.evaluate((el) => el.parentElement!.textContent)).toMatch(/^scheduled for .+in 2 hr/);
    await screenshot(page, "event-log-scheduled");

    await page.goto(`${herald.url}/ui/#/events/${id}`);
    const note = await page.waitForSelector(`#event-schedule:not([hidden]) time[datetime="${at}"]`);
    expect(await page.textContent("#event-schedule")).toMatch(/scheduled for .+in 2 hr/);
    expect(await note.getAttribute("title")).toContain(at);
    // Each waiting delivery says when it is due.
    await page.waitForSelector(`section.delivery[data-status="pending"]`);
    const due = await page.$$eval(`section.delivery[data-status="pending"]`, (cards) => cards.map((c) => [c.querySelector("dt:has(+ dd.due)")?.textContent, c.querySelector("dd.due time")?.getAttribute("datetime")]));
    expect(due).toEqual([["Due", at], ["Due", at]]);
    await screenshot(page, "event-scheduled");
    await page.setViewportSize(PHONE);
    await screenshot(page, "event-scheduled");
    expect(await fitsWidth(page)).toBe(true);
    await page.setViewportSize(DESKTOP);

    // The delivery filter shows the due time under the status.
    await page.goto(`${herald.url}/ui/#/events?status=pending&destination=calendar`);
    const row = await page.waitForSelector(`#log-table tr[data-event-id="${id}"] td[data-label="Status"]`);
    expect(await row.textContent()).toMatch(/pending.*due .+in 2 hr/);

    // Once the time comes and both are delivered, the page stops saying "scheduled".
    await page.goto(`${herald.url}/ui/#/events/${id}`);
    await page.waitForSelector("#event-schedule:not([hidden])");
    await sweepAfter(2 * HOUR);
    expect([calendar.requests.length, mailer.requests.length]).toEqual([1, 1]);
    await page.waitForSelector(`section.delivery[data-status="succeeded"] + section.delivery[data-status="succeeded"]`);
    expect(await page.isHidden("#event-schedule")).toBe(true);
    expect(await page.isHidden("#cancel-pending")).toBe(true);
    await page.context().close();
  }, UI_TIMEOUT);

  it("cancels an event's pending deliveries with the button, after an in-page confirmation, from the keyboard", async () => {
    const { id } = await schedule(HOUR);
    const received = [calendar.requests.length, mailer.requests.length];
    const page = await open();
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.goto(`${herald.url}/ui/#/events/${id}`);
    await page.waitForSelector("#cancel-pending:not([hidden])");

    // Enter opens the question; focus starts on the choice that changes nothing; Escape backs out.
    await page.focus("#cancel-pending");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#cancel-confirm:not([hidden])");
    expect(await page.textContent("#cancel-question")).toContain("Cancel the 2 pending deliveries of this event?");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("cancel-no");
    await screenshot(page, "event-cancel-confirm");
    await page.keyboard.press("Escape");
    await page.waitForSelector("#cancel-confirm", { state: "hidden" });
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("cancel-pending");
    expect(await statuses(id)).toEqual([["calendar", "pending", null], ["mailer", "pending", null]]);

    await page.keyboard.press("Enter");
    await page.waitForSelector("#cancel-confirm:not([hidden])");
    await page.keyboard.press("Shift+Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("cancel-yes");
    await page.keyboard.press("Enter");
    const result = await page.waitForSelector("#cancel-result [role=status]");
    expect(await result.textContent()).toContain("Cancelled 2 deliveries");
    // The page's deliveries are read again: both cancelled, with the reason, and nothing left to cancel.
    await page.waitForSelector(`section.delivery[data-status="cancelled"] + section.delivery[data-status="cancelled"]`);
    expect(await page.$$eval(`section.delivery dd.reason`, (dds) => dds.map((d) => d.textContent))).toEqual(["cancelled through the API", "cancelled through the API"]);
    expect(await page.$$(`section.delivery button[data-retry]`)).toHaveLength(0);
    expect(await page.isHidden("#cancel-pending")).toBe(true);
    expect(await page.isHidden("#event-schedule")).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("cancel-result");
    await screenshot(page, "event-cancelled");
    expect(dialogs).toEqual([]);

    // Through the API: cancelled, and never sent, even once their time has passed.
    expect(await statuses(id)).toEqual([["calendar", "cancelled", "cancelled through the API"], ["mailer", "cancelled", "cancelled through the API"]]);
    await sweepAfter(2 * HOUR);
    expect([calendar.requests.length, mailer.requests.length]).toEqual(received);

    // The log's cancelled filter shows them as such, with their reason.
    await page.goto(`${herald.url}/ui/#/events?status=cancelled`);
    await page.waitForSelector(`#log-table tr[data-event-id="${id}"]`);
    const rows = await page.$$eval(`#log-table tr[data-event-id="${id}"] td[data-label="Status"]`, (cells) => cells.map((c) => c.textContent));
    expect(rows).toEqual(["⊘ cancelledcancelled through the API", "⊘ cancelledcancelled through the API"]);
    await page.context().close();
  }, UI_TIMEOUT);

  it("shows the API's error when it refuses a cancel, and cancels nothing", async () => {
    const { id } = await schedule(HOUR);
    const page = await open();
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.goto(`${herald.url}/ui/#/events/${id}`);
    await page.waitForSelector("#cancel-pending:not([hidden])");
    await page.click("#cancel-pending");
    await page.waitForSelector("#cancel-confirm:not([hidden])");
    // Herald's store takes no writes now (as on a read-only file): the API answers 503.
    const db = sqliteOf(herald.app);
    db.run("PRAGMA query_only = 1");
    try {
      await page.click("#cancel-yes");
      const alert = await page.waitForSelector("#cancel-result .alert");
      const text = (await alert.textContent())!;
      expect(text).toContain("Herald cannot write to its store right now");
      expect(text).toContain("storage_unavailable (HTTP 503)");
    } finally {
      db.run("PRAGMA query_only = 0");
    }
    // The button is back, with focus, to try again; the deliveries still wait.
    expect(await page.isVisible("#cancel-pending")).toBe(true);
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("cancel-pending");
    expect(await page.$$(`section.delivery[data-status="pending"]`)).toHaveLength(2);
    await screenshot(page, "event-cancel-refused");
    expect(await statuses(id)).toEqual([["calendar", "pending", null], ["mailer", "pending", null]]);
    await page.context().close();
  }, UI_TIMEOUT);
});
