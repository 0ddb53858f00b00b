// The console's API keys page in a real browser (headless Chromium) against a
// real Herald: an admin issues a key with the keyboard, sees it once with a
// copy button, the key works against the API, and revoking it from the page
// makes it a 401 at once. A tenant token is told it may not see the page.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { CHROMIUM, launchBrowser, openPage, screenshot, signIn } from "./support/browser.ts";

const UI_TIMEOUT = 30_000;
let herald: TestHerald;
let browser: Browser;

beforeAll(async () => {
  herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), event_types: [{ name: "order.created" }] }));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
});

describe.skipIf(!existsSync(CHROMIUM))("the console's API keys page", () => {
  it("issues a key shown once, which works, and revokes it", async () => {
    const page = await openPage(browser);
    const errors: string[] = [];
    page.on("console", (message) => message.type() === "error" && errors.push(message.text()));
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.click("nav >> text=API keys");
    await page.waitForSelector("#api-key-list table");
    // The config's tokens are listed, read-only: no revoke button.
    expect(await page.locator('tr[data-key-id="cfg_admin"] [data-action=revoke]').count()).toBe(0);

    // By keyboard: type, choose the role, submit with Enter.
    await page.focus("#k-name");
    await page.keyboard.type("shop producer");
    await page.selectOption("#k-role", "publisher");
    await page.focus("#k-types");
    await page.keyboard.type("order.*");
    await page.keyboard.press("Enter");
    const shown = await page.waitForSelector("[data-new-key] #new-key");
    const key = await shown.inputValue();
    expect(key).toMatch(/^hrk_/);
    expect(await page.locator("[data-new-key] button", { hasText: "Copy key" }).count()).toBe(1);
    const id = await page.getAttribute("[data-new-key]", "data-new-key");
    await page.waitForSelector(`tr[data-key-id="${id}"]`);
    await screenshot(page, "api-keys");

    const publish = () => herald.api("POST", "/v1/events", { type: "order.created" }, { token: key });
    expect((await publish()).status).toBe(202);
    // The list never shows the key again.
    expect(await page.locator("#api-key-list").textContent()).not.toContain(key);

    // Revoke: two steps, by keyboard.
    await page.focus(`tr[data-key-id="${id}"] [data-action=revoke]`);
    await page.keyboard.press("Enter");
    await page.waitForSelector(`tr[data-key-id="${id}"] [data-action=revoke] >> text=Confirm revoke`);
    await page.keyboard.press("Enter");
    await page.waitForSelector(`tr[data-key-id="${id}"] >> text=revoked`);
    expect((await publish()).status).toBe(401);
    expect(errors.filter((e) => !e.includes("401"))).toEqual([]);
    await page.context().close();
  }, UI_TIMEOUT);

  it("tells a tenant token it may not see the page", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ACME_TOKEN);
    await page.goto(`${herald.url}/ui/#/api-keys`);
    const alert = await page.waitForSelector("#api-key-list .alert");
    expect(await alert.textContent()).toContain("403");
    await page.context().close();
  }, UI_TIMEOUT);
});
