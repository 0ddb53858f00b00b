// The destination page and bulk retry in a real browser (headless Chromium)
// against a real Herald and real receivers: a secret rotated in the console
// makes the next message verify with both secrets; three failed deliveries
// selected by keyboard in the log and retried are sent three times; a
// destination whose deliveries all retry is not shown at 100 %; and the page
// says why a destination is held back (breaker open, max in flight).
import { afterAll, afterEach, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { ADMIN_TOKEN, startHerald, testConfig, verifyWithStandardWebhooks, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Answer, type Receiver } from "./support/receiver.ts";
import { CHROMIUM, fitsWidth, launchBrowser, openPage, PHONE, screenshot, signIn } from "./support/browser.ts";

let browser: Browser;
let herald: TestHerald | undefined;
let receivers: Receiver[] = [];
beforeAll(async () => {
  if (existsSync(CHROMIUM)) browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await herald?.stop();
  herald = undefined;
  for (const r of receivers) await r.stop();
  receivers = [];
});

/** A Herald with one destination subscribed to everything, its receiver playing `script`. */
async function withDestination(script: Answer[], fallback: Answer, config: Record<string, any> = {}, destination: Record<string, unknown> = {}) {
  const receiver = startReceiver(script, fallback);
  receivers.push(receiver);
  herald = await startHerald(testConfig({ event_types: [{ name: "order.created" }], ...config }));
  const made = await herald.api("POST", "/v1/destinations", { url: receiver.url, ...destination });
  expect(made.status).toBe(201);
  expect((await herald.api("POST", "/v1/subscriptions", { destination_id: made.body.id, event_types: ["*"] })).status).toBe(201);
  return { receiver, id: made.body.id as string, secret: made.body.secret as string };
}

const publish = async (n = 1) => {
  for (let i = 0; i < n; i++) expect((await herald!.api("POST", "/v1/events", { type: "order.created", data: { i } })).status).toBe(202);
};

async function openDestination(page: Page, id: string): Promise<void> {
  await signIn(page, herald!.url, ADMIN_TOKEN);
  await page.goto(`${herald!.url}/ui/#/destinations/${encodeURIComponent(id)}`);
  await page.waitForSelector("#health dl.facts");
}

describe.skipIf(!existsSync(CHROMIUM))("the destination page", () => {
  it("rotates the secret from the page; the next message verifies with both the old and the new secret", async () => {
    const { receiver, id, secret: old } = await withDestination([], { status: 200 });
    const page = await openPage(browser);
    await openDestination(page, id);
    // The secret is hidden until asked for.
    expect(await page.locator("#secret-current").count()).toBe(0);
    await page.focus("[data-action=reveal]");
    await page.keyboard.press("Enter");
    expect(await page.inputValue("#secret-current")).toBe(old);
    await page.selectOption("#rotate-grace", "1h");
    await page.click("[data-action=rotate]");
    await page.waitForSelector('#secrets[data-secret-count="2"]');
    const fresh = await page.inputValue("#secret-current");
    expect(fresh).not.toBe(old);
    expect(fresh).toMatch(/^whsec_/);
    expect(await page.inputValue("#secret-previous-0")).toBe(old);
    // When the old one stops: an hour from now.
    const stops = Date.parse((await page.getAttribute("[data-expires-at]", "data-expires-at"))!);
    expect(Math.abs(stops - (herald!.clock.now() + 3_600_000))).toBeLessThan(60_000);
    await screenshot(page, "destination-secret");

    await publish();
    const [message] = await receiver.waitFor(1);
    expect(message!.headers["webhook-signature"]!.split(" ").filter((s) => s.startsWith("v1,"))).toHaveLength(2);
    expect(verifyWithStandardWebhooks(fresh, message!)).toEqual({ type: "order.created", timestamp: expect.any(String), data: { i: 0 } });
    expect(verifyWithStandardWebhooks(old, message!)).toEqual({ type: "order.created", timestamp: expect.any(String), data: { i: 0 } });
  });

  it("does not show 100 % for a destination whose deliveries are all retrying", async () => {
    const { receiver, id } = await withDestination([], { status: 500 }, { delivery: { retry_schedule: ["1h"] } });
    await publish(2);
    await receiver.waitFor(2);
    await herald!.app.engine.idle();
    const page = await openPage(browser);
    await openDestination(page, id);
    expect(await page.textContent("#health-rate")).toBe("0%");
    // The destinations list says the same, beside two more destinations: every card's stats from one request, not one per card.
    for (const other of ["quiet-1", "quiet-2"]) expect((await herald!.api("POST", "/v1/destinations", { id: other, url: receiver.url })).status).toBe(201);
    const statsRequests: string[] = [];
    page.on("request", (request) => {
      if (/^\/v1\/(stats\/destinations|destinations\/[^/]+\/stats)$/.test(new URL(request.url()).pathname)) statsRequests.push(new URL(request.url()).pathname);
    });
    await page.goto(`${herald!.url}/ui/#/destinations`);
    await page.waitForSelector(`#dst-${id} .stats`);
    expect(await page.textContent(`#dst-${id} .stats dd.big`)).toBe("0%");
    for (const other of ["quiet-1", "quiet-2"]) expect(await page.textContent(`#dst-${other} .stats dd.big`)).toBe("—");
    expect(statsRequests).toEqual(["/v1/stats/destinations"]);
  });

  it("says the breaker is open, with the next probe", async () => {
    const { receiver, id } = await withDestination([], { status: 500 }, { delivery: { retry_schedule: ["1h", "1h"], breaker: { failures: 2, probe_every: "10m" } } });
    await publish(3);
    await receiver.waitFor(2);
    await herald!.app.engine.idle();
    const page = await openPage(browser);
    await openDestination(page, id);
    const reason = await page.waitForSelector('#held-back [data-reason="breaker_open"]');
    expect(await reason.textContent()).toContain("circuit breaker is open");
    expect(await page.textContent("#health-breaker")).toContain("open");
    await screenshot(page, "destination-breaker");
  });

  it("says max in flight is reached while the only allowed request is being sent", async () => {
    const { receiver, id } = await withDestination([{ status: 200, delay_ms: 8_000 }], { status: 200 }, {}, { max_in_flight: 1 });
    await publish(2);
    await receiver.waitFor(1);
    const page = await openPage(browser, PHONE);
    await openDestination(page, id);
    const reason = await page.waitForSelector('#held-back [data-reason="max_in_flight"]');
    expect(await reason.textContent()).toContain("1 of at most 1 requests in flight");
    expect(await page.textContent("#health-in-flight")).toBe("1 of 1");
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, "destination-in-flight");
  });
});

