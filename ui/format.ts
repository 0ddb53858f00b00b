// How values look in the console: local times with their age, status badges that
// say their state in words as well as colour, JSON and bodies folded when long.
import { ApiError } from "./api.ts";
import { h, type Child } from "./dom.ts";
import type { Delivery, DeliveryStatus, Destination } from "./types.ts";

const dateTime = new Intl.DateTimeFormat(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto", style: "short" });

/** "3 min ago", "in 5 sec"; within a second is "now". */
export function age(iso: string, now = Date.now()): string {
  const seconds = Math.round((Date.parse(iso) - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 1) return "now";
  if (abs < 60) return relative.format(seconds, "second");
  if (abs < 3600) return relative.format(Math.round(seconds / 60), "minute");
  if (abs < 86_400) return relative.format(Math.round(seconds / 3600), "hour");
  return relative.format(Math.round(seconds / 86_400), "day");
}

export function localTime(iso: string): string {
  const date = new Date(iso);
  return date.toDateString() === new Date().toDateString() ? timeOnly.format(date) : dateTime.format(date);
}

/** A <time> showing local time and age; the full local date and ISO form are in the tooltip. */
export function when(iso: string | null | undefined, empty = "—"): Child {
  if (!iso) return h("span", { class: "muted" }, empty);
  return h(
    "time",
    { datetime: iso, title: `${dateTime.format(new Date(iso))} (${iso})` },
    localTime(iso),
    " ",
    h("span", { class: "age" }, age(iso)),
  );
}

export const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`);

export const percent = (rate: number | null) => (rate === null ? "—" : `${(rate * 100).toFixed(rate === 1 || rate === 0 ? 0 : 1)}%`);

/** A delivery waiting after a failed attempt is "retrying"; before any attempt, "pending". */
export type Shown = DeliveryStatus | "retrying";
export const shownStatus = (d: Pick<Delivery, "status" | "attempt_count">): Shown => (d.status === "pending" && d.attempt_count > 0 ? "retrying" : d.status);

const ICONS: Record<string, string> = {
  succeeded: "✓", failed: "✕", retrying: "↻", pending: "…", delivering: "→", cancelled: "⊘",
  enabled: "●", disabled: "⊘", failing: "!", ok: "✓", error: "✕", breaker: "⏸", scheduled: "◷",
};

/** A coloured badge that also names its state, so colour is never the only cue. */
export function badge(state: string, text: string = state, title?: string): HTMLElement {
  return h("span", { class: `badge badge-${state}`, title }, h("span", { "aria-hidden": "true" }, ICONS[state] ?? "•"), " ", text);
}

/**
 * A delivery's state as a badge. Its tooltip carries what the word leaves out:
 * when a waiting delivery is due, and why a cancelled one was cancelled.
 */
export function statusBadge(d: Pick<Delivery, "status" | "attempt_count"> & Partial<Pick<Delivery, "next_attempt_at" | "last_error">>): HTMLElement {
  const title =
    d.status === "pending" && d.next_attempt_at ? `due ${dateTime.format(new Date(d.next_attempt_at))}` :
    d.status === "cancelled" && d.last_error ? d.last_error : undefined;
  return badge(shownStatus(d), shownStatus(d), title);
}

/** Whether an event's deliveries were scheduled and some still wait: "scheduled for" is worth showing. */
export const stillScheduled = (deliverAt: string | null, deliveries: Pick<Delivery, "status">[]) =>
  deliverAt !== null && deliveries.some((d) => d.status === "pending");

/** An HTTP status as a badge: 2xx ok, anything else an error. */
export function httpBadge(status: number | null, error?: string | null): HTMLElement {
  if (status === null) return badge("error", error ? "no response" : "—");
  return badge(status >= 200 && status < 300 ? "ok" : "error", String(status));
}

export function prettyJson(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? "null";
}

/** A body as a block of text; anything over `lines` lines or 1200 characters starts folded. */
export function codeBlock(text: string, label: string, lines = 16): HTMLElement {
  const pre = h("pre", { class: "code", tabindex: "0", "aria-label": label }, text);
  const count = text.split("\n").length;
  if (count <= lines && text.length <= 1200) return pre;
  return h("details", { class: "fold" }, h("summary", null, `${label} (${count} lines, ${text.length.toLocaleString()} characters)`), pre);
}

/** A body that may be JSON: pretty-printed when it parses, as sent otherwise. */
export function bodyBlock(body: string | null, label: string): Child {
  if (body === null || body === "") return h("span", { class: "muted" }, "(empty)");
  let text = body;
  try {
    text = prettyJson(JSON.parse(body));
  } catch {}
  return codeBlock(text, label);
}

export function headerTable(headers: Record<string, string> | null, caption: string): Child {
  const entries = Object.entries(headers ?? {});
  if (entries.length === 0) return h("p", { class: "muted" }, `${caption}: none`);
  return h(
    "table",
    { class: "kv" },
    h("caption", null, caption),
    h("tbody", null, entries.map(([name, value]) => h("tr", null, h("th", { scope: "row" }, name), h("td", null, value)))),
  );
}

export function copyButton(label: string, text: () => string): HTMLButtonElement {
  const button = h("button", { type: "button", class: "secondary" }, label);
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text());
      button.textContent = "Copied";
    } catch {
      // Clipboard access needs a secure context (https or localhost): fall back to selecting the text.
      button.textContent = "Copy failed: select the text";
    }
    setTimeout(() => (button.textContent = label), 1500);
  });
  return button;
}

/** A readable error box: the API's message, its code and status, and any details. */
export function errorBox(error: unknown, context?: string): HTMLElement {
  const e = error instanceof ApiError ? error : new ApiError(0, "error", error instanceof Error ? error.message : String(error));
  const hint =
    e.status === 404 && context ? `${context} is not available from this Herald (404).` :
    e.status === 403 ? "This token may not see or do that (403)." : null;
  return h(
    "div",
    { class: "alert", role: "alert" },
    h("strong", null, hint ?? e.message),
    hint ? h("div", { class: "muted" }, e.message) : null,
    // The code is what to search the docs and logs for; network errors have none from Herald.
    e.status > 0 ? h("div", { class: "muted small error-code" }, `${e.code} (HTTP ${e.status})`) : null,
    e.details.length ? h("ul", null, e.details.map((d) => h("li", null, `${d.path}: ${d.message}`))) : null,
  );
}

/**
 * What a person calls a destination: a config one by its id (the name someone chose),
 * an API one by its description, else its URL's host ("hooks.example.com"). The one
 * naming rule of the console; the id stays in a tooltip or a secondary line.
 */
export function destinationName(d: Pick<Destination, "id" | "url" | "description" | "managed_by">): string {
  if (d.managed_by === "config") return d.id;
  const description = d.description.trim();
  if (description) return description.length > 60 ? `${description.slice(0, 59)}…` : description;
  try {
    return new URL(d.url).host || d.id;
  } catch {
    return d.id;
  }
}

/** A destination id as its name, the id in the tooltip; an id not among `known` (deleted, or out of scope) stays an id. */
export function destinationRef(id: string, known: ReadonlyMap<string, Destination>): HTMLElement {
  const d = known.get(id);
  const name = d ? destinationName(d) : id;
  return h("span", { class: name === id ? "dest-name mono" : "dest-name", title: name === id ? undefined : id, "data-destination-id": id }, name);
}
