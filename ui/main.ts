// The console's entry: sign-in, a hash router over the pages, and the shell
// (navigation, sign-out). Everything it shows comes from the public /v1 API.
import { clearToken, getToken, whenUnauthorized } from "./api.ts";
import { firstRender, type Page, type PageContext } from "./page.ts";
import { destinationsPage } from "./pages/destinations.ts";
import { destinationPage } from "./pages/destination.ts";
import { eventPage } from "./pages/event.ts";
import { eventTypesPage } from "./pages/event-types.ts";
import { eventsPage } from "./pages/events.ts";
import { apiKeysPage } from "./pages/api-keys.ts";
import { overviewPage } from "./pages/overview.ts";
import { signInPage } from "./pages/sign-in.ts";

const main = document.getElementById("main")!;
const header = document.querySelector<HTMLElement>("header.top")!;

const PAGES: Record<string, { title: string; page: Page; detail?: Page }> = {
  overview: { title: "Overview", page: overviewPage },
  events: { title: "Event log", page: eventsPage, detail: eventPage },
  destinations: { title: "Destinations", page: destinationsPage, detail: destinationPage },
  "event-types": { title: "Event types", page: eventTypesPage },
  "api-keys": { title: "API keys", page: apiKeysPage },
};

let current: AbortController | null = null;
let lastSection: string | null = null;
let signOutReason: string | null = null;

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

  if (!getToken()) {
    header.hidden = true;
    document.title = "Sign in · Herald";
    lastSection = null;
    signInPage(ctx, signOutReason, async () => {
      signOutReason = null;
      await render();
      // The sign-in form is gone: start keyboard focus at the content.
      main.focus({ preventScroll: true });
    });
    return;
  }
  header.hidden = false;
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
  clearToken();
  signOutReason = reason;
  void render();
}

whenUnauthorized((message) => signOut(`Herald no longer accepts this token (401: ${message}). Sign in again.`));
document.getElementById("sign-out")!.addEventListener("click", () => signOut(null));
window.addEventListener("hashchange", () => void render());
void render();
