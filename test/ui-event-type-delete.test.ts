// Deleting an event type from the console in a real browser (headless
// Chromium, real Herald): the event-type form's Delete button asks first, then
// deletes through the API and says so on the list; a type the config declares
// is shown read-only with the reason and offers no Delete; a refusal (the type
// deleted meanwhile by someone else) shows the API's error beside the button;
// a tenant's caller gets no Delete. Screenshots: test-artifacts/ui/type-delete-*.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { ARTIFACTS, CHROMIUM, launchBrowser, openPage, screenshot, signIn } from "./support/browser.ts";

const UI_TIMEOUT = 30_000;

let herald: TestHerald;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), event_types: [{ name: "declared.in-config" }] }));
  for (const name of ["order.created", "order.voided"]) expect((await herald.api("POST", "/v1/event-types", { name })).status).toBe(201);
  browser = await launchBrowser();
  console.log(`ui-event-type-delete: screenshots in ${ARTIFACTS} (type-delete-*.png)`);
});
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
});

async function editForm(page: Page, name: string): Promise<void> {
  await page.goto(`${herald.url}/ui/#/event-types/edit/${name}`);
  await page.waitForSelector("#t-description");
}

describe.skipIf(!existsSync(CHROMIUM))("deleting an event type in the console", () => {
  it("asks first, then deletes it and says so on the list", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await editForm(page, "order.created");
    const button = page.locator("[data-action=delete]");
    await button.click();
    // The first press only asks: nothing is deleted yet.
    expect(await button.innerText()).toBe("Confirm: delete this event type");
    expect((await herald.api("GET", "/v1/event-types/order.created")).status).toBe(200);
    await screenshot(page, "type-delete-confirm");
    await button.click();
    await page.waitForSelector("main [role=status]:has-text('order.created is deleted')");
    expect(await page.locator("[data-event-type='order.created']").count()).toBe(0);
    expect((await herald.api("GET", "/v1/event-types/order.created")).status).toBe(404);
    await page.context().close();
  }, UI_TIMEOUT);

  it("shows the API's error when it refuses (deleted meanwhile)", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await editForm(page, "order.voided");
    await page.click("[data-action=delete]");
    expect((await herald.api("DELETE", "/v1/event-types/order.voided")).status).toBe(204);
    await page.click("[data-action=delete]");
    const error = await page.waitForSelector(".danger-zone .action-output [role=alert], .danger-zone .action-output .alert");
    expect(await error.innerText()).toContain("does not exist");
    await screenshot(page, "type-delete-refused");
    await page.context().close();
  }, UI_TIMEOUT);

  it("offers no Delete for a type the config declares (read-only, with the reason), nor to a tenant", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await editForm(page, "declared.in-config");
    expect(await page.locator("[data-read-only=config]").innerText()).toContain("declared in the config file");
    expect(await page.locator("[data-action=delete]").count()).toBe(0);
    await page.context().close();

    const tenant = await openPage(browser);
    await signIn(tenant, herald.url, ACME_TOKEN);
    await herald.api("POST", "/v1/event-types", { name: "order.shipped" });
    await editForm(tenant, "order.shipped");
    expect(await tenant.locator("[data-action=delete]").count()).toBe(0);
    await tenant.context().close();
  }, UI_TIMEOUT);
});
