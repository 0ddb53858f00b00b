// The console's entry: sign-in, a hash router over the pages, and the shell
// (navigation, sign-out). Everything it shows comes from the public /v1 API.
import { clearToken, getToken, whenUnauthorized } from "./api.ts";
import { firstRender, type Page, type PageContext } from "./page.ts";
import { destinationsPage } from "./pages/destinations.ts";
import { destinationFormPage } from "./pages/destination-form.ts";
import { subscriptionsPage } from "./pages/subscriptions.ts";
import { subscriptionFormPage } from "./pages/subscription-form.ts";
import { eventTypeFormPage } from "./pages/event-type-form.ts";
import { destinationPage } from "./pages/destination.ts";
import { eventPage } from "./pages/event.ts";
import { eventTypesPage } from "./pages/event-types.ts";
import { eventsPage } from "./pages/events.ts";
import { apiKeysPage } from "./pages/api-keys.ts";
import { portalLinksPage } from "./pages/portal-links.ts";
import { overviewPage } from "./pages/overview.ts";
import { signInPage } from "./pages/sign-in.ts";
import { leavePortal, portalRefusedPage, portalSession, showPortalSession, takePortalLink } from "./portal.ts";

const main = document.getElementById("main")!;
const header = document.querySelector<HTMLElement>("header.top")!;

const PAGES: Record<string, { title: string; page: Page; detail?: Page }> = {
  overview: { title: "Overview", page: overviewPage },
  events: { title: "Event log", page: eventsPage, detail: eventPage },
  // #/destinations/new and #/destinations/edit/ID are the form; #/destinations/ID the destination's own page.
  destinations: {
    title: "Destinations",
    page: destinationsPage,
    detail: (ctx) => (ctx.path[1] === "new" || ctx.path[1] === "edit" ? destinationFormPage(ctx) : destinationPage(ctx)),
  },
  subscriptions: { title: "Subscriptions", page: subscriptionsPage, detail: subscriptionFormPage },
  "event-types": { title: "Event types", page: eventTypesPage, detail: eventTypeFormPage },
  "api-keys": { title: "API keys", page: apiKeysPage },
  "portal-links": { title: "Portal links", page: portalLinksPage },
};

let current: AbortController | null = null;
let lastSection: string | null = null;
let signOutReason: string | null = null;
/** A portal link Herald refused: its page instead of sign-in, until another link or a sign-in. */
let portalRefused = false;

function parseHash(): { path: string[]; params: URLSearchParams } {
  const raw = location.hash.replace(/^#\/?/, "");
  const [pathPart = "", query = ""] = raw.split("?", 2);
  const path = pathPart.split("/").filter(Boolean).map(decodeURIComponent);
  return { path: path.length ? path : ["overview"], params: new URLSearchParams(query) };
}

async function render(): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const { path, params } = parseHash();
  const ctx: PageContext = { main, path, params, signal: controller.signal };

  if (!getToken() && portalRefused) {
    header.hidden = true;
    document.title = "Link expired · Herald";
    lastSection = null;
    portalRefusedPage(ctx);
    return;
  }
  if (!getToken()) {
    header.hidden = true;
    document.title = "Sign in · Herald";
    lastSection = null;
    signInPage(ctx, signOutReason, async () => {
      signOutReason = null;
      // render() shows the header at once and then loads the page: focus goes
      // to the content now, not after the load (the sign-in button is going,
      // and a test reading focus as soon as the header shows found none).
      const rendering = render();
      main.focus({ preventScroll: true });
      await rendering;
    });
    return;
  }
  header.hidden = false;
  showPortalSession(header, portalSession());
  const section = PAGES[path[0]!] ? path[0]! : "overview";
  const entry = PAGES[section]!;
  for (const link of header.querySelectorAll<HTMLAnchorElement>("[data-nav]")) {
    if (link.dataset.nav === section) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${entry.title} · Herald`;
  // Moving to another section puts keyboard focus at the top of the new content.
  if (lastSection !== null && lastSection !== section) main.focus({ preventScroll: true });
  lastSection = section;
  const page = path.length > 1 && entry.detail ? entry.detail : entry.page;
  try {
    await page(ctx);
    firstRender();
  } catch (error) {
    if ((error as Error).name !== "AbortError" && !controller.signal.aborted) {
      main.replaceChildren(Object.assign(document.createElement("p"), { className: "alert", role: "alert", textContent: String((error as Error).message ?? error) }));
    }
  }
}

function signOut(reason: string | null): void {
  leavePortal();
  clearToken();
  signOutReason = reason;
  void render();
}

whenUnauthorized((message) => {
  if (portalSession()) {
    portalRefused = true;
    signOut(null);
  } else signOut(`Herald no longer accepts this token (401: ${message}). Sign in again.`);
});
document.getElementById("sign-out")!.addEventListener("click", () => signOut(null));
// A portal link opened (or pasted into this tab): it replaces whatever session the tab had.
const openPortalLink = () => {
  if (takePortalLink()) portalRefused = false;
};
window.addEventListener("hashchange", () => {
  openPortalLink();
  void render();
});
openPortalLink();
void render();
