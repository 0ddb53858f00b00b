// Creating and changing an event type (#/event-types/new,
// #/event-types/edit/<name>): description, JSON Schema for `data`, an
// example, and the tenants it is limited to (empty: every tenant); and
// deleting it. Admins only, as the API allows; a config-declared type is
// read-only, with the reason.
import { get, request } from "../api.ts";
import { deleteSection } from "../confirm.ts";
import { fill, h } from "../dom.ts";
import { FormFields, configReadOnly, parseJsonField } from "../form-fields.ts";
import { errorBox, prettyJson } from "../format.ts";
import { href, type PageContext } from "../page.ts";
import { isAdmin, whoAmI } from "../session.ts";
import type { EventType } from "../types.ts";

export async function eventTypeFormPage(ctx: PageContext): Promise<void> {
  const editing = ctx.path[1] === "edit" ? ctx.path[2] ?? "" : null;
  fill(ctx.main, h("p", { class: "muted" }, "Loading…"));
  const me = await whoAmI();
  let current: EventType | null = null;
  try {
    if (editing !== null) current = await get<EventType>(`/v1/event-types/${encodeURIComponent(editing)}`, undefined, ctx.signal);
  } catch (error) {
    if (!ctx.signal.aborted) fill(ctx.main, h("p", null, h("a", { href: "#/event-types" }, "← Event types")), errorBox(error, `Event type ${editing}`));
    return;
  }
  if (ctx.signal.aborted) return;

  const readOnly = current?.managed_by === "config" || !isAdmin(me);
  const form = new FormFields();
  const name = h("input", { id: "t-name", required: true, autocomplete: "off", spellcheck: "false", class: "mono", placeholder: "order.created", maxlength: 128 });
  const description = h("input", { id: "t-description", maxlength: 2000, autocomplete: "off", value: current?.description ?? "" });
  const schema = h("textarea", { id: "t-schema", rows: 10, spellcheck: "false", class: "mono", placeholder: '{"type": "object", "required": ["order_id"]}' }, current?.schema ? prettyJson(current.schema) : "");
  const example = h("textarea", { id: "t-example", rows: 8, spellcheck: "false", class: "mono", placeholder: '{"order_id": 1}' }, current && current.example !== null && current.example !== undefined ? prettyJson(current.example) : "");
  const tenants = h("input", {
    id: "t-tenants", autocomplete: "off", spellcheck: "false", class: "mono", placeholder: "every tenant",
    value: current?.tenants ? current.tenants.join(", ") : "",
  });
  const save = h("button", { type: "submit" }, current ? "Save changes" : "Create event type");

  const formEl = h(
    "form",
    { class: "resource-form", "aria-labelledby": "h-event-type-form", novalidate: true },
    form.summary,
    h(
      "fieldset",
      { class: "form-grid", disabled: readOnly },
      current === null ? form.field("name", "Name", name, "Dot-separated: letters, digits, _ or -. Names starting herald. are Herald's own.") : null,
      h("div", { class: "field wide" }, form.field("description", "Description", description)),
      h("div", { class: "field wide" }, form.field("schema", "JSON Schema for data (optional)", schema, "Events whose data does not match are refused at publish.")),
      h("div", { class: "field wide" }, form.field("example", "Example data (optional)", example, "Sent by “Send test event”, and shown to people subscribing.")),
      // Only an admin is told a type's tenants (the API sends a tenant none): to a tenant, the field would read "every tenant".
      isAdmin(me)
        ? h("div", { class: "field wide" }, form.field("tenants", "Only for tenants (optional)", tenants,
          "Tenant names separated by commas. Other tenants never see, publish or receive this type. Empty: every tenant."))
        : null,
      h("div", { class: "field actions wide" }, save, h("a", { href: "#/event-types", class: "button secondary" }, "Cancel")),
    ),
  );

  formEl.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (readOnly) return;
    form.clear();
    const parsedSchema = parseJsonField(schema.value);
    const parsedExample = parseJsonField(example.value);
    if (parsedSchema && "error" in parsedSchema) form.fieldError("schema", parsedSchema.error);
    if (parsedExample && "error" in parsedExample) form.fieldError("example", parsedExample.error);
    if ((parsedSchema && "error" in parsedSchema) || (parsedExample && "error" in parsedExample)) return;
    const body: Record<string, unknown> = {
      description: description.value.trim(),
      // Emptying the schema field removes the schema; the example is left out when empty.
      schema: parsedSchema ? parsedSchema.value : null,
    };
    if (parsedExample) body.example = parsedExample.value;
    // Emptying the field opens the type to every tenant again (null); the API checks each name.
    const named = tenants.value.split(",").map((t) => t.trim()).filter(Boolean);
    body.tenants = named.length ? named : null;
    await form.submit(save, async () => {
      if (current === null) await request("POST", "/v1/event-types", { name: name.value.trim(), ...body });
      else await request("PATCH", `/v1/event-types/${encodeURIComponent(current.name)}`, body);
      location.hash = href("event-types", { saved: current?.name ?? name.value.trim() });
    });
  });

  fill(
    ctx.main,
    h("p", null, h("a", { href: "#/event-types" }, "← Event types")),
    h("div", { class: "page-head" }, h("h1", { id: "h-event-type-form", class: current ? "mono" : undefined }, current ? current.name : "New event type")),
    current?.managed_by === "config" ? configReadOnly("event type") : null,
    !isAdmin(me) ? h("p", { class: "warn inline read-only" }, h("strong", null, "Read-only: "), "only an admin token may change event types.") : null,
    h("section", { class: "card" }, formEl),
    current && !readOnly ? deleteControl(current) : null,
  );
}

/** Delete in two steps, the API's refusal shown beside the button. */
const deleteControl = (t: EventType): HTMLElement =>
  deleteSection({
    label: "Delete event type", confirmLabel: "Confirm: delete this event type", path: `/v1/event-types/${encodeURIComponent(t.name)}`,
    warning: "New events of this type will be refused; events already published keep it. Press again to delete.",
    after: href("event-types", { deleted: t.name }),
  });
