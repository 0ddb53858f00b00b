// Revoking a customer portal link in a real browser (headless Chromium, real
// Herald): an admin makes a link on the console's Portal links page (shown
// once), sees it listed, and revokes it with the two-step Revoke button; the
// console session that link had opened in another tab gets the "ask for a new
// one" page at its next request, while a session opened by another link of the
// same tenant keeps working. Screenshots: test-artifacts/ui/portal-links-*.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { ACME_TOKEN, ADMIN_TOKEN, adminAndTenantTokens, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { ARTIFACTS, CHROMIUM, PHONE, fitsWidth, launchBrowser, openPage, screenshot, signIn } from "./support/browser.ts";

const UI_TIMEOUT = 30_000;

let herald: TestHerald;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  herald = await startHerald(testConfig({ auth: adminAndTenantTokens(), event_types: [{ name: "acme.invoice-paid" }] }));
  expect((await herald.api("POST", "/v1/events", { type: "acme.invoice-paid", data: {} }, { token: ACME_TOKEN })).status).toBe(202);
  browser = await launchBrowser();
  console.log(`ui-portal-revoke: screenshots in ${ARTIFACTS} (portal-links-*.png)`);
});
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
});

/** A tab signed in through the link: the portal's own session, the link kept in the tab. */
async function openLink(url: string): Promise<Page> {
  const page = await openPage(browser);
  await page.goto(url);
  await page.waitForSelector("#portal-session");
  await page.waitForSelector("main h1");
  return page;
}

describe.skipIf(!existsSync(CHROMIUM))("revoking portal links in the console", () => {
  it("an admin makes a link, lists it, and revokes it: its session stops, another link's goes on", async () => {
    const admin = await openPage(browser);
    await signIn(admin, herald.url, ADMIN_TOKEN);
    await admin.click("nav >> text=Portal links");
    await admin.waitForSelector("#portal-link-list");
    await admin.fill("#l-tenant", "acme");
    await admin.click("form button:has-text('Make link')");
    const shown = await admin.waitForSelector("[data-new-link]");
    const revokedId = (await shown.getAttribute("data-new-link"))!;
    const url = await admin.inputValue("#new-link");
    expect(url).toContain("#portal=hpl_");
    await admin.waitForSelector(`tr[data-link-id="${revokedId}"]`);
    // The list never holds a link: only the one answer just made does.
    expect(await admin.locator("#portal-link-list").innerHTML()).not.toContain("hpl_");

    const other = await herald.api("POST", "/v1/portal-links", { tenant: "acme" });
    expect(other.status).toBe(201);
    const revokedTab = await openLink(url);
    const keptTab = await openLink(other.body.url);

    await admin.reload();
    const row = admin.locator(`tr[data-link-id="${revokedId}"]`);
    await row.locator("[data-action=revoke]").click();
    expect(await row.locator("[data-action=revoke]").innerText()).toBe("Confirm revoke");
    await row.locator("[data-action=revoke]").click();
    await admin.waitForSelector(`tr[data-link-id="${revokedId}"]:has-text('revoked')`);
    expect(await admin.locator(`tr[data-link-id="${other.body.id}"]`).innerText()).toContain("active");
    await screenshot(admin, "portal-links-revoked");

    // The session the revoked link opened is refused at its next request, with the expired link's page.
    await revokedTab.click("nav >> text=Event log");
    const refused = await revokedTab.waitForSelector("#portal-refused");
    expect(await refused.innerText()).toContain("ask for a new one");
    expect(await revokedTab.locator("header.top").isVisible()).toBe(false);
    await screenshot(revokedTab, "portal-links-session-refused");

    // The other link of the same tenant keeps working.
    await keptTab.click("nav >> text=Event log");
    await keptTab.waitForSelector("main >> text=acme.invoice-paid");
    expect(await keptTab.locator("#portal-refused").count()).toBe(0);
    expect(await keptTab.textContent("#portal-session")).toBe("acme");
    for (const page of [admin, revokedTab, keptTab]) await page.context().close();
  }, UI_TIMEOUT);

  it("is offered to admins only, and readable on a phone", async () => {
    const tab = await openLink((await herald.api("POST", "/v1/portal-links", { tenant: "acme" })).body.url);
    expect(await tab.locator('[data-nav="portal-links"]').isVisible()).toBe(false);
    await tab.context().close();
    const phone = await openPage(browser, PHONE);
    await signIn(phone, herald.url, ADMIN_TOKEN);
    await phone.goto(`${herald.url}/ui/#/portal-links`);
    await phone.waitForSelector("tr[data-link-id]");
    expect(await fitsWidth(phone)).toBe(true);
    await screenshot(phone, "portal-links");
    await phone.context().close();
  }, UI_TIMEOUT);
});
