// One event: its payload, each destination it went to with the delivery's state,
// and every attempt (request headers as logged, already redacted by Herald).
// Retry sends a delivery again; the page follows it until it settles. A scheduled
// event says when while its deliveries wait, and those waiting can be cancelled.
import { get, post } from "../api.ts";
import { fill, h } from "../dom.ts";
import { badge, bodyBlock, codeBlock, copyButton, destinationRef, duration, errorBox, headerTable, httpBadge, prettyJson, shownStatus, statusBadge, stillScheduled, when } from "../format.ts";
import { knownDestinations } from "../names.ts";
import { every, type PageContext } from "../page.ts";
import type { Attempt, Delivery, DeliveryWithAttempts, Destination, HeraldEvent } from "../types.ts";
import { cancelControl } from "./event-cancel.ts";

const POLL_MS = 2000;
const settled = (d: Delivery) => d.status === "succeeded" || d.status === "failed" || d.status === "cancelled";

function attemptView(a: Attempt, open: boolean): HTMLElement {
  const status = a.response ? httpBadge(a.response.status) : badge("error", "no response");
  return h(
    "details",
    { class: "attempt", "data-attempt-id": a.id, "data-attempt-number": a.number, open },
    h(
      "summary",
      null,
      h("span", { class: "attempt-no" }, `Attempt ${a.number}`),
      " ",
      status,
      " ",
      h("span", { class: "muted" }, duration(a.duration_ms)),
      " ",
      when(a.started_at),
      // "HTTP 500" says no more than the badge; other errors (timeouts, refused connections) are shown.
      a.error && !(a.response && a.error === `HTTP ${a.response.status}`) ? h("span", { class: "attempt-error" }, a.error) : null,
    ),
    h(
      "div",
      { class: "attempt-body" },
      h("p", null, h("span", { class: "label" }, "POST "), h("span", { class: "mono break" }, a.request.url)),
      a.error && !(a.response && a.error === `HTTP ${a.response.status}`) ? h("p", { class: "alert inline" }, h("strong", null, "Error: "), a.error) : null,
      headerTable(a.request.headers, "Request headers"),
      a.response
        ? [headerTable(a.response.headers, "Response headers"), h("h4", null, "Response body"), bodyBlock(a.response.body, "Response body")]
        : h("p", { class: "muted" }, "No response was received."),
    ),
  );
}

function deliveryView(d: DeliveryWithAttempts, known: ReadonlyMap<string, Destination>, openAttempts: Set<string>, onRetry: (d: Delivery, button: HTMLButtonElement, note: HTMLElement) => void): HTMLElement {
  const note = h("span", { class: "small", "aria-live": "polite" });
  // A cancelled delivery is final: the API refuses to retry it, so no button offers to.
  const state = shownStatus(d);
  // A delivery not yet tried (a scheduled one, say) is sent now rather than retried.
  const retry = d.status === "cancelled" ? null : h("button", { type: "button", class: "secondary", "data-retry": d.id, disabled: d.status === "delivering" }, state === "pending" ? "Send now" : "Retry now");
  retry?.addEventListener("click", () => onRetry(d, retry, note));
  return h(
    "section",
    { class: "card delivery", "data-delivery-id": d.id, "data-status": d.status, "aria-labelledby": `h-${d.id}` },
    h(
      "div",
      { class: "card-head" },
      h("h3", { id: `h-${d.id}` }, h("a", { href: `#/destinations?focus=${encodeURIComponent(d.destination_id)}` }, destinationRef(d.destination_id, known))),
      statusBadge(d),
      h("span", { class: "spacer" }),
      retry,
      note,
    ),
    h(
      "dl",
      { class: "facts" },
      h("dt", null, "Delivery"), h("dd", { class: "mono" }, d.id),
      h("dt", null, "Destination id"), h("dd", { class: "mono" }, d.destination_id),
      h("dt", null, "Attempts"), h("dd", null, String(d.attempt_count)),
      // Not yet tried (scheduled, or just published): when it is due; after a failure: when it is tried again.
      state === "retrying" || state === "pending"
        ? [h("dt", null, state === "pending" ? "Due" : "Next attempt"), h("dd", { class: "due" }, when(d.next_attempt_at, "when the destination is enabled"))]
        : null,
      d.finalized_at ? [h("dt", null, settled(d) ? `${d.status[0]!.toUpperCase()}${d.status.slice(1)}` : "Finished"), h("dd", null, when(d.finalized_at))] : null,
      d.last_error ? [h("dt", null, d.status === "cancelled" ? "Reason" : "Last error"), h("dd", { class: "reason" }, d.last_error)] : null,
    ),
    d.attempts.length
      ? h("div", { class: "attempts" }, d.attempts.slice().reverse().map((a) => attemptView(a, openAttempts.has(a.id))))
      : h("p", { class: "muted" }, "No attempt yet."),
  );
}

