// Headless Chromium for the console tests: Debian's /usr/bin/chromium driven by
// playwright-core (no browser download). Screenshots go to test-artifacts/ui/.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const ARTIFACTS = join(import.meta.dir, "../../test-artifacts/ui");

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/** A fresh page (own session storage) at a viewport size; browser errors fail loudly in the test output. */
export async function openPage(browser: Browser, viewport = DESKTOP): Promise<Page> {
  const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on("pageerror", (error) => console.error("[browser]", error.message));
  return page;
}

export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/ui/`);
  await page.fill("#token", token);
  await page.click("form.sign-in button[type=submit]");
  await page.waitForSelector("header.top:not([hidden])");
}

/** Saves a full-page screenshot as test-artifacts/ui/<name>-<width>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}-${page.viewportSize()?.width ?? 0}.png`);
  // The pointer rests where the last click was; park it so no hover style shows.
  await page.mouse.move(0, 0);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** True when nothing on the page is wider than the viewport (no sideways scrolling on a phone). */
export function fitsWidth(page: Page): Promise<boolean> {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
}

/**
 * In Swagger UI at /docs (already drawn): authorizes with `token`, then runs
 * "list event types" with Try it out. Resolves to that operation's block, its
 * answer drawn (the status cell visible), for the caller to check.
 */
export async function runListEventTypesInSwagger(page: Page, token: string, timeoutMs: number): Promise<Locator> {
  await page.click("button.authorize");
  await page.fill(".modal-ux input[type=text], .modal-ux input[type=password]", token);
  await page.click(".modal-ux .auth-btn-wrapper button.authorize");
  await page.click(".modal-ux button.btn-done");
  const operation = page.locator("#operations-Event_types-listEventTypes");
  await operation.locator(".opblock-summary").click();
  await operation.locator("button.try-out__btn").click();
  await operation.locator("button.execute").click();
  await operation.locator(".live-responses-table tbody .response-col_status").first().waitFor({ timeout: timeoutMs });
  return operation;
}
