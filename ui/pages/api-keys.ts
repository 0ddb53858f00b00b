// API keys (admin only): the keys made through the API and the config's tokens,
// a form to issue a key (shown once, with a copy button) and revoking a key.
import { getAll, post } from "../api.ts";
import { confirmButton } from "../confirm.ts";
import { fill, h } from "../dom.ts";
import { badge, copyButton, errorBox, when } from "../format.ts";
import type { PageContext } from "../page.ts";
import type { ApiKey, CreatedApiKey} from "../types.ts";

/** Least power first, so the form's default is the narrowest role. */
const ROLES: { value: ApiKey["role"]; title: string }[] = [
  { value: "publisher", title: "only publishes events (POST /v1/events)" },
  { value: "reader", title: "only reads" },
  { value: "tenant", title: "manages one tenant's resources" },
  { value: "admin", title: "everything" },
];

function state(k: ApiKey): HTMLElement {
  if (k.revoked_at) return badge("failed", "revoked");
  if (k.expires_at && Date.parse(k.expires_at) <= Date.now()) return badge("failed", "expired");
  return badge("succeeded", "active");
}

/** The new key, once: a read-only field to select and a copy button. */
function shownOnce(created: CreatedApiKey): HTMLElement {
  const field = h("input", { id: "new-key", class: "mono", readonly: true, value: created.key, "aria-describedby": "new-key-note", spellcheck: "false" });
  return h(
    "div",
    { class: "result result-ok", role: "status", "data-new-key": created.id },
    h("label", { for: "new-key" }, `Key for "${created.name}"`),
    h("div", { class: "row" }, field, copyButton("Copy key", () => created.key)),
    h("p", { id: "new-key-note", class: "warn inline" }, h("strong", null, "Shown this once. "), "Herald keeps only its hash: copy it now and keep it somewhere safe."),
  );
}

export async function apiKeysPage(ctx: PageContext): Promise<void> {
  const out = h("div", { class: "action-output", "aria-live": "polite" });
  const list = h("div", { id: "api-key-list" }, h("p", { class: "muted" }, "Loading…"));

  const field = (id: string, label: string, control: HTMLElement) => h("div", { class: "field" }, h("label", { for: id }, label), control);
  const name = h("input", { id: "k-name", name: "name", required: true, maxlength: 100, placeholder: "what it is for", autocomplete: "off" });
  const role = h("select", { id: "k-role", name: "role" }, ROLES.map((r) => h("option", { value: r.value, title: r.title }, r.value)));
  const tenant = h("input", { id: "k-tenant", name: "tenant", placeholder: "any (required for tenant)", autocomplete: "off" });
  const types = h("input", { id: "k-types", name: "event_types", placeholder: "any, or order.*, invoice.paid", autocomplete: "off" });
  const expires = h("input", { id: "k-expires", name: "expires_at", type: "datetime-local", step: "1" });
  const create = h("button", { type: "submit" }, "Create key");
  const form = h(
    "form",
    { class: "filters", "aria-label": "Create an API key" },
    field("k-name", "Name", name),
    field("k-role", "Role", role),
    field("k-tenant", "Tenant", tenant),
    field("k-types", "Event types (publisher)", types),
    field("k-expires", "Expires", expires),
    h("div", { class: "field actions" }, create),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    create.disabled = true;
    try {
      const body: Record<string, unknown> = { name: name.value.trim(), role: role.value };
      if (tenant.value.trim()) body.tenant = tenant.value.trim();
      const patterns = types.value.split(",").map((p) => p.trim()).filter(Boolean);
      if (patterns.length && role.value === "publisher") body.event_types = patterns;
      if (expires.value) body.expires_at = new Date(expires.value).toISOString();
      const created = await post<CreatedApiKey>("/v1/api-keys", body);
      fill(out, shownOnce(created));
      form.reset();
      await load();
      (out.querySelector("#new-key") as HTMLInputElement | null)?.select();
    } catch (error) {
      fill(out, errorBox(error));
    } finally {
      create.disabled = false;
    }
  });

  // Two steps (confirmButton), so a stray click or key press revokes nothing.
  const revokeButton = (k: ApiKey): HTMLElement =>
    confirmButton({
      label: "Revoke", confirmLabel: "Confirm revoke", attrs: { class: "secondary", "data-action": "revoke", "aria-label": `Revoke ${k.name}` }, out,
      act: async () => {
        await post(`/v1/api-keys/${encodeURIComponent(k.id)}/revoke`);
        fill(out, h("p", { role: "status" }, badge("ok", "revoked"), ` ${k.name} no longer works, on every instance.`));
        await load();
      },
    });

  const row = (k: ApiKey) =>
    h(
      "tr",
      { "data-key-id": k.id },
      h("td", { "data-label": "Name" }, h("strong", null, k.name), h("div", { class: "muted mono" }, k.id)),
      h("td", { "data-label": "Role" }, k.role, k.tenant ? h("div", { class: "muted" }, `tenant ${k.tenant}`) : null, k.event_types ? h("div", { class: "muted mono" }, k.event_types.join(", ")) : null),
      h("td", { "data-label": "State" }, state(k), k.managed_by === "config" ? h("span", { class: "tag", title: "Declared in the config file" }, "config") : null),
      h("td", { "data-label": "Created" }, when(k.created_at)),
      h("td", { "data-label": "Expires" }, when(k.expires_at, "never")),
      h("td", { "data-label": "Last used" }, k.managed_by === "config" ? h("span", { class: "muted" }, "not tracked") : when(k.last_used_at, "never")),
      h("td", { "data-label": "" }, k.managed_by === "api" && !k.revoked_at ? revokeButton(k) : null),
    );

  async function load(): Promise<void> {
    const keys = await getAll<ApiKey>("/v1/api-keys", {}, ctx.signal);
    if (ctx.signal.aborted) return;
    fill(
      list,
      h(
        "table",
        { class: "list" },
        h("caption", { class: "muted" }, `${keys.length} keys and tokens`),
        h("thead", null, h("tr", null, ["Name", "Role", "State", "Created", "Expires", "Last used", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", null, keys.map(row)),
      ),
    );
  }

  fill(
    ctx.main,
    h("div", { class: "page-head" }, h("h1", null, "API keys"), h("p", { class: "muted" }, "Keys for producers, dashboards and scrapers. Only admins see this page.")),
    h("section", { class: "card", "aria-labelledby": "h-new-key" }, h("h2", { id: "h-new-key" }, "New key"), form, out),
    list,
  );
  try {
    await load();
  } catch (error) {
    if (!ctx.signal.aborted) fill(list, errorBox(error, "The API key list"));
  }
}
