// Creating, changing and deleting a destination (#/destinations/new,
// #/destinations/edit/<id>). Static header values are write-only: the form
// lists the current headers by name and lets each be kept, replaced or
// removed, and new ones added, without ever reading a value (the change is sent
// as header_changes). A config-declared destination is shown read-only.
import { get, request } from "../api.ts";
import { deleteSection } from "../confirm.ts";
import { fill, h } from "../dom.ts";
import { FormFields, configReadOnly, numberOrNull } from "../form-fields.ts";
import { destinationName, errorBox } from "../format.ts";
import { href, type PageContext } from "../page.ts";
import { mayManage, whoAmI } from "../session.ts";
import type { Destination } from "../types.ts";

interface HeaderRow {
  /** The current header's name; null for a header being added. */
  existing: string | null;
  name: HTMLInputElement;
  value: HTMLInputElement;
  action: HTMLSelectElement | null;
  el: HTMLElement;
}

/** The static headers editor: current ones by name only, with keep/replace/remove; new rows with name and value. */
function headersEditor(current: string[]) {
  const rows: HeaderRow[] = [];
  const list = h("div", { class: "header-rows" });
  let added = 0;

  const existingRow = (name: string): HeaderRow => {
    const n = rows.length;
    const nameInput = h("input", { value: name, readonly: true, class: "mono", "aria-label": `Header ${n + 1} name` });
    const value = h("input", { type: "password", autocomplete: "new-password", placeholder: "new value", "aria-label": `New value for ${name}`, hidden: true, "data-header-value": name });
    const action = h(
      "select",
      { "aria-label": `What to do with ${name}`, "data-header-action": name },
      h("option", { value: "keep" }, "keep its value"),
      h("option", { value: "replace" }, "replace its value"),
      h("option", { value: "remove" }, "remove it"),
    );
    action.addEventListener("change", () => {
      value.hidden = action.value !== "replace";
      if (!value.hidden) value.focus();
    });
    return { existing: name, name: nameInput, value, action, el: h("div", { class: "row header-row" }, nameInput, action, value) };
  };

  const newRow = (): HeaderRow => {
    added++;
    const nameInput = h("input", { placeholder: "x-auth-token", autocomplete: "off", spellcheck: "false", class: "mono", "aria-label": `New header ${added} name`, "data-new-header-name": String(added) });
    const value = h("input", { type: "password", autocomplete: "new-password", placeholder: "value", "aria-label": `New header ${added} value`, "data-new-header-value": String(added) });
    const remove = h("button", { type: "button", class: "secondary", "aria-label": `Drop new header ${added}` }, "Drop");
    const row: HeaderRow = { existing: null, name: nameInput, value, action: null, el: h("div", { class: "row header-row" }, nameInput, value, remove) };
    remove.addEventListener("click", () => {
      rows.splice(rows.indexOf(row), 1);
      row.el.remove();
    });
    return row;
  };

  for (const name of current) rows.push(existingRow(name));
  for (const r of rows) list.append(r.el);
  const add = h("button", { type: "button", class: "secondary", "data-action": "add-header" }, "Add a header");
  add.addEventListener("click", () => {
    const row = newRow();
    rows.push(row);
    list.append(row.el);
    row.name.focus();
  });
  // A container the label can point at; the inputs inside carry their own labels.
  const el = h("div", { id: "d-headers", tabindex: "-1", role: "group" }, list, add);

  return {
    el,
    /** For a new destination: every header typed. */
    all(): Record<string, string> {
      const out: Record<string, string> = {};
      for (const r of rows) if (r.existing === null && r.name.value.trim()) out[r.name.value.trim()] = r.value.value;
      return out;
    },
    /** For a change: only what changes; undefined when nothing does. */
    changes(): Record<string, string | null> | undefined {
      const out: Record<string, string | null> = {};
      for (const r of rows) {
        if (r.existing !== null && r.action!.value === "remove") out[r.existing] = null;
        else if (r.existing !== null && r.action!.value === "replace") out[r.existing] = r.value.value;
        else if (r.existing === null && r.name.value.trim()) out[r.name.value.trim()] = r.value.value;
      }
      return Object.keys(out).length ? out : undefined;
    },
  };
}

