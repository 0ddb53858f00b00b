// Every subscription the token may see: its destination by name, its event
// types and filter, and (for those who may manage) links to change it.
import { getAll } from "../api.ts";
import { fill, h } from "../dom.ts";
import { doneNotice, listHead } from "../list-head.ts";
import { badge, destinationRef, errorBox } from "../format.ts";
import { knownDestinations } from "../names.ts";
import type { PageContext } from "../page.ts";
import { mayManage, whoAmI } from "../session.ts";
import type { Subscription } from "../types.ts";

/** Every page of GET /v1/subscriptions (optionally one destination's). */
export async function allSubscriptions(signal: AbortSignal, destinationId?: string): Promise<Subscription[]> {
  return getAll<Subscription>("/v1/subscriptions", { destination_id: destinationId }, signal);
}

export async function subscriptionsPage(ctx: PageContext): Promise<void> {
  const list = h("div", { id: "subscription-list" }, h("p", { class: "muted" }, "Loading…"));
  const me = await whoAmI();
  fill(
    ctx.main,
    listHead("Subscriptions", "Which event types go to which destination.",
      mayManage(me) ? { href: "#/subscriptions/new", action: "new-subscription", label: "New subscription" } : null),
    doneNotice(ctx.params, () => "The subscription is saved.", () => "The subscription is deleted."),
    list,
  );
  try {
    const [subs, known] = await Promise.all([allSubscriptions(ctx.signal), knownDestinations(ctx.signal)]);
    if (ctx.signal.aborted) return;
    if (subs.length === 0) {
      fill(list, h("p", { class: "empty" }, "No subscriptions yet: without one, published events go nowhere."));
      return;
    }
    fill(
      list,
      h(
        "table",
        { class: "list" },
        h("caption", { class: "muted" }, `${subs.length} ${subs.length === 1 ? "subscription" : "subscriptions"}`),
        h("thead", null, h("tr", null, ["Destination", "Event types", "Filter", "State", ""].map((t) => h("th", { scope: "col" }, t)))),
        h(
          "tbody",
          null,
          subs.map((s) =>
            h(
              "tr",
              { "data-subscription-id": s.id },
              h("td", { "data-label": "Destination" }, h("a", { href: `#/destinations?focus=${encodeURIComponent(s.destination_id)}` }, destinationRef(s.destination_id, known)), h("div", { class: "muted small mono" }, s.id), s.description ? h("div", { class: "muted small" }, s.description) : null),
              h("td", { "data-label": "Event types" }, h("span", { class: "mono" }, s.event_types.join(", "))),
              h("td", { "data-label": "Filter" }, s.filter ? h("code", { class: "mono small filter-text" }, JSON.stringify(s.filter)) : h("span", { class: "muted" }, "none")),
              h("td", { "data-label": "State" }, s.enabled ? badge("enabled", "enabled") : badge("disabled", "disabled"), s.managed_by === "config" ? [" ", h("span", { class: "tag", title: "Declared in the config file; change it there" }, "config")] : null, s.tenant !== "default" ? h("div", { class: "muted small" }, `tenant ${s.tenant}`) : null),
              h("td", { "data-label": "" }, s.managed_by === "api" && mayManage(me) ? h("a", { href: `#/subscriptions/edit/${encodeURIComponent(s.id)}`, "data-action": "edit" }, "Edit") : s.managed_by === "config" ? h("span", { class: "muted small" }, "read-only") : null),
            ),
          ),
        ),
      ),
    );
  } catch (error) {
    if (!ctx.signal.aborted) fill(list, errorBox(error, "The subscriptions list"));
  }
}
