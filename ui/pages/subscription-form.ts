// Creating, changing and deleting a subscription (#/subscriptions/new,
// #/subscriptions/edit/<id>): the destination picked by name, event types
// picked from the catalogue (with "*" and "prefix.*" wildcards, or typed), and a
// payload filter as JSON that "Check filter" validates through the API before
// anything is saved. A config-declared subscription is shown read-only.
import { get, post, request } from "../api.ts";
import { deleteSection } from "../confirm.ts";
import { fill, h } from "../dom.ts";
import { FormFields, configReadOnly, parseJsonField } from "../form-fields.ts";
import { badge, destinationName, errorBox, prettyJson } from "../format.ts";
import { knownDestinations } from "../names.ts";
import { href, type PageContext } from "../page.ts";
import { mayManage, whoAmI } from "../session.ts";
import type { EventType, ListPage, Subscription } from "../types.ts";

/** "*", then "order.*" for every prefix in the catalogue, then each name: what a subscription may name. */
export function catalogPatterns(types: EventType[]): string[] {
  const names = types.map((t) => t.name).sort();
  const prefixes = new Set<string>();
  for (const name of names) {
    const parts = name.split(".");
    for (let i = 1; i < parts.length; i++) prefixes.add(`${parts.slice(0, i).join(".")}.*`);
  }
  return ["*", ...[...prefixes].sort(), ...names];
}

