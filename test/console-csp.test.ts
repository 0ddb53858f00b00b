// The console and Swagger UI work under their content-security-policy in a
// real Chromium: every page used, no console error and no CSP violation.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { ADMIN_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { CHROMIUM, launchBrowser, openPage, runListEventTypesInSwagger, signIn } from "./support/browser.ts";

let herald: TestHerald;
let receiver: Receiver;
let browser: Browser;
let eventId: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  receiver = startReceiver([{ status: 500, body: "busy" }]);
  herald = await startHerald(
    testConfig({
      event_types: [{ name: "order.created", description: "An order was placed.", example: { order_id: 1 } }],
      destinations: [{ id: "shop", url: receiver.url, description: "The shop", headers: { "x-auth-token": "s3cret-static" } }],
      subscriptions: [{ id: "shop-orders", destination: "shop", event_types: ["order.*"] }],
    }),
  );
  const published = await herald.api("POST", "/v1/events", { type: "order.created", data: { order_id: 42 } });
  expect(published.status).toBe(202);
  eventId = published.body.id;
  await herald.app.engine.idle();
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
  await receiver?.stop();
});

/**
 * Records everything that would show the policy is in the way: console errors
 * (Chromium logs each refused script, style or connection there), uncaught page
 * errors, and securitypolicyviolation events seen by the page itself.
 */
async function watch(page: Page): Promise<{ problems: string[] }> {
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()} ${message.location().url}`);
  });
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  await page.exposeFunction("__cspViolation", (text: string) => problems.push(`violation: ${text}`));
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { __cspViolation: (text: string) => void }).__cspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  return { problems };
}

it("loads the overview, the event log, an event and the destinations with no console error or CSP violation", async () => {
  const page = await openPage(browser);
  const { problems } = await watch(page);
  const response = await page.goto(`${herald.url}/ui/`);
  expect(response?.headers()["content-security-policy"]).toContain("script-src 'self'; style-src 'self';");
  await signIn(page, herald.url, ADMIN_TOKEN);
  await page.waitForSelector("#overview-counts .tile");
  // The overview's chart is drawn with SVG attributes, not inline styles.
  await page.waitForSelector("#overview-counts .tile");

  await page.goto(`${herald.url}/ui/#/events`);
  await page.waitForSelector(`#log-table tr[data-event-id="${eventId}"]`);
  await page.goto(`${herald.url}/ui/#/events/${eventId}`);
  await page.waitForSelector("section.delivery details[data-attempt-number=\"1\"]");

  await page.goto(`${herald.url}/ui/#/destinations`);
  await page.waitForSelector("section.destination");
  await page.goto(`${herald.url}/ui/#/event-types`);
  await page.waitForSelector("main h1");

  // The stylesheet did apply: a refused one would leave the browser's default margins.
  expect(await page.evaluate(() => getComputedStyle(document.body).margin)).toBe("0px");
  expect(problems).toEqual([]);
}, 60_000);

it("runs Swagger UI at /docs under its policy with no CSP violation", async () => {
  const page = await openPage(browser);
  const { problems } = await watch(page);
  await page.goto(`${herald.url}/docs`);
  // Swagger UI is ~1.5 MB of script: on a loaded machine its first draw takes a while.
  await page.waitForSelector(".swagger-ui .information-container", { timeout: 45_000 });
  // A request run from the page: its answer is drawn by the syntax highlighter.
  const operation = await runListEventTypesInSwagger(page, ADMIN_TOKEN, 20_000);
  expect((await operation.locator(".live-responses-table tbody .response-col_status").first().textContent())?.trim()).toBe("200");
  expect(problems).toEqual([]);
}, 90_000);

it("would see a violation: an inline script on the console page is refused and reported", async () => {
  // The watch itself can fail: without this, an empty problem list could mean nothing was watched.
  const page = await openPage(browser);
  const { problems } = await watch(page);
  await page.goto(`${herald.url}/ui/`);
  await page.waitForSelector("#token");
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.__ran = true";
    document.body.append(script);
  });
  const deadline = Date.now() + 5_000;
  while (!problems.some((p) => p.startsWith("violation: script-src")) && Date.now() < deadline) await Bun.sleep(20);
  expect(problems.some((p) => p.startsWith("violation: script-src"))).toBe(true);
  expect(await page.evaluate(() => (window as unknown as { __ran?: boolean }).__ran)).toBeUndefined();
}, 30_000);
