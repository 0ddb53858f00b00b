// The console's destination card shows an ed25519 destination's public key (never a
// secret) with a copy button that copies exactly that key, in a real browser
// (headless Chromium) against a real Herald, at desktop and phone widths.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { CHROMIUM, fitsWidth, launchBrowser, openPage, PHONE, screenshot, signIn } from "./support/browser.ts";

const UI_TIMEOUT = 30_000;
let herald: TestHerald;
let browser: Browser;

beforeAll(async () => {
  herald = await startHerald(testConfig());
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
});

describe.skipIf(!existsSync(CHROMIUM))("the console's ed25519 destinations", () => {
  it("shows the public key with a copy button, and nothing for an HMAC destination", async () => {
    const ed = (await herald.api("POST", "/v1/destinations", { id: "signed-ed", url: "http://127.0.0.1:9/ed", signature: "ed25519" })).body;
    const hmac = (await herald.api("POST", "/v1/destinations", { id: "signed-hmac", url: "http://127.0.0.1:9/hmac" })).body;
    expect(ed.public_key).toStartWith("whpk_");
    for (const viewport of [undefined, PHONE]) {
      const page = await openPage(browser, viewport);
      await page.context().grantPermissions(["clipboard-read", "clipboard-write"], { origin: herald.url });
      await signIn(page, herald.url, ADMIN_TOKEN);
      await page.click("nav >> text=Destinations");
      const card = page.locator('[data-destination-id="signed-ed"]');
      await card.locator(".signature-key code").waitFor();
      expect(await card.locator(".signature-key code").textContent()).toBe(ed.public_key);
      expect(await page.locator('[data-destination-id="signed-hmac"] .signature-key').count()).toBe(0);
      expect(await page.locator("#destination-list").textContent()).not.toContain(hmac.secret);
      // By keyboard: focus the button, Enter copies the key.
      await card.locator("button", { hasText: "Copy public key" }).focus();
      await page.keyboard.press("Enter");
      await card.locator("button", { hasText: "Copied" }).waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(ed.public_key);
      expect(await fitsWidth(page)).toBe(true);
      await screenshot(page, "destination-ed25519");
      await page.context().close();
    }
  }, UI_TIMEOUT);
});
