// Event types limited to tenants in a real browser (headless Chromium, real
// Herald): an admin limits a type to one tenant through the event-type form
// (and sees a bad list's error beside the field); another tenant's portal then
// never shows that type's name anywhere — event types page, the event log's
// type list, the subscription form's picker — while its own tenant's portal
// does. Screenshots: test-artifacts/ui/type-tenants-*.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { ARTIFACTS, CHROMIUM, launchBrowser, openPage, screenshot, signIn } from "./support/browser.ts";

const UI_TIMEOUT = 30_000;
/** The private type's name, and a distinctive word of its description: neither may reach acme's portal. */
const PRIVATE = "globex.reactor-vented";
const MARKS = ["reactor-vented", "plutonium"];

let herald: TestHerald;
let receiver: Receiver;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  receiver = startReceiver();
  herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), event_types: [{ name: "shared.ping" }] }));
  expect((await herald.api("POST", "/v1/event-types", { name: PRIVATE, description: "plutonium vented" })).status).toBe(201);
  for (const [tenant, token] of [["acme", ACME_TOKEN], ["globex", GLOBEX_TOKEN]] as const) {
    const dst = await herald.api("POST", "/v1/destinations", { url: receiver.url, tenant, description: `${tenant} hooks` }, { token });
    expect(dst.status).toBe(201);
  }
  browser = await launchBrowser();
  console.log(`ui-event-type-tenants: screenshots in ${ARTIFACTS} (type-tenants-*.png)`);
});
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
  receiver?.stop();
});

async function portal(tenant: string): Promise<Page> {
  const made = await herald.api("POST", "/v1/portal-links", { tenant });
  expect(made.status).toBe(201);
  const page = await openPage(browser);
  await page.goto(made.body.url);
  await page.waitForSelector("#portal-session");
  return page;
}

async function open(page: Page, hash: string, ready: string): Promise<void> {
  await page.goto(`${herald.url}/ui/${hash}`);
  await page.waitForSelector(ready, { state: "attached" });
}

/** Neither what the page shows nor its markup (datalists, attributes) names the private type. */
async function expectNoPrivateType(page: Page): Promise<void> {
  const text = (await page.locator("body").innerText()) + (await page.content());
  for (const mark of MARKS) expect(text).not.toContain(mark);
}

describe.skipIf(!existsSync(CHROMIUM))("event types limited to tenants in the console", () => {
  it("an admin limits a type to a tenant in the form, and a bad list is shown beside the field", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await open(page, `#/event-types/edit/${PRIVATE}`, "#t-tenants");
    expect(await page.inputValue("#t-tenants")).toBe("");
    await page.fill("#t-tenants", "globex, globex");
    await page.click("button:has-text('Save changes')");
    const error = await page.waitForSelector("[data-error-for=tenants]:not([hidden])");
    expect(await error.innerText()).toContain("second time");
    await page.fill("#t-tenants", "globex");
    await page.click("button:has-text('Save changes')");
    await page.waitForSelector(`[data-event-type="${PRIVATE}"] [data-tenants=globex]`);
    expect((await herald.api("GET", `/v1/event-types/${PRIVATE}`)).body.tenants).toEqual(["globex"]);
    await screenshot(page, "type-tenants-admin-list");
    await open(page, `#/event-types/edit/${PRIVATE}`, "#t-tenants");
    expect(await page.inputValue("#t-tenants")).toBe("globex");
    await page.context().close();
  }, UI_TIMEOUT);

  it("another tenant's portal never shows the type: event types, event log, subscription picker", async () => {
    const page = await portal("acme");
    await open(page, "#/event-types", "[data-event-type='shared.ping']");
    await expectNoPrivateType(page);
    await screenshot(page, "type-tenants-acme-types");
    await open(page, "#/events", "#type-options");
    await page.waitForSelector("#type-options option[value='shared.ping']", { state: "attached" });
    await expectNoPrivateType(page);
    await open(page, "#/subscriptions/new", "[data-pattern='shared.ping']");
    await expectNoPrivateType(page);
    await screenshot(page, "type-tenants-acme-subscription");
    // Asked for by name, it does not exist here.
    await page.goto(`${herald.url}/ui/#/event-types/edit/${PRIVATE}`);
    expect(await (await page.waitForSelector("main .alert")).innerText()).toContain("does not exist");
    await page.context().close();
  }, UI_TIMEOUT);

  it("its own tenant's portal shows it, to list and to subscribe to", async () => {
    const page = await portal("globex");
    await open(page, "#/event-types", `[data-event-type="${PRIVATE}"]`);
    // A tenant is not told which tenants a type is limited to.
    expect(await page.locator("[data-tenants]").count()).toBe(0);
    // Nor shown an empty "Only for tenants" field that would read as every tenant's.
    await open(page, `#/event-types/edit/${PRIVATE}`, "#t-description");
    expect(await page.locator("#t-tenants").count()).toBe(0);
    await open(page, "#/subscriptions/new", `[data-pattern="${PRIVATE}"]`);
    await page.context().close();
  }, UI_TIMEOUT);
});
