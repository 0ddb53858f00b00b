// Managing Herald from the console in a real browser (headless Chromium) against
// a real Herald and real receivers: an operator creates a destination and a
// subscription through the forms, publishes, and sees the delivery by the
// destination's name; the API's validation errors appear beside the fields they
// name and what was typed stays; editing (headers changed without their values
// ever reaching the page) and deleting; config resources read-only with the
// reason; event types editable by admins only. Screenshots: the path printed.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { ACME_TOKEN, ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { ARTIFACTS, CHROMIUM, PHONE, fitsWidth, launchBrowser, openPage, screenshot, signIn } from "./support/browser.ts";

const UI_TIMEOUT = 30_000;
const STATIC_VALUE = "never-shown-static-value-123";

let herald: TestHerald;
let billing: Receiver;
let shop: Receiver;
let plain: Receiver;
let browser: Browser;

async function publish(type: string, data: unknown): Promise<string> {
  const res = await herald.api("POST", "/v1/events", { type, data });
  expect(res.status).toBe(202);
  await herald.app.engine.idle();
  return res.body.id;
}

/** The id of the API destination whose URL is `url`. */
async function destinationAt(url: string): Promise<string> {
  const list = await herald.api("GET", "/v1/destinations?limit=1000");
  const found = list.body.data.find((d: { url: string }) => d.url === url);
  expect(found).toBeDefined();
  return found.id;
}

async function open(page: Page, hash: string, selector: string): Promise<void> {
  await page.evaluate((h) => (location.hash = h), hash);
  await page.waitForSelector(selector);
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  billing = startReceiver();
  shop = startReceiver();
  plain = startReceiver();
  herald = await startHerald(
    testConfig({
      auth: {
        tokens: [
          { name: "admin", token: ADMIN_TOKEN, role: "admin" },
          { name: "acme", token: ACME_TOKEN, role: "tenant", tenant: "acme" },
        ],
      },
      event_types: [
        { name: "invoice.paid", description: "An invoice was paid.", example: { invoice_id: "inv_1", total: 10 } },
        { name: "invoice.voided", description: "An invoice was voided." },
        { name: "order.created", description: "An order was placed." },
      ],
      destinations: [{ id: "shop", url: shop.url, description: "The shop's order service" }],
      subscriptions: [{ id: "shop-orders", destination: "shop", event_types: ["order.*"] }],
    }),
  );
  browser = await launchBrowser();
  console.log(`console screenshots: ${ARTIFACTS}/manage-*.png`);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await herald?.stop();
  await Promise.all([billing?.stop(), shop?.stop(), plain?.stop()]);
});