describe.skipIf(!existsSync(CHROMIUM))("bulk retry in the event log", () => {
  it("retries 3 failed deliveries selected by keyboard: the receiver gets 3 more", async () => {
    const { receiver } = await withDestination([{ status: 500 }, { status: 500 }, { status: 500 }], { status: 200 }, { delivery: { retry_schedule: [] } });
    await publish(3);
    await receiver.waitFor(3);
    await herald!.app.engine.idle();
    const page = await openPage(browser);
    await signIn(page, herald!.url, ADMIN_TOKEN);
    await page.goto(`${herald!.url}/ui/#/events?status=failed`);
    await page.waitForSelector("#log-table [data-select]");
    const boxes = page.locator("#log-table [data-select]");
    expect(await boxes.count()).toBe(3);
    for (let i = 0; i < 3; i++) {
      await boxes.nth(i).focus();
      await page.keyboard.press("Space");
    }
    expect(await page.textContent("#bulk-count")).toBe("3 selected");
    await page.focus("[data-action=retry-selected]");
    await page.keyboard.press("Enter");
    await page.waitForSelector("#bulk-result >> text=3 deliveries queued");
    await receiver.waitFor(6);
    await herald!.app.engine.idle();
    expect(receiver.requests).toHaveLength(6);
    expect((await herald!.api("GET", "/v1/deliveries?status=succeeded")).body.data).toHaveLength(3);
    await screenshot(page, "bulk-retry");
  });
});
