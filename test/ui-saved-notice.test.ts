// The notice the event-type list shows after the console saves a type, in a
// real browser (headless Chromium, real Herald): creating and changing a type
// both land on the list with "saved" and the type's name, as saving a
// destination or a subscription does on theirs. Screenshot: test-artifacts/ui/type-saved-*.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { ARTIFACTS, CHROMIUM, launchBrowser, openPage, screenshot, signIn } from "./support/browser.ts";

const UI_TIMEOUT = 30_000;

let herald: TestHerald;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  herald = await startHerald(testConfig());
  browser = await launchBrowser();
  console.log(`ui-saved-notice: screenshots in ${ARTIFACTS} (type-saved-*.png)`);
});
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
});

describe.skipIf(!existsSync(CHROMIUM))("the notice after saving an event type", () => {
  it("says the new type is saved, by name, on the list", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.goto(`${herald.url}/ui/#/event-types/new`);
    await page.fill("#t-name", "invoice.paid");
    await page.fill("#t-description", "An invoice was paid");
    await page.click("form button[type=submit]");
    const notice = page.locator("main [role=status]");
    await notice.waitFor();
    expect(await notice.innerText()).toContain("Event type invoice.paid is saved.");
    expect((await herald.api("GET", "/v1/event-types/invoice.paid")).status).toBe(200);
    await screenshot(page, "type-saved");
    await page.context().close();
  }, UI_TIMEOUT);

  it("says a changed type is saved", async () => {
    expect((await herald.api("POST", "/v1/event-types", { name: "invoice.voided" })).status).toBe(201);
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.goto(`${herald.url}/ui/#/event-types/edit/invoice.voided`);
    await page.waitForSelector("#t-description");
    await page.fill("#t-description", "An invoice was voided");
    await page.click("form button[type=submit]");
    const notice = page.locator("main [role=status]");
    await notice.waitFor();
    expect(await notice.innerText()).toContain("Event type invoice.voided is saved.");
    expect((await herald.api("GET", "/v1/event-types/invoice.voided")).body.description).toBe("An invoice was voided");
    await page.context().close();
  }, UI_TIMEOUT);
});
