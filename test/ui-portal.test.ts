// Customer portal links in a real browser (headless Chromium) against a real
// Herald and receiver: a link opens the tenant's console with no token typed
// and leaves no credential in the address bar; nothing of another tenant shows;
// an expired link (the injected clock moved on) or one changed in one character
// gets the "ask for a new one" page; a read-only link offers no button that
// changes anything; the console runs framed by an allowed portal origin and
// is refused a frame anywhere else. Screenshots: test-artifacts/ui/portal-*.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { existsSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { ACME_TOKEN, adminAndTenantTokens, GLOBEX_TOKEN, startHerald, testConfig, type TestHerald } from "./support/herald.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { ARTIFACTS, CHROMIUM, PHONE, fitsWidth, launchBrowser, openPage, screenshot } from "./support/browser.ts";

const UI_TIMEOUT = 30_000;
/** Everything distinctive about globex: none of it may appear in acme's portal. */
const GLOBEX_MARKS = ["globex", "reactor-vented", "Globex reactor hooks", "plutonium"];

let herald: TestHerald;
let receiver: Receiver;
let browser: Browser;
let acmeEvent = "";
let globexEvent = "";
let globexDestination = "";
/** Web pages that put the console in an iframe: one from an origin the config allows, one from another. */
let allowedPortal: ReturnType<typeof Bun.serve>;
let otherPortal: ReturnType<typeof Bun.serve>;
let framed = "";

const framePage = () =>
  new Response(`<!doctype html><title>Customer portal</title><h1>Acme's portal</h1><iframe id="herald" title="Webhooks" width="1000" height="700" src="${framed}"></iframe>`, {
    headers: { "content-type": "text/html; charset=utf-8" },
  });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`the console tests need Chromium at ${CHROMIUM} (apt-get install chromium)`);
  receiver = startReceiver();
  allowedPortal = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: framePage });
  otherPortal = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: framePage });
  herald = await startHerald(
    testConfig({
      server: { port: 0, portal_frame_ancestors: [`http://127.0.0.1:${allowedPortal.port}`] },
      auth: adminAndTenantTokens(),
      event_types: [{ name: "acme.invoice-paid" }, { name: "globex.reactor-vented" }],
    }),
  );
  for (const [tenant, token, type, description, data] of [
    ["acme", ACME_TOKEN, "acme.invoice-paid", "Acme billing hooks", { invoice: "INV-7" }],
    ["globex", GLOBEX_TOKEN, "globex.reactor-vented", "Globex reactor hooks", { fuel: "plutonium" }],
  ] as const) {
    const dst = await herald.api("POST", "/v1/destinations", { url: receiver.url, tenant, description }, { token });
    expect(dst.status).toBe(201);
    if (tenant === "globex") globexDestination = dst.body.id;
    expect((await herald.api("POST", "/v1/subscriptions", { destination_id: dst.body.id, event_types: ["*"] }, { token })).status).toBe(201);
    const published = await herald.api("POST", "/v1/events", { type, data }, { token });
    expect(published.status).toBe(202);
    if (tenant === "acme") acmeEvent = published.body.id;
    else globexEvent = published.body.id;
  }
  await herald.app.engine.idle();
  browser = await launchBrowser();
  console.log(`ui-portal: screenshots in ${ARTIFACTS} (portal-*.png)`);
});
afterAll(async () => {
  await browser?.close();
  await herald?.stop();
  receiver?.stop();
  allowedPortal?.stop(true);
  otherPortal?.stop(true);
});

async function portalLink(body: object): Promise<string> {
  const made = await herald.api("POST", "/v1/portal-links", body);
  expect(made.status).toBe(201);
  return made.body.url;
}

/** Browser errors, but not the 401s a refused link is answered with (Chromium logs each failed fetch). */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message) => message.type() === "error" && !message.text().includes("401") && errors.push(message.text()));
  page.on("pageerror", (error) => errors.push(error.message));
  return errors;
}

/**
 * Nothing of globex in what the page shows, nor anywhere in its markup (ids in
 * links, attributes), with one exception: event types belong to no tenant
 * (DESIGN §1, a shared catalogue any tenant reads to subscribe), so the event
 * log's list of type names to filter by offers globex's type like any other.
 */
async function expectNoGlobex(page: Page, marks = [...GLOBEX_MARKS, globexEvent, globexDestination]): Promise<void> {
  const markup = (await page.content()).replace(/<datalist id="type-options">.*?<\/datalist>/s, "");
  const text = (await page.locator("body").innerText()) + markup;
  for (const mark of marks) expect(text).not.toContain(mark);
}