export async function destinationFormPage(ctx: PageContext): Promise<void> {
  const editing = ctx.path[1] === "edit" ? ctx.path[2] ?? "" : null;
  fill(ctx.main, h("p", { class: "muted" }, "Loading…"));
  const me = await whoAmI();
  let current: Destination | null = null;
  try {
    if (editing !== null) current = await get<Destination>(`/v1/destinations/${encodeURIComponent(editing)}`, undefined, ctx.signal);
  } catch (error) {
    if (!ctx.signal.aborted) fill(ctx.main, h("p", null, h("a", { href: "#/destinations" }, "← Destinations")), errorBox(error, `Destination ${editing}`));
    return;
  }
  if (ctx.signal.aborted) return;

  const readOnly = current?.managed_by === "config" || !mayManage(me);
  const form = new FormFields();
  form.alias("header_changes", "headers");
  form.alias("timeout_ms", "timeout");

  const url = h("input", { id: "d-url", type: "url", required: true, autocomplete: "off", spellcheck: "false", class: "mono", placeholder: "https://hooks.example.com/herald", value: current?.url ?? "" });
  const description = h("input", { id: "d-description", maxlength: 1000, autocomplete: "off", placeholder: "what it is, for people", value: current?.description ?? "" });
  const id = h("input", { id: "d-id", autocomplete: "off", spellcheck: "false", class: "mono", placeholder: "generated (dst_…)" });
  // Admins may place it in any tenant; a tenant token's go to its own tenant (the API decides).
  const tenant = h("input", { id: "d-tenant", autocomplete: "off", spellcheck: "false", placeholder: "default", value: me?.tenant ?? "" });
  if (me?.tenant) tenant.readOnly = true;
  const timeout = h("input", { id: "d-timeout", type: "number", min: 1, step: 1, inputmode: "numeric", placeholder: "default", value: current?.timeout ?? "" });
  const rateLimit = h("input", { id: "d-rate", type: "number", min: 1, step: 1, inputmode: "numeric", placeholder: "no limit", value: current?.rate_limit ?? "" });
  const maxInFlight = h("input", { id: "d-in-flight", type: "number", min: 1, step: 1, inputmode: "numeric", placeholder: "no limit", value: current?.max_in_flight ?? "" });
  const ordered = h("input", { id: "d-ordered", type: "checkbox", checked: current?.ordered ?? false });
  const enabled = h("input", { id: "d-enabled", type: "checkbox", checked: current?.enabled ?? true });
  const headers = headersEditor(current?.header_names ?? []);
  const save = h("button", { type: "submit" }, editing === null ? "Create destination" : "Save changes");

  const fieldset = h(
    "fieldset",
    { class: "form-grid", disabled: readOnly },
    form.field("url", "URL", url, "Where Herald POSTs each event (https unless the config allows otherwise)."),
    form.field("description", "Description", description, "Shown as its name in the console."),
    editing === null ? form.field("id", "Id (optional)", id) : null,
    editing === null && me?.role === "admin" ? form.field("tenant", "Tenant", tenant) : null,
    form.field("timeout", "Timeout (ms)", timeout, "Empty: delivery.timeout."),
    form.field("rate_limit", "Rate limit (per second)", rateLimit, "Empty: no limit."),
    form.field("max_in_flight", "Max in flight", maxInFlight, "Most requests at once. Empty: no limit."),
    h("div", { class: "field checks" },
      h("label", { class: "check" }, ordered, " Ordered (one at a time, in publish order)"),
      h("label", { class: "check" }, enabled, " Enabled"),
    ),
    h("div", { class: "field wide" }, form.field("headers", "Static headers", headers.el, current?.header_names.length ? "Values are write-only: they are never shown, only kept, replaced or removed." : "Sent with every delivery; values are write-only.")),
    h("div", { class: "field actions wide" }, save, h("a", { href: current ? href("destinations", { focus: current.id }) : "#/destinations", class: "button secondary" }, "Cancel")),
  );
  // The checkboxes carry their own labels; their errors (rarely any) go to the summary.
  const formEl = h("form", { class: "resource-form", "aria-labelledby": "h-destination-form", novalidate: true }, form.summary, fieldset);

  formEl.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (readOnly) return;
    form.clear();
    await form.submit(save, async () => {
      const common = {
        url: url.value.trim(),
        description: description.value.trim(),
        timeout: numberOrNull(timeout),
        rate_limit: numberOrNull(rateLimit),
        max_in_flight: numberOrNull(maxInFlight),
        ordered: ordered.checked,
        enabled: enabled.checked,
      };
      let saved: Destination;
      if (current === null) {
        const body: Record<string, unknown> = { url: common.url, ordered: common.ordered, enabled: common.enabled };
        if (common.description) body.description = common.description;
        // The create route takes no nulls: an empty limit is simply left out.
        for (const key of ["timeout", "rate_limit", "max_in_flight"] as const) if (common[key] !== null) body[key] = common[key];
        if (id.value.trim()) body.id = id.value.trim();
        if (me?.role === "admin" && tenant.value.trim()) body.tenant = tenant.value.trim();
        const all = headers.all();
        if (Object.keys(all).length) body.headers = all;
        saved = await request<Destination>("POST", "/v1/destinations", body);
      } else {
        const body: Record<string, unknown> = { ...common };
        const changes = headers.changes();
        if (changes) body.header_changes = changes;
        saved = await request<Destination>("PATCH", `/v1/destinations/${encodeURIComponent(current.id)}`, body);
      }
      location.hash = href("destinations", { focus: saved.id, saved: "1" });
    });
  });

  const deleteArea = current && !readOnly ? deleteControl(current) : null;
  fill(
    ctx.main,
    h("p", null, h("a", { href: "#/destinations" }, "← Destinations")),
    h(
      "div",
      { class: "page-head" },
      h("h1", { id: "h-destination-form" }, current ? `Edit ${destinationName(current)}` : "New destination"),
      current ? h("p", { class: "muted mono" }, current.id) : h("p", { class: "muted" }, "A signing secret is generated for it."),
    ),
    current?.managed_by === "config" ? configReadOnly("destination") : null,
    !mayManage(me) ? h("p", { class: "warn inline read-only" }, h("strong", null, "Read-only: "), `a ${me?.role} token may not change destinations.`) : null,
    h("section", { class: "card" }, formEl),
    deleteArea,
  );
  if (!readOnly) url.focus();
}

/** Delete in two steps, the API's refusal shown beside the button. */
const deleteControl = (d: Destination): HTMLElement =>
  deleteSection({
    label: "Delete destination", confirmLabel: `Confirm: delete ${destinationName(d)}`, path: `/v1/destinations/${encodeURIComponent(d.id)}`,
    warning: "Its subscriptions go with it and its unfinished deliveries are cancelled. Press again to delete.",
    after: href("destinations", { deleted: destinationName(d) }),
  });
