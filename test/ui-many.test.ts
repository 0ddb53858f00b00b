// The console with more destinations than one page of the list route holds
// (1,001: the console reads pages of 1000, the API's most), in a real browser
// (headless Chromium, real Herald): the destinations page shows a card for
// every one and the overview counts and watches every one, not only the first
// page's. Screenshots: test-artifacts/ui/many-*.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { ARTIFACTS, CHROMIUM, launchBrowser, openPage, screenshot, signIn } from "./support/browser.ts";

// One more than a page: the 1,001st is on the list route's second page.
const COUNT = 1001;
const UI_TIMEOUT = 120_000;

let herald: TestHerald;
let browser: Browser;
/** The id the list route answers on its second page (the one a single-page read misses). */
let secondPageId: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  herald = await startHerald(testConfig());
  // Created through the API, 50 at a time (no batch create route): each a POST like the console's own.
  for (let start = 0; start < COUNT; start += 50) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(50, COUNT - start) }, (_, i) => herald.api("POST", "/v1/destinations", { url: `http://127.0.0.1:9/hook-${start + i}` })),
    );
    for (const answer of answers) expect(answer.status).toBe(201);
  }
  const first = await herald.api("GET", "/v1/destinations?limit=1000");
  expect(first.body.data.length).toBe(1000);
  const second = await herald.api("GET", `/v1/destinations?limit=1000&cursor=${encodeURIComponent(first.body.next_cursor)}`);
  expect(second.body.data.length).toBe(1);
  secondPageId = second.body.data[0].id;
  browser = await launchBrowser();
  console.log(`ui-many: screenshots in ${ARTIFACTS} (many-*.png)`);
}, UI_TIMEOUT);
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
});

describe.skipIf(!existsSync(CHROMIUM))("the console with more than one page of destinations", () => {
  it("shows a card for every destination, the second page's too, with stats read 100 destinations a request", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    // Destination stats requests only, old (one per card) and new alike.
    const statsRequests: string[] = [];
    page.on("request", (request) => {
      if (/^\/v1\/(stats\/destinations|destinations\/[^/]+\/stats)$/.test(new URL(request.url()).pathname)) statsRequests.push(new URL(request.url()).pathname);
    });
    await page.goto(`${herald.url}/ui/#/destinations`);
    await page.waitForSelector("#destination-list .card.destination", { timeout: UI_TIMEOUT });
    expect(await page.locator("#destination-list .card.destination").count()).toBe(COUNT);
    expect(await page.locator(`#dst-${secondPageId}`).count()).toBe(1);
    // Every card's stats, the last chunk's too, from 11 requests (100 ids each at most), not 1,001.
    expect(await page.locator("#destination-list .card.destination dl.stats").count()).toBe(COUNT);
    expect(statsRequests).toEqual(Array(Math.ceil(COUNT / 100)).fill("/v1/stats/destinations"));
    await page.context().close();
  }, UI_TIMEOUT);

  it("counts every destination on the overview, and lists one on the second page that needs attention", async () => {
    const page = await openPage(browser);
    await signIn(page, herald.url, ADMIN_TOKEN);
    await page.goto(`${herald.url}/ui/#/`);
    await page.waitForSelector(`#overview-attention :text("All ${COUNT} destinations are healthy.")`);

    expect((await herald.api("POST", `/v1/destinations/${secondPageId}/disable`, { reason: "paused for the test" })).status).toBe(200);
    await page.reload();
    const link = page.locator(`#overview-attention a[href="#/destinations?focus=${secondPageId}"]`);
    await link.waitFor();
    expect(await link.count()).toBe(1);
    await screenshot(page, "many-overview");
    await page.context().close();
  }, UI_TIMEOUT);
});