export async function subscriptionFormPage(ctx: PageContext): Promise<void> {
  const editing = ctx.path[1] === "edit" ? ctx.path[2] ?? "" : null;
  fill(ctx.main, h("p", { class: "muted" }, "Loading…"));
  let current: Subscription | null = null;
  let types: EventType[] = [];
  const [me, known] = await Promise.all([whoAmI(), knownDestinations(ctx.signal)]);
  try {
    if (editing !== null) current = await get<Subscription>(`/v1/subscriptions/${encodeURIComponent(editing)}`, undefined, ctx.signal);
    types = (await get<ListPage<EventType>>("/v1/event-types", undefined, ctx.signal)).data;
  } catch (error) {
    if (!ctx.signal.aborted) fill(ctx.main, h("p", null, h("a", { href: "#/subscriptions" }, "← Subscriptions")), errorBox(error, `Subscription ${editing}`));
    return;
  }
  if (ctx.signal.aborted) return;

  const readOnly = current?.managed_by === "config" || !mayManage(me);
  const form = new FormFields();
  const preset = ctx.params.get("destination");

  const destination = h(
    "select",
    { id: "s-destination", required: true, disabled: current !== null },
    current === null ? h("option", { value: "" }, "Choose a destination…") : null,
    [...known.values()].map((d) =>
      h("option", { value: d.id, selected: (current?.destination_id ?? preset) === d.id }, `${destinationName(d)}${destinationName(d) === d.id ? "" : ` (${d.id})`}`),
    ),
    // Editing one whose destination this token cannot list: keep its id selectable.
    current && !known.has(current.destination_id) ? h("option", { value: current.destination_id, selected: true }, current.destination_id) : null,
  );

  const chosen = new Set(current?.event_types ?? []);
  // Herald's own operational types (herald.*) are folded apart, after the application's.
  const ownPatterns = catalogPatterns(types.filter((t) => !t.name.startsWith("herald.")));
  const heraldPatterns = catalogPatterns(types.filter((t) => t.name.startsWith("herald."))).slice(1);
  const patterns = [...ownPatterns, ...heraldPatterns];
  const patternBox = (p: string) => {
    const box = h("input", { type: "checkbox", value: p, checked: chosen.has(p), "data-pattern": p });
    const about = p === "*" ? "every event type" : p.endsWith(".*") ? `every ${p.slice(0, -2)}.… type` : types.find((t) => t.name === p)?.description;
    return h("label", { class: "check pattern" }, box, " ", h("span", { class: "mono" }, p), about ? h("span", { class: "muted small" }, ` ${about}`) : null);
  };
  const boxes = ownPatterns.map(patternBox);
  const heraldBoxes = heraldPatterns.map(patternBox);
  const others = h("input", {
    id: "s-other-types", autocomplete: "off", spellcheck: "false", class: "mono", placeholder: "other patterns, comma-separated",
    value: [...chosen].filter((p) => !patterns.includes(p)).join(", "), "aria-label": "Other event-type patterns",
  });
  const heraldFold = heraldBoxes.length
    ? h("details", { class: "fold operational", open: heraldPatterns.some((p) => chosen.has(p)) }, h("summary", null, `Herald's operational events (${heraldBoxes.length})`), h("div", { class: "pattern-list" }, heraldBoxes))
    : null;
  const typePicker = h("div", { id: "s-types", role: "group", tabindex: "-1" }, h("div", { class: "pattern-list", "data-own-patterns": "" }, boxes), heraldFold, others);

  const filter = h("textarea", { id: "s-filter", rows: 6, spellcheck: "false", class: "mono", placeholder: '{"data.total": {"$gt": 100}}' }, current?.filter ? prettyJson(current.filter) : "");
  const checkOut = h("div", { class: "check-output", "aria-live": "polite" });
  const check = h("button", { type: "button", class: "secondary", "data-action": "check-filter" }, "Check filter");
  const description = h("input", { id: "s-description", maxlength: 1000, autocomplete: "off", value: current?.description ?? "" });
  const id = h("input", { id: "s-id", autocomplete: "off", spellcheck: "false", class: "mono", placeholder: "generated (sub_…)" });
  const enabled = h("input", { id: "s-enabled", type: "checkbox", checked: current?.enabled ?? true });
  const save = h("button", { type: "submit" }, current ? "Save changes" : "Create subscription");

  const chosenPatterns = (): string[] => [
    ...[...boxes, ...heraldBoxes].map((b) => b.querySelector("input")!).filter((b) => b.checked).map((b) => b.value),
    ...others.value.split(",").map((p) => p.trim()).filter(Boolean),
  ];
  /** The filter typed, or false when it is not JSON (the field says why). */
  const filterValue = (): object | null | false => {
    const parsed = parseJsonField(filter.value);
    if (parsed === undefined) return null;
    if ("error" in parsed) {
      form.fieldError("filter", parsed.error);
      return false;
    }
    return parsed.value as object | null;
  };

  check.addEventListener("click", async () => {
    form.clear();
    fill(checkOut);
    const value = filterValue();
    if (value === false) return;
    check.disabled = true;
    try {
      await post<{ ok: true }>("/v1/subscriptions/check-filter", { filter: value });
      fill(checkOut, h("p", { role: "status" }, badge("ok", value === null ? "no filter: every event of the chosen types" : "filter is valid")));
    } catch (error) {
      form.show(error);
    } finally {
      check.disabled = false;
    }
  });

  const formEl = h(
    "form",
    { class: "resource-form", "aria-labelledby": "h-subscription-form", novalidate: true },
    form.summary,
    h(
      "fieldset",
      { class: "form-grid", disabled: readOnly },
      form.field("destination_id", "Destination", destination, current ? "A subscription keeps its destination; make a new one to send elsewhere." : undefined),
      current === null ? form.field("id", "Id (optional)", id) : null,
      h("div", { class: "field wide" }, form.field("event_types", "Event types", typePicker, "A wildcard takes types added to the catalogue later, too.")),
      h("div", { class: "field wide" }, form.field("filter", "Payload filter (JSON, optional)", filter, "Dotted paths into {type, tenant, data} with $eq $ne $gt $gte $lt $lte $in $nin $exists $startsWith $and $or $not."), h("div", { class: "row" }, check), checkOut),
      form.field("description", "Description", description),
      h("div", { class: "field checks" }, h("label", { class: "check" }, enabled, " Enabled")),
      h("div", { class: "field actions wide" }, save, h("a", { href: "#/subscriptions", class: "button secondary" }, "Cancel")),
    ),
  );

  formEl.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (readOnly) return;
    form.clear();
    fill(checkOut);
    const value = filterValue();
    if (value === false) return;
    const eventTypes = chosenPatterns();
    await form.submit(save, async () => {
      if (current === null) {
        const body: Record<string, unknown> = { destination_id: destination.value, event_types: eventTypes, filter: value, enabled: enabled.checked };
        if (description.value.trim()) body.description = description.value.trim();
        if (id.value.trim()) body.id = id.value.trim();
        await request("POST", "/v1/subscriptions", body);
      } else {
        await request("PATCH", `/v1/subscriptions/${encodeURIComponent(current.id)}`, { event_types: eventTypes, filter: value, enabled: enabled.checked, description: description.value.trim() });
      }
      location.hash = href("subscriptions", { saved: "1" });
    });
  });

  fill(
    ctx.main,
    h("p", null, h("a", { href: "#/subscriptions" }, "← Subscriptions")),
    h("div", { class: "page-head" }, h("h1", { id: "h-subscription-form" }, current ? "Edit subscription" : "New subscription"), current ? h("p", { class: "muted mono" }, current.id) : null),
    current?.managed_by === "config" ? configReadOnly("subscription") : null,
    !mayManage(me) ? h("p", { class: "warn inline read-only" }, h("strong", null, "Read-only: "), `a ${me?.role} token may not change subscriptions.`) : null,
    h("section", { class: "card" }, formEl),
    current && !readOnly ? deleteControl(current) : null,
  );
}

/** Delete in two steps, the API's refusal shown beside the button. */
const deleteControl = (s: Subscription): HTMLElement =>
  deleteSection({
    label: "Delete subscription", confirmLabel: "Confirm: delete this subscription", path: `/v1/subscriptions/${encodeURIComponent(s.id)}`,
    warning: "New events of its types will no longer reach its destination. Press again to delete.",
    after: href("subscriptions", { deleted: "1" }),
  });
