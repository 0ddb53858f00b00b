// The top of a list page (destinations, subscriptions, event types): its title,
// a line on what it lists and, for those who may create, its "New …" button;
// and the notice a form leaves there after saving (?saved=NAME) or deleting (?deleted=ID).
import { h } from "./dom.ts";
import { badge } from "./format.ts";

export interface CreateLink {
  href: string;
  /** The button's data-action, which tests and keyboard users find it by. */
  action: string;
  label: string;
}

export function listHead(title: string, blurb: string, create: CreateLink | null): HTMLElement {
  return h(
    "div",
    { class: "page-head with-action" },
    h("div", null, h("h1", null, title), h("p", { class: "muted" }, blurb)),
    create ? h("a", { href: create.href, class: "button", "data-action": create.action }, create.label) : null,
  );
}

/**
 * "saved" or "deleted", as the form that sent the reader here says (?saved=… or
 * ?deleted=ID, each told the parameter's value: the event-type form names the
 * type it saved); null when it says neither.
 */
export function doneNotice(params: URLSearchParams, saved: (value: string) => string, deleted: (id: string) => string): HTMLElement | null {
  const kept = params.get("saved");
  const gone = params.get("deleted");
  if (kept) return h("p", { role: "status", class: "result result-ok" }, badge("ok", "saved"), ` ${saved(kept)}`);
  if (gone) return h("p", { role: "status", class: "result result-ok" }, badge("ok", "deleted"), ` ${deleted(gone)}`);
  return null;
}
