// Swagger UI at /docs, served offline from Herald itself: a real headless
// Chromium opens it, authorizes with a bearer token, and runs one request.
import { afterAll, beforeAll, expect, it } from "bun:test";
import type { Browser } from "playwright-core";
import { launchBrowser, openPage, runListEventTypesInSwagger } from "./support/browser.ts";
import { ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";

let herald: TestHerald;
let browser: Browser;
beforeAll(async () => {
  herald = await startHerald(testConfig({ event_types: [{ name: "docs.seen", description: "shown in the docs test" }] }));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
});

it("loads Swagger UI without leaving localhost, authorizes, and runs a request", async () => {
  const page = await openPage(browser);
  const foreign: string[] = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(herald.url) && !request.url().startsWith("data:")) foreign.push(request.url());
  });
  await page.goto(`${herald.url}/docs`);
  await page.waitForSelector(".swagger-ui .information-container", { timeout: 15_000 });
  expect(await page.textContent(".swagger-ui .title")).toContain("Herald");

  const operation = await runListEventTypesInSwagger(page, ADMIN_TOKEN, 10_000);
  expect((await operation.locator(".live-responses-table tbody .response-col_status").first().textContent())?.trim()).toBe("200");
  expect(await operation.locator(".live-responses-table tbody .response-col_description").first().textContent()).toContain("docs.seen");
  expect(foreign).toEqual([]);
}, 60_000);
