// Customer portal links (admin only): make a link that opens the console as
// one tenant (shown once, with a copy button), list the links made (their
// records: the links themselves are kept nowhere), and revoke one, which ends
// it and every console session it opened from their next request.
import { getAll, post, request } from "../api.ts";
import { confirmButton } from "../confirm.ts";
import { fill, h } from "../dom.ts";
import { badge, copyButton, errorBox, when } from "../format.ts";
import type { PageContext } from "../page.ts";
import type { CreatedPortalLink, PortalLinkRecord } from "../types.ts";

const LIFETIMES = [["1h", "1 hour"], ["8h", "8 hours"], ["1d", "1 day"], ["7d", "7 days"]] as const;

/** Neither revoked nor past its expiry: the link still opens the console (and may be revoked). */
const isActive = (l: PortalLinkRecord): boolean => !l.revoked_at && Date.parse(l.expires_at) > Date.now();

function state(l: PortalLinkRecord): HTMLElement {
  if (isActive(l)) return badge("succeeded", "active");
  return l.revoked_at ? badge("failed", "revoked") : badge("failed", "expired");
}

/** The new link, once: a read-only field to select and a copy button. */
function shownOnce(created: CreatedPortalLink): HTMLElement {
  const field = h("input", { id: "new-link", class: "mono", readonly: true, value: created.url, "aria-describedby": "new-link-note", spellcheck: "false" });
  return h(
    "div",
    { class: "result result-ok", role: "status", "data-new-link": created.id },
    h("label", { for: "new-link" }, `Link for tenant ${created.tenant}${created.read_only ? " (read-only)" : ""}`),
    h("div", { class: "row" }, field, copyButton("Copy link", () => created.url)),
    h("p", { id: "new-link-note", class: "warn inline" }, h("strong", null, "Shown this once. "), "Whoever holds it is signed in as the tenant until ", when(created.expires_at), ", or until you revoke it below."),
  );
}

export async function portalLinksPage(ctx: PageContext): Promise<void> {
  const out = h("div", { class: "action-output", "aria-live": "polite" });
  const list = h("div", { id: "portal-link-list" }, h("p", { class: "muted" }, "Loading…"));

  const field = (id: string, label: string, control: HTMLElement) => h("div", { class: "field" }, h("label", { for: id }, label), control);
  const tenant = h("input", { id: "l-tenant", name: "tenant", required: true, autocomplete: "off", spellcheck: "false", placeholder: "acme" });
  const lifetime = h("select", { id: "l-expires", name: "expires_in" }, LIFETIMES.map(([value, text]) => h("option", { value }, text)));
  const readOnly = h("input", { id: "l-read-only", name: "read_only", type: "checkbox" });
  const create = h("button", { type: "submit" }, "Make link");
  const form = h(
    "form",
    { class: "filters", "aria-label": "Make a portal link" },
    field("l-tenant", "Tenant", tenant),
    field("l-expires", "Works for", lifetime),
    h("div", { class: "field" }, h("label", { class: "check" }, readOnly, "Read-only")),
    h("div", { class: "field actions" }, create),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    create.disabled = true;
    try {
      const created = await post<CreatedPortalLink>("/v1/portal-links", { tenant: tenant.value.trim(), expires_in: lifetime.value, read_only: readOnly.checked });
      fill(out, shownOnce(created));
      form.reset();
      await load();
      (out.querySelector("#new-link") as HTMLInputElement | null)?.select();
    } catch (error) {
      fill(out, errorBox(error));
    } finally {
      create.disabled = false;
    }
  });

  // Two steps (confirmButton), so a stray click or key press revokes nothing.
  const revokeButton = (l: PortalLinkRecord): HTMLElement =>
    confirmButton({
      label: "Revoke", confirmLabel: "Confirm revoke", attrs: { class: "secondary", "data-action": "revoke", "aria-label": `Revoke the link ${l.id} of ${l.tenant}` }, out,
      act: async () => {
        await request("DELETE", `/v1/portal-links/${encodeURIComponent(l.id)}`);
        fill(out, h("p", { role: "status" }, badge("ok", "revoked"), ` The link for ${l.tenant} no longer works, nor any session it opened.`));
        await load();
      },
    });

  const row = (l: PortalLinkRecord) =>
    h(
      "tr",
      { "data-link-id": l.id },
      h("td", { "data-label": "Tenant" }, h("strong", null, l.tenant), h("div", { class: "muted mono" }, l.id)),
      h("td", { "data-label": "Access" }, l.read_only ? "read-only" : "tenant"),
      h("td", { "data-label": "State" }, state(l)),
      h("td", { "data-label": "Made" }, when(l.created_at)),
      h("td", { "data-label": "Expires" }, when(l.expires_at)),
      h("td", { "data-label": "" }, isActive(l) ? revokeButton(l) : null),
    );

  async function load(): Promise<void> {
    const links = await getAll<PortalLinkRecord>("/v1/portal-links", {}, ctx.signal);
    if (ctx.signal.aborted) return;
    fill(
      list,
      links.length === 0
        ? h("p", { class: "empty" }, "No portal links yet.")
        : h(
            "table",
            { class: "list" },
            h("caption", { class: "muted" }, `${links.length} links, newest first`),
            h("thead", null, h("tr", null, ["Tenant", "Access", "State", "Made", "Expires", ""].map((t) => h("th", { scope: "col" }, t)))),
            h("tbody", null, links.map(row)),
          ),
    );
  }

  fill(
    ctx.main,
    h(
      "div",
      { class: "page-head" },
      h("h1", null, "Portal links"),
      h("p", { class: "muted" }, "Links that open this console as one customer's tenant, with no token to type. Expired links leave this list at the next retention run. Only admins see this page."),
    ),
    h("section", { class: "card", "aria-labelledby": "h-new-link" }, h("h2", { id: "h-new-link" }, "New link"), form, out),
    list,
  );
  try {
    await load();
  } catch (error) {
    if (!ctx.signal.aborted) fill(list, errorBox(error, "The portal link list"));
  }
}
