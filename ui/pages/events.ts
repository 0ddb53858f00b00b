// The event log: newest first, filtered by type, status, destination, tenant and
// time; cursor paging; auto-refresh on the first page that can be paused.
// Status and destination belong to deliveries, so those filters list deliveries.
import { get, type Query } from "../api.ts";
import { fill, h, type Child } from "../dom.ts";
import { destinationName, destinationRef, errorBox, httpBadge, statusBadge, stillScheduled, when } from "../format.ts";
import { knownDestinations } from "../names.ts";
import { every, firstRender, href, type PageContext } from "../page.ts";
import { BulkRetry } from "./bulk-retry.ts";
import { DELIVERY_STATUSES, type Delivery, type Destination, type EventType, type HeraldEvent, type ListPage } from "../types.ts";

type Known = ReadonlyMap<string, Destination>;

const PAGE_SIZE = 50;
const REFRESH_MS = 5000;
const PAUSE_KEY = "herald.log.paused";
const FILTERS = ["type", "status", "destination", "tenant", "since", "until"] as const;

/** datetime-local values are local times; the API wants ISO instants. */
const toIso = (local: string | null) => (local ? new Date(local).toISOString() : undefined);

function cell(label: string, ...children: Child[]): HTMLTableCellElement {
  return h("td", { "data-label": label }, ...children);
}

const eventLink = (id: string) => h("a", { href: `#/events/${encodeURIComponent(id)}`, class: "mono" }, id);

/**
 * "scheduled for <time>" while a scheduled event's deliveries wait. Before its
 * deliveries are read (or when there were too many to read), a time still ahead says so.
 */
function scheduledLine(e: HeraldEvent, deliveries: Delivery[] | undefined): Child {
  const waiting = deliveries ? stillScheduled(e.deliver_at, deliveries) : e.deliver_at !== null && Date.parse(e.deliver_at) > Date.now();
  return waiting && e.deliver_at ? h("div", { class: "small scheduled" }, "scheduled for ", when(e.deliver_at)) : null;
}

/** Under a delivery's badge: when a waiting one is due, and why a cancelled one was cancelled. */
function statusDetail(d: Delivery): Child {
  if (d.status === "pending" && d.next_attempt_at) return h("div", { class: "small due" }, "due ", when(d.next_attempt_at));
  if (d.status === "cancelled" && d.last_error) return h("div", { class: "muted small reason" }, d.last_error);
  return null;
}

