// Customer portal links in the console: the link's credential arrives in the
// URL fragment (`#portal=hpl_…`, never sent to a server), is kept in this tab's
// sessionStorage like a typed token, and is taken out of the address bar at
// once (no bookmark, screenshot or shared screen keeps it). A link Herald
// refuses (expired, or changed) gets its own page instead of the sign-in form.
import { getToken, setToken } from "./api.ts";
import { fill, h } from "./dom.ts";
import type { PageContext } from "./page.ts";

const PORTAL_KEY = "herald.portal";
const LINK = /^#portal=(hpl_[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)$/;

/** What the link says about itself (its payload is signed, not secret): only for what the page shows, never trusted for access. */
export interface PortalSession {
  tenant: string;
  read_only: boolean;
}

/** Takes a portal link out of the address bar into the session; true when there was one. */
export function takePortalLink(): boolean {
  const match = LINK.exec(location.hash);
  if (!match) return false;
  setToken(match[1]!);
  sessionStorage.setItem(PORTAL_KEY, "1");
  history.replaceState(null, "", `${location.pathname}${location.search}#/`);
  return true;
}

/** The portal link this tab is signed in with, or null (a typed token, or none). */
export function portalSession(): PortalSession | null {
  const token = getToken();
  if (sessionStorage.getItem(PORTAL_KEY) !== "1" || !token?.startsWith("hpl_")) return null;
  try {
    const payload = token.slice(4, token.indexOf("."));
    const grant = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    return { tenant: String(grant.tenant), read_only: grant.read_only === true };
  } catch {
    return null;
  }
}

export function leavePortal(): void {
  sessionStorage.removeItem(PORTAL_KEY);
}

/**
 * Marks the page for a portal session: the tenant (and read-only) beside the
 * navigation, no API keys link (admins only), and, read-only, the buttons that
 * change something hidden (`body.read-only` in style.css); the API refuses them anyway.
 */
export function showPortalSession(header: HTMLElement, session: PortalSession | null): void {
  document.body.classList.toggle("read-only", session?.read_only === true);
  header.querySelector<HTMLElement>('[data-nav="api-keys"]')?.toggleAttribute("hidden", session !== null);
  header.querySelector<HTMLElement>('[data-nav="portal-links"]')?.toggleAttribute("hidden", session !== null);
  let badge = header.querySelector<HTMLElement>("#portal-session");
  if (!session) {
    badge?.remove();
    return;
  }
  badge ??= header.insertBefore(h("span", { id: "portal-session", class: "tag" }), header.querySelector("#sign-out"));
  badge.textContent = session.read_only ? `${session.tenant} · read-only` : session.tenant;
}

/** The page for a link Herald no longer accepts: no token form, only what to do. */
export function portalRefusedPage(ctx: PageContext): void {
  const heading = h("h1", { tabindex: "-1" }, "This link has expired — ask for a new one");
  fill(
    ctx.main,
    h(
      "div",
      { class: "center" },
      h(
        "section",
        { class: "card", id: "portal-refused", role: "alert" },
        heading,
        h("p", null, "The link that opened this page is no longer accepted: it has expired, or it was changed on the way."),
        h("p", { class: "muted" }, "Ask whoever sent it to you for a new link. Nothing is shown without one."),
      ),
    ),
  );
  heading.focus();
}
