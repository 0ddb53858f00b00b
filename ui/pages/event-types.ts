// The catalogue of event types: description, JSON Schema for `data`, example.
import { get } from "../api.ts";
import { fill, h } from "../dom.ts";
import { doneNotice, listHead } from "../list-head.ts";
import { codeBlock, errorBox, prettyJson } from "../format.ts";
import type { PageContext } from "../page.ts";
import { isAdmin, whoAmI } from "../session.ts";
import type { EventType, ListPage } from "../types.ts";

function typeCard(t: EventType, admin: boolean): HTMLElement {
  return h(
    "section",
    { class: "card event-type", "data-event-type": t.name, "aria-labelledby": `h-type-${t.name}` },
    h(
      "div",
      { class: "card-head" },
      h("h2", { id: `h-type-${t.name}`, class: "mono" }, t.name),
      t.managed_by === "config" ? h("span", { class: "tag", title: "Declared in the config file; change it there" }, "config") : null,
      // Only admins are answered the list (a tenant sees its own types without it).
      t.tenants ? h("span", { class: "tag", "data-tenants": t.tenants.join(","), title: "Other tenants never see this type" }, `only ${t.tenants.join(", ")}`) : null,
      h("span", { class: "spacer" }),
      // Only admins change the catalogue (the API refuses others); Herald's own types are not editable.
      admin && t.managed_by === "api" && !t.name.startsWith("herald.") ? h("a", { href: `#/event-types/edit/${encodeURIComponent(t.name)}`, "data-action": "edit" }, "Edit") : null,
      h("a", { href: `#/events?type=${encodeURIComponent(t.name)}` }, "Events of this type →"),
    ),
    h("p", null, t.description || h("span", { class: "muted" }, "No description.")),
    h(
      "div",
      { class: "grid-2" },
      h("div", null, h("h3", null, "Schema"), t.schema ? codeBlock(prettyJson(t.schema), `Schema of ${t.name}`, 24) : h("p", { class: "muted" }, "No schema: any data is accepted.")),
      h("div", null, h("h3", null, "Example"), t.example !== null && t.example !== undefined ? codeBlock(prettyJson(t.example), `Example of ${t.name}`, 24) : h("p", { class: "muted" }, "No example.")),
    ),
  );
}

export async function eventTypesPage(ctx: PageContext): Promise<void> {
  const list = h("div", { id: "event-type-list", class: "cards" }, h("p", { class: "muted" }, "Loading…"));
  const admin = isAdmin(await whoAmI());
  fill(
    ctx.main,
    listHead("Event types", "The kinds of events Herald accepts.",
      admin ? { href: "#/event-types/new", action: "new-event-type", label: "New event type" } : null),
    doneNotice(ctx.params, (name) => `Event type ${name} is saved.`, (name) => `Event type ${name} is deleted.`),
    list,
  );
  const card = (t: EventType) => typeCard(t, admin);
  try {
    const page = await get<ListPage<EventType>>("/v1/event-types", undefined, ctx.signal);
    if (ctx.signal.aborted) return;
    // Herald's own operational types (herald.*) are listed apart and folded, after the application's.
    const own = page.data.filter((t) => !t.name.startsWith("herald."));
    const operational = page.data.filter((t) => t.name.startsWith("herald."));
    fill(
      list,
      own.length ? own.map(card) : h("p", { class: "empty" }, "No event types yet. Declare them in the config file or create them with POST /v1/event-types."),
      operational.length
        ? h(
            "details",
            { class: "fold operational" },
            h("summary", null, `Herald's operational events (${operational.length})`),
            h("p", { class: "muted" }, "Herald publishes these itself. They reach only subscriptions that name them."),
            operational.map(card),
          )
        : null,
    );
  } catch (error) {
    if (!ctx.signal.aborted) fill(list, errorBox(error, "The event type catalogue"));
  }
}