describe("managing Herald in the console", () => {
  it("creates a destination and a subscription through the forms; a published event's delivery shows by the destination's name", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.click("nav >> text=Destinations");
    await page.click("[data-action=new-destination]");
    await page.waitForSelector("#d-url");
    await page.fill("#d-url", billing.url);
    await page.fill("#d-description", "Billing hooks");
    await page.fill("#d-rate", "50");
    await page.click("[data-action=add-header]");
    await page.fill("[data-new-header-name='1']", "x-auth-token");
    await page.fill("[data-new-header-value='1']", STATIC_VALUE);
    await screenshot(page, "manage-destination-new");
    await page.click("button:has-text('Create destination')");
    const card = await page.waitForSelector("section.destination:has(h2:has-text('Billing hooks'))");
    const id = await destinationAt(billing.url);
    expect(await card.getAttribute("data-destination-id")).toBe(id);
    expect(await card.textContent()).toContain("Subscribed to nothing");
    const made = (await herald.api("GET", `/v1/destinations/${id}`)).body;
    expect({ rate_limit: made.rate_limit, header_names: made.header_names, managed_by: made.managed_by }).toEqual({ rate_limit: 50, header_names: ["x-auth-token"], managed_by: "api" });

    await page.click("nav >> text=Subscriptions");
    await page.click("[data-action=new-subscription]");
    await page.waitForSelector("#s-destination");
    // Picked by name: the option reads "Billing hooks (dst_…)".
    await page.selectOption("#s-destination", { label: `Billing hooks (${id})` });
    // The catalogue offers the wildcards it implies (Herald's own types are folded apart).
    expect(await page.$$eval("[data-own-patterns] [data-pattern]", (els) => els.map((e) => (e as HTMLInputElement).value))).toEqual(["*", "invoice.*", "order.*", "invoice.paid", "invoice.voided", "order.created"]);
    await page.check("[data-pattern='invoice.*']");
    await page.fill("#s-filter", '{"data.total": {"$gte": 5}}');
    await page.click("[data-action=check-filter]");
    await page.waitForSelector(".check-output :text('filter is valid')");
    await screenshot(page, "manage-subscription-new");
    await page.click("button:has-text('Create subscription')");
    const row = await page.waitForSelector(`#subscription-list tr:has-text('invoice.*')`);
    expect(await row.textContent()).toContain("Billing hooks");
    expect(await row.$eval(".dest-name", (el) => el.getAttribute("title"))).toBe(id);
    await screenshot(page, "manage-subscriptions");
    const subs = (await herald.api("GET", `/v1/subscriptions?destination_id=${id}`)).body.data;
    expect(subs.map((s: any) => ({ event_types: s.event_types, filter: s.filter }))).toEqual([{ event_types: ["invoice.*"], filter: { "data.total": { $gte: 5 } } }]);

    const eventId = await publish("invoice.paid", { invoice_id: "inv_9", total: 12 });
    const [received] = await billing.waitFor(1);
    expect(received!.headers["x-auth-token"]).toBe(STATIC_VALUE);

    await page.click("nav >> text=Event log");
    const logRow = await page.waitForSelector(`#log-table tr[data-event-id="${eventId}"]:has(.badge-succeeded)`);
    expect(await logRow.textContent()).toContain("Billing hooks");
    expect(await logRow.textContent()).not.toContain(id);
    await page.click(`#log-table tr[data-event-id="${eventId}"] a`);
    const delivery = await page.waitForSelector("section.delivery[data-status='succeeded']");
    expect(await delivery.$eval("h3", (el) => el.textContent)).toBe("Billing hooks");
    await screenshot(page, "manage-event");

    await page.click("nav >> text=Destinations");
    const subscribed = await page.waitForSelector(`section.destination[data-destination-id="${id}"] .subscribed`);
    expect(await subscribed.textContent()).toContain("invoice.*");
    await screenshot(page, "manage-destinations");
    await page.context().close();
  }, UI_TIMEOUT);

  it("shows the API's error beside the field it names and keeps what was typed", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await open(page, "#/destinations/new", "#d-url");
    await page.fill("#d-url", "ftp://files.example.com/drop");
    await page.fill("#d-description", "Typed with care");
    await page.fill("#d-in-flight", "3");
    await page.click("button:has-text('Create destination')");
    const error = await page.waitForSelector("[data-error-for='url']:not([hidden])");
    expect(await error.textContent()).toMatch(/http/);
    expect(await page.getAttribute("#d-url", "aria-invalid")).toBe("true");
    // Everything typed is still there, and nothing was created.
    expect(await page.inputValue("#d-url")).toBe("ftp://files.example.com/drop");
    expect(await page.inputValue("#d-description")).toBe("Typed with care");
    expect(await page.inputValue("#d-in-flight")).toBe("3");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("d-url");
    await screenshot(page, "manage-destination-error");
    const list = (await herald.api("GET", "/v1/destinations")).body.data;
    expect(list.some((d: any) => d.description === "Typed with care")).toBe(false);

    // A filter the engine refuses: its problem shows beside the filter, before any save.
    await open(page, "#/subscriptions/new", "#s-filter");
    await page.fill("#s-filter", '{"data.total": {"$between": [1, 2]}}');
    await page.click("[data-action=check-filter]");
    const filterError = await page.waitForSelector("[data-error-for='filter']:not([hidden])");
    expect(await filterError.textContent()).toContain("$between");
    expect(await page.inputValue("#s-filter")).toBe('{"data.total": {"$between": [1, 2]}}');
    await screenshot(page, "manage-subscription-error");
    await page.context().close();
  }, UI_TIMEOUT);

  it("edits a destination, changing a header without its value ever reaching the page, then deletes it", async () => {
    const created = await herald.api("POST", "/v1/destinations", { url: plain.url, headers: { "x-auth-token": STATIC_VALUE, "x-team": "billing" } });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.click("nav >> text=Destinations");
    // No description: named by its URL's host.
    const host = new URL(plain.url).host;
    const card = await page.waitForSelector(`section.destination[data-destination-id="${id}"]`);
    expect(await card.$eval("h2", (el) => el.textContent)).toBe(host);
    await card.$eval("[data-action=edit]", (el) => (el as HTMLElement).click());
    await page.waitForSelector("#d-url");
    expect(await page.content()).not.toContain(STATIC_VALUE);
    expect(await page.evaluate(() => [...document.querySelectorAll("input")].map((i) => i.value).join("|"))).not.toContain(STATIC_VALUE);
    await page.fill("#d-description", "Plain hooks");
    await page.selectOption("[data-header-action='x-auth-token']", "replace");
    await page.fill("[data-header-value='x-auth-token']", "rotated-static-value-456");
    await page.selectOption("[data-header-action='x-team']", "remove");
    await screenshot(page, "manage-destination-edit");
    await page.click("button:has-text('Save changes')");
    await page.waitForSelector(`section.destination[data-destination-id="${id}"] h2:has-text('Plain hooks')`);
    const headers = (await herald.api("GET", `/v1/destinations/${id}/headers`)).body.headers;
    expect(headers).toEqual({ "x-auth-token": "rotated-static-value-456" });

    await open(page, `#/destinations/edit/${id}`, "[data-action=delete]");
    await page.click("[data-action=delete]");
    // The first press only asks; nothing is deleted yet.
    expect((await herald.api("GET", `/v1/destinations/${id}`)).status).toBe(200);
    await page.click("[data-action=delete]");
    await page.waitForSelector("#main [role=status]:has-text('Plain hooks is deleted')");
    expect((await herald.api("GET", `/v1/destinations/${id}`)).status).toBe(404);
    await page.context().close();
  }, UI_TIMEOUT);

  it("edits and deletes a subscription", async () => {
    const created = await herald.api("POST", "/v1/subscriptions", { destination_id: "shop", event_types: ["invoice.voided"] });
    // A config destination may still take API subscriptions.
    expect(created.status).toBe(201);
    const id = created.body.id;
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await open(page, `#/subscriptions/edit/${id}`, "#s-filter");
    expect(await page.isChecked("[data-pattern='invoice.voided']")).toBe(true);
    await page.uncheck("[data-pattern='invoice.voided']");
    await page.check("[data-pattern='*']");
    await page.fill("#s-description", "everything, for the shop");
    await page.click("button:has-text('Save changes')");
    await page.waitForSelector(`#subscription-list tr[data-subscription-id="${id}"]:has-text('everything, for the shop')`);
    expect((await herald.api("GET", `/v1/subscriptions/${id}`)).body.event_types).toEqual(["*"]);
    await open(page, `#/subscriptions/edit/${id}`, "[data-action=delete]");
    await page.click("[data-action=delete]");
    await page.click("[data-action=delete]");
    await page.waitForSelector("#main [role=status]:has-text('deleted')");
    expect((await herald.api("GET", `/v1/subscriptions/${id}`)).status).toBe(404);
    await page.context().close();
  }, UI_TIMEOUT);

  it("shows config resources read-only with the reason", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.click("nav >> text=Destinations");
    const card = await page.waitForSelector("section.destination[data-destination-id='shop']");
    // A config destination is named by its id, and offers no edit.
    expect(await card.$eval("h2", (el) => el.textContent)).toBe("shop");
    expect(await card.$("[data-action=edit]")).toBeNull();
    expect(await card.$eval("[data-read-only]", (el) => el.textContent)).toContain("declared in the config file; change it there");

    await open(page, "#/destinations/edit/shop", "#d-url");
    expect(await page.textContent("[data-read-only=config]")).toContain("declared in the config file; change it there");
    expect(await page.isDisabled("#d-url")).toBe(true);
    expect(await page.$("[data-action=delete]")).toBeNull();
    await screenshot(page, "manage-destination-config");

    await page.click("nav >> text=Subscriptions");
    const row = await page.waitForSelector("#subscription-list tr[data-subscription-id='shop-orders']");
    expect(await row.$("[data-action=edit]")).toBeNull();
    expect(await row.textContent()).toContain("read-only");
    await page.context().close();
  }, UI_TIMEOUT);

  it("lets an admin create and edit event types, and offers a tenant token none of it", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.click("nav >> text=Event types");
    await page.click("[data-action=new-event-type]");
    await page.fill("#t-name", "refund.issued");
    await page.fill("#t-description", "A refund went out.");
    await page.fill("#t-schema", "{not json");
    await page.click("button:has-text('Create event type')");
    await page.waitForSelector("[data-error-for='schema']:not([hidden])");
    await page.fill("#t-schema", '{"type": "object", "required": ["refund_id"]}');
    await page.fill("#t-example", '{"refund_id": "rf_1"}');
    await page.click("button:has-text('Create event type')");
    await page.waitForSelector("section.event-type[data-event-type='refund.issued']");
    // The list says so, by name, as the destination and subscription lists do.
    expect(await page.locator("main [role=status]").innerText()).toContain("Event type refund.issued is saved.");
    await page.click("section.event-type[data-event-type='refund.issued'] [data-action=edit]");
    await page.fill("#t-description", "A refund was issued to the customer.");
    await page.click("button:has-text('Save changes')");
    await page.waitForSelector("section.event-type[data-event-type='refund.issued']:has-text('issued to the customer')");
    expect(await page.locator("main [role=status]").innerText()).toContain("Event type refund.issued is saved.");
    const type = (await herald.api("GET", "/v1/event-types/refund.issued")).body;
    expect({ schema: type.schema, example: type.example }).toEqual({ schema: { type: "object", required: ["refund_id"] }, example: { refund_id: "rf_1" } });
    // Config types have no edit link.
    expect(await page.$("section.event-type[data-event-type='invoice.paid'] [data-action=edit]")).toBeNull();
    await screenshot(page, "manage-event-types");
    await page.context().close();

    const tenant = await openPage(browser, PHONE);
    await signIn(tenant, herald.url, ACME_TOKEN);
    await tenant.click("nav >> text=Event types");
    await tenant.waitForSelector("section.event-type[data-event-type='refund.issued']");
    expect(await tenant.$("[data-action=new-event-type]")).toBeNull();
    expect(await tenant.$("section.event-type [data-action=edit]")).toBeNull();
    // A tenant manages its own destinations: the form is offered, and fits a phone.
    await tenant.click("nav >> text=Destinations");
    await tenant.click("[data-action=new-destination]");
    await tenant.waitForSelector("#d-url");
    expect(await tenant.$("#d-tenant")).toBeNull();
    expect(await fitsWidth(tenant)).toBe(true);
    await screenshot(tenant, "manage-destination-new");
    await tenant.context().close();
  }, UI_TIMEOUT);
});