/** `byEvent`: undefined while the deliveries load; null when there were too many to read in one request. */
function eventsTable(events: HeraldEvent[], byEvent: Map<string, Delivery[]> | null | undefined, known: Known): HTMLElement {
  return h(
    "table",
    { class: "list", id: "log-table" },
    h("thead", null, h("tr", null, ["Time", "Event", "Type", "Tenant", "Deliveries"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      null,
      events.map((e) => {
        const deliveries = byEvent?.get(e.id);
        return h(
          "tr",
          { "data-event-id": e.id },
          cell("Time", when(e.created_at)),
          cell("Event", eventLink(e.id)),
          cell("Type", e.type),
          cell("Tenant", e.tenant),
          cell(
            "Deliveries",
            // One child per cell: on a phone each cell is a two-column grid (label, value).
            h(
              "div",
              null,
              deliveries === undefined
                ? h("span", { class: "muted" }, byEvent ? "none" : byEvent === null ? "see the event" : "…")
                : h("span", { class: "badges" }, deliveries.map((d) => h("span", { class: "dest" }, statusBadge(d), " ", h("span", { class: "muted" }, destinationRef(d.destination_id, known))))),
              scheduledLine(e, byEvent ? (deliveries ?? []) : undefined),
            ),
          ),
        );
      }),
    ),
  );
}

/** `bulk`: failed deliveries listed, each with a checkbox to retry them together (bulk-retry.ts). */
function deliveriesTable(deliveries: Delivery[], known: Known, bulk?: BulkRetry): HTMLElement {
  return h(
    "table",
    { class: "list", id: "log-table" },
    h("thead", null, h("tr", null, [...(bulk ? ["Select"] : []), "Time", "Event", "Type", "Destination", "Status", "Attempts", "Last answer"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      null,
      deliveries.map((d) =>
        h(
          "tr",
          { "data-event-id": d.event_id, "data-delivery-id": d.id },
          bulk && d.status === "failed" ? bulk.cell(d) : bulk ? cell("Select") : null,
          cell("Time", when(d.created_at)),
          cell("Event", eventLink(d.event_id)),
          cell("Type", d.event_type),
          cell("Destination", destinationRef(d.destination_id, known)),
          cell("Status", h("div", null, statusBadge(d), statusDetail(d))),
          cell("Attempts", String(d.attempt_count)),
          cell(
            "Last answer",
            d.attempt_count === 0 ? h("span", { class: "muted" }, "—") : httpBadge(d.last_status, d.last_error),
            // A cancelled delivery's last_error is the reason, shown under its status instead.
            d.last_error && d.status !== "cancelled" ? h("div", { class: "muted small clip", title: d.last_error }, d.last_error) : null,
          ),
        ),
      ),
    ),
  );
}

export async function eventsPage(ctx: PageContext): Promise<void> {
  const p = ctx.params;
  const cursor = p.get("cursor");
  const filters = Object.fromEntries(FILTERS.map((k) => [k, p.get(k) ?? ""])) as Record<(typeof FILTERS)[number], string>;
  const byDelivery = Boolean(filters.status || filters.destination);

  const typeList = h("datalist", { id: "type-options" });
  const destinationList = h("datalist", { id: "destination-options" });
  const field = (name: string, label: string, control: HTMLElement) => h("div", { class: "field" }, h("label", { for: `f-${name}` }, label), control);
  const input = (name: keyof typeof filters, attrs: Record<string, string> = {}) => h("input", { id: `f-${name}`, name, value: filters[name], ...attrs });

  const filterForm = h(
    "form",
    { class: "filters", "aria-label": "Filter the log" },
    field("type", "Event type", input("type", { list: "type-options", placeholder: "any" })),
    field(
      "status",
      "Delivery status",
      h("select", { id: "f-status", name: "status" }, h("option", { value: "" }, "any"), DELIVERY_STATUSES.map((s) => h("option", { value: s, selected: s === filters.status }, s === "pending" ? "pending / retrying" : s))),
    ),
    field("destination", "Destination", input("destination", { list: "destination-options", placeholder: "any" })),
    field("tenant", "Tenant", input("tenant", { placeholder: "any" })),
    field("since", "From", input("since", { type: "datetime-local", step: "1" })),
    field("until", "Until", input("until", { type: "datetime-local", step: "1" })),
    h("div", { class: "field actions" }, h("button", { type: "submit" }, "Apply"), h("a", { class: "button secondary", href: "#/events" }, "Clear")),
    typeList,
    destinationList,
  );
  filterForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(filterForm);
    location.hash = href("events", Object.fromEntries(FILTERS.map((k) => [k, String(data.get(k) ?? "").trim()])));
  });

  const idInput = h("input", { id: "find-id", name: "id", placeholder: "evt_…", spellcheck: "false", autocomplete: "off" });
  const findForm = h("form", { class: "find", role: "search" }, h("label", { for: "find-id" }, "Find an event by id"), h("div", { class: "row" }, idInput, h("button", { type: "submit" }, "Open")));
  findForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = idInput.value.trim();
    if (id) location.hash = `#/events/${encodeURIComponent(id)}`;
  });

  const results = h("div", { id: "log-results", "aria-live": "polite", "aria-busy": "true" }, h("p", { class: "muted" }, "Loading…"));
  const updated = h("span", { class: "muted small", id: "log-updated" });
  let paused = sessionStorage.getItem(PAUSE_KEY) === "1";
  const pauseButton = h("button", { type: "button", class: "secondary", id: "log-pause", "aria-pressed": String(paused) });
  const showPause = () => (pauseButton.textContent = paused ? "Resume auto-refresh" : "Pause auto-refresh");
  showPause();
  pauseButton.addEventListener("click", () => {
    paused = !paused;
    sessionStorage.setItem(PAUSE_KEY, paused ? "1" : "0");
    pauseButton.setAttribute("aria-pressed", String(paused));
    showPause();
  });
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  // Failed deliveries listed: they can be selected and retried together.
  const bulk = filters.status === "failed"
    ? new BulkRetry({ destination_id: filters.destination, event_type: filters.type, tenant: filters.tenant, since: toIso(filters.since), until: toIso(filters.until) }, () => load())
    : undefined;

  fill(
    ctx.main,
    h("div", { class: "page-head" }, h("h1", null, "Event log"), h("p", { class: "muted" }, byDelivery ? "Deliveries, newest first." : "Events, newest first, with the state of each delivery.")),
    findForm,
    // On a phone the filters start folded unless one is set, so the log is on the first screen.
    h("details", { class: "filter-box", open: FILTERS.some((k) => filters[k]) || matchMedia("(min-width: 721px)").matches }, h("summary", null, "Filters"), filterForm),
    h("div", { class: "toolbar" }, cursor ? h("span", { class: "muted small" }, "Older page: auto-refresh is off.") : [pauseButton, " ", updated], " "),
    bulk?.bar ?? null,
    results,
    pager,
  );

  // Suggestions for the filters, read after the log itself: the log works without them.
  const suggest = () => {
    void get<ListPage<EventType>>("/v1/event-types", undefined, ctx.signal).then((r) => fill(typeList, r.data.map((t) => h("option", { value: t.name })))).catch(() => {});
    void names.then((known) => fill(destinationList, [...known.values()].map((d) => h("option", { value: d.id }, destinationName(d))))).catch(() => {});
  };

  // Names for the destinations the log shows, read beside the log (never before it: the first render waits for nothing extra).
  const names = knownDestinations(ctx.signal);
  const query: Query = { type: filters.type, tenant: filters.tenant, since: toIso(filters.since), until: toIso(filters.until), limit: PAGE_SIZE, cursor };

  /** `progressive`: show the events at once and their deliveries when they arrive (the first load). */
  const load = async (progressive = false) => {
    let table: HTMLElement;
    let next: string | null;
    if (byDelivery) {
      const page = await get<ListPage<Delivery>>("/v1/deliveries", { ...query, type: undefined, event_type: filters.type, status: filters.status, destination: filters.destination }, ctx.signal);
      table = page.data.length ? deliveriesTable(page.data, await names, bulk) : h("p", { class: "empty" }, "No deliveries match these filters.");
      next = page.next_cursor;
    } else {
      const page = await get<ListPage<HeraldEvent>>("/v1/events", query, ctx.signal);
      next = page.next_cursor;
      if (progressive && page.data.length) {
        fill(results, eventsTable(page.data, undefined, new Map()));
        firstRender();
      }
      const [byEvent, known] = await Promise.all([page.data.length ? deliveriesFor(page.data, filters.tenant, ctx.signal) : null, names]);
      table = page.data.length ? eventsTable(page.data, byEvent, known) : h("p", { class: "empty" }, cursor ? "No older events." : "No events match these filters yet.");
    }
    if (ctx.signal.aborted) return;
    fill(results, table);
    results.setAttribute("aria-busy", "false");
    updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
    const base = Object.fromEntries(FILTERS.map((k) => [k, filters[k]]));
    fill(
      pager,
      cursor ? h("a", { href: href("events", base), class: "button secondary" }, "← Newest") : null,
      next ? h("a", { href: href("events", { ...base, cursor: next }), class: "button secondary", rel: "next" }, "Older →") : null,
    );
  };

  try {
    await load(true);
  } catch (error) {
    if (ctx.signal.aborted) return;
    fill(results, errorBox(error));
    results.setAttribute("aria-busy", "false");
  }
  suggest();
  if (!cursor) {
    every(ctx, REFRESH_MS, async () => {
      if (!paused && document.visibilityState === "visible") await load();
    });
  }
}

/**
 * The deliveries of a page of events, in one request: fan-out writes an event's
 * deliveries when it is published, so they fall in the page's time window.
 * Returns null when the window held more than one request can carry.
 */
async function deliveriesFor(events: HeraldEvent[], tenant: string, signal: AbortSignal): Promise<Map<string, Delivery[]> | null> {
  const times = events.map((e) => Date.parse(e.created_at));
  const since = new Date(Math.min(...times) - 1000).toISOString();
  const until = new Date(Math.max(...times) + 1000).toISOString();
  const page = await get<ListPage<Delivery>>("/v1/deliveries", { since, until, tenant, limit: 1000 }, signal);
  if (page.next_cursor) return null;
  const byEvent = new Map<string, Delivery[]>();
  for (const d of page.data.slice().reverse()) {
    const list = byEvent.get(d.event_id) ?? [];
    list.push(d);
    byEvent.set(d.event_id, list);
  }
  return byEvent;
}