export async function eventPage(ctx: PageContext): Promise<void> {
  const id = ctx.path[1]!;
  fill(ctx.main, h("p", { class: "muted" }, "Loading…"));
  let event: HeraldEvent & { deliveries: Delivery[] };
  try {
    event = await get(`/v1/events/${encodeURIComponent(id)}`, undefined, ctx.signal);
  } catch (error) {
    if (ctx.signal.aborted) return;
    fill(ctx.main, h("p", null, h("a", { href: "#/events" }, "← Event log")), h("h1", null, "Event ", h("span", { class: "mono" }, id)), errorBox(error));
    return;
  }
  const payload = prettyJson(event.data);
  const deliveriesBox = h("div", { id: "deliveries", "aria-live": "polite" });
  const deliverAt = event.deliver_at;
  // Shown while any delivery still waits; the facts keep the time for good.
  const scheduleNote = h("p", { class: "schedule-note", id: "event-schedule", hidden: true });
  // After a cancel, the answer carries every delivery: the refresh starts from it.
  const cancel = cancelControl(id, (answer) => loadDeliveries(answer.deliveries));
  fill(
    ctx.main,
    h("p", null, h("a", { href: "#/events" }, "← Event log")),
    h("div", { class: "page-head" }, h("h1", null, h("span", { class: "muted" }, "Event "), h("span", { class: "mono break", id: "event-id" }, event.id)), scheduleNote),
    h(
      "dl",
      { class: "facts" },
      h("dt", null, "Type"), h("dd", null, h("a", { href: `#/events?type=${encodeURIComponent(event.type)}` }, event.type)),
      h("dt", null, "Tenant"), h("dd", null, event.tenant),
      h("dt", null, "Published"), h("dd", null, when(event.created_at)),
      deliverAt ? [h("dt", null, "Deliver at"), h("dd", null, when(deliverAt))] : null,
    ),
    h("section", { "aria-labelledby": "h-payload" }, h("div", { class: "section-head" }, h("h2", { id: "h-payload" }, "Payload"), copyButton("Copy payload", () => payload), copyButton("Copy id", () => event.id)), codeBlock(payload, "Payload", 30)),
    h(
      "section",
      { "aria-labelledby": "h-deliveries" },
      h("div", { class: "section-head" }, h("h2", { id: "h-deliveries" }, `Deliveries (${event.deliveries.length})`), cancel.button),
      cancel.panel,
      deliveriesBox,
    ),
  );

  // Which attempts the user opened survive a refresh.
  const openAttempts = new Set<string>();
  deliveriesBox.addEventListener("toggle", (e) => {
    const el = e.target as HTMLDetailsElement;
    const attemptId = el.dataset?.attemptId;
    if (attemptId) el.open ? openAttempts.add(attemptId) : openAttempts.delete(attemptId);
  }, true);

  let deliveries: DeliveryWithAttempts[] = [];
  let followUntil = 0;
  // Destination names, read once with the first deliveries.
  const namesRead = knownDestinations(ctx.signal);
  let names: ReadonlyMap<string, Destination> = new Map();
  /** Reads each delivery with its attempts; `known` saves re-reading the event on the first load. */
  const loadDeliveries = async (known?: Delivery[]) => {
    const list = known ?? (await get<{ deliveries: Delivery[] }>(`/v1/events/${encodeURIComponent(id)}`, undefined, ctx.signal)).deliveries;
    [deliveries, names] = await Promise.all([Promise.all(list.map((d) => get<DeliveryWithAttempts>(`/v1/deliveries/${d.id}`, undefined, ctx.signal))), namesRead]);
    if (ctx.signal.aborted) return;
    if (deliveries.length === 0) fill(deliveriesBox, h("p", { class: "empty" }, "No subscription matched this event, so it was not sent anywhere."));
    else fill(deliveriesBox, deliveries.map((d) => deliveryView(d, names, openAttempts, retry)));
    scheduleNote.hidden = !stillScheduled(deliverAt, deliveries);
    if (deliverAt && !scheduleNote.hidden) fill(scheduleNote, badge("scheduled", "scheduled"), " for ", when(deliverAt));
    cancel.show(deliveries.filter((d) => d.status === "pending").length);
  };

  const retry = async (d: Delivery, button: HTMLButtonElement, note: HTMLElement) => {
    button.disabled = true;
    note.textContent = "Sending…";
    try {
      await post(`/v1/deliveries/${d.id}/retry`);
      followUntil = Date.now() + 30_000;
      await loadDeliveries();
    } catch (error) {
      button.disabled = false;
      fill(note, errorBox(error));
    }
  };

  try {
    await loadDeliveries(event.deliveries);
  } catch (error) {
    if (!ctx.signal.aborted) fill(deliveriesBox, errorBox(error));
  }
  // Follow the deliveries while any is in flight or waiting, and for a while after a retry.
  every(ctx, POLL_MS, async () => {
    if (document.visibilityState !== "visible") return;
    if (deliveries.some((d) => !settled(d)) || Date.now() < followUntil) await loadDeliveries();
  });
}