describe.skipIf(!existsSync(CHROMIUM))("customer portal links in the console", () => {
  it("opens the tenant's view with no token typed, and shows nothing of another tenant", async () => {
    const url = await portalLink({ tenant: "acme" });
    const page = await openPage(browser);
    const errors = watchErrors(page);
    await page.goto(url);
    await page.waitForSelector("header.top:not([hidden])");
    expect(await page.locator("#token").count()).toBe(0);
    expect(await page.textContent("#portal-session")).toBe("acme");
    // The credential is out of the address bar (and so out of history and bookmarks), kept only in the tab's session.
    expect(page.url()).not.toContain("hpl_");
    expect(page.url()).not.toContain("portal=");
    expect(await page.locator('[data-nav="api-keys"]').isVisible()).toBe(false);
    await page.waitForSelector("main h1");
    await expectNoGlobex(page);
    await screenshot(page, "portal-overview");

    await page.click("nav >> text=Event log");
    await page.waitForSelector(`[data-event-id="${acmeEvent}"], a[href*="${acmeEvent}"]`);
    expect(await page.locator("main").innerText()).toContain("acme.invoice-paid");
    await expectNoGlobex(page);
    await screenshot(page, "portal-events");

    await page.goto(`${new URL(url).origin}/ui/#/events/${acmeEvent}`);
    await page.waitForSelector("[data-retry]");
    expect(await page.locator("[data-retry]").first().isVisible()).toBe(true);
    await expectNoGlobex(page);

    await page.click("nav >> text=Destinations");
    await page.waitForSelector("main >> text=Acme billing hooks");
    await expectNoGlobex(page);
    await screenshot(page, "portal-destinations");

    // Another tenant's event, asked for by its id, does not exist here: the page names only the id it was asked for.
    await page.goto(`${new URL(url).origin}/ui/#/events/${globexEvent}`);
    expect(await (await page.waitForSelector("main .alert")).innerText()).toContain("does not exist");
    await expectNoGlobex(page, [...GLOBEX_MARKS, globexDestination]);
    expect(errors.filter((e) => !e.includes("404"))).toEqual([]);
    await page.context().close();
  }, UI_TIMEOUT);

  it("is readable on a phone", async () => {
    const page = await openPage(browser, PHONE);
    await page.goto(await portalLink({ tenant: "acme", read_only: true }));
    await page.waitForSelector("main h1");
    expect(await fitsWidth(page)).toBe(true);
    await screenshot(page, "portal-overview");
    await page.context().close();
  }, UI_TIMEOUT);

  it("is refused with a clear page once it has expired", async () => {
    const url = await portalLink({ tenant: "acme", expires_in: "5m" });
    const page = await openPage(browser);
    await page.goto(url);
    await page.waitForSelector("#portal-session");
    herald.clock.advance(5 * 60_000);
    await page.click("nav >> text=Event log");
    const refused = await page.waitForSelector("#portal-refused");
    expect(await refused.innerText()).toContain("This link has expired — ask for a new one");
    expect(await page.locator("#token").count()).toBe(0);
    expect(await page.locator("header.top").isVisible()).toBe(false);
    await screenshot(page, "portal-expired");
    // Opening the same link again does not bring it back.
    await page.goto("about:blank");
    await page.goto(url);
    await page.waitForSelector("#portal-refused");
    await page.context().close();
  }, UI_TIMEOUT);

  it("is refused with the same page when one character of it changes", async () => {
    const url = await portalLink({ tenant: "acme" });
    const cut = url.length - 5;
    const changed = url.slice(0, cut) + (url[cut] === "x" ? "y" : "x") + url.slice(cut + 1);
    const page = await openPage(browser);
    const errors = watchErrors(page);
    await page.goto(changed);
    const refused = await page.waitForSelector("#portal-refused");
    expect(await refused.innerText()).toContain("ask for a new one");
    await expectNoGlobex(page);
    expect(await page.locator("main").innerText()).not.toContain("acme.invoice-paid");
    expect(errors).toEqual([]);
    await page.context().close();
  }, UI_TIMEOUT);

  it("a read-only link shows no button that changes anything", async () => {
    const url = await portalLink({ tenant: "acme", read_only: true });
    const page = await openPage(browser);
    await page.goto(url);
    expect(await (await page.waitForSelector("#portal-session")).textContent()).toBe("acme · read-only");
    await page.goto(`${new URL(url).origin}/ui/#/events/${acmeEvent}`);
    await page.waitForSelector("[data-retry]", { state: "attached" });
    expect(await page.locator("[data-retry]").first().isVisible()).toBe(false);
    await screenshot(page, "portal-read-only-event");
    await page.click("nav >> text=Destinations");
    await page.waitForSelector("main >> text=Acme billing hooks");
    const actions = page.locator("[data-action]");
    for (let i = 0; i < (await actions.count()); i++) expect(await actions.nth(i).isVisible()).toBe(false);
    await page.context().close();
  }, UI_TIMEOUT);

  it("runs framed by an allowed portal origin, and is refused a frame by any other", async () => {
    framed = await portalLink({ tenant: "acme", read_only: true });
    const page = await openPage(browser);
    const errors = watchErrors(page);
    await page.goto(`http://127.0.0.1:${allowedPortal.port}/`);
    const frame = page.frameLocator("#herald");
    expect(await frame.locator("#portal-session").textContent({ timeout: 10_000 })).toBe("acme · read-only");
    await frame.locator("main h1").first().waitFor();
    expect(errors).toEqual([]);
    await screenshot(page, "portal-framed");

    const other = await openPage(browser);
    const blocked: string[] = [];
    other.on("console", (message) => message.type() === "error" && blocked.push(message.text()));
    await other.goto(`http://127.0.0.1:${otherPortal.port}/`, { waitUntil: "load" });
    // Chromium reports the refusal (frame-ancestors) in the embedding page's console; the frame shows nothing of Herald.
    const deadline = Date.now() + 10_000;
    while (!blocked.some((m) => m.includes("frame-ancestors")) && Date.now() < deadline) await Bun.sleep(50);
    expect(blocked.some((m) => m.includes("frame-ancestors"))).toBe(true);
    expect(await other.frameLocator("#herald").locator("#portal-session").count()).toBe(0);
    await page.context().close();
    await other.context().close();
  }, UI_TIMEOUT);
});
