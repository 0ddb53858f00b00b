// Destinations with their health over the last 24 hours, and what can be done to
// them: enable, disable (with a reason), send a test event, recover failed
// deliveries since a time; what each is subscribed to, and links to create,
// change and delete them (destination-form.ts), config ones read-only.
import { get, getAll, post } from "../api.ts";
import { fill, h } from "../dom.ts";
import { doneNotice, listHead } from "../list-head.ts";
import { badge, bodyBlock, destinationName, duration, errorBox, httpBadge, percent, when } from "../format.ts";
import type { PageContext } from "../page.ts";
import { mayManage, whoAmI, type Me } from "../session.ts";
import { signatureLine } from "./destination-signature.ts";
import type { Attempt, Destination, DestinationStats, Subscription } from "../types.ts";
import { allSubscriptions } from "./subscriptions.ts";

const DAY_MS = 86_400_000;
/** The most ids GET /v1/stats/destinations takes in one request (MAX_STATS_IDS, src/http/routes/stats.ts). */
const STATS_CHUNK = 100;

/**
 * Every destination's stats since `since`, in the destinations' order: one
 * request per STATS_CHUNK of them (one for most consoles), not one per card. A
 * chunk's failure is each of its cards' error; one its answer leaves out (deleted
 * since the list was read) says so on its card.
 */
async function statsOf(destinations: Destination[], since: string, signal: AbortSignal): Promise<(DestinationStats | Error)[]> {
  const chunks: Destination[][] = [];
  for (let i = 0; i < destinations.length; i += STATS_CHUNK) chunks.push(destinations.slice(i, i + STATS_CHUNK));
  const answers = await Promise.all(
    chunks.map((chunk) => get<{ data: DestinationStats[] }>("/v1/stats/destinations", { ids: chunk.map((d) => d.id).join(","), since }, signal).catch((e: Error) => e)),
  );
  return chunks.flatMap((chunk, i) => {
    const answer = answers[i]!;
    if (answer instanceof Error) return chunk.map(() => answer);
    const byId = new Map(answer.data.map((s) => [s.destination_id, s]));
    return chunk.map((d) => byId.get(d.id) ?? new Error(`Herald has no statistics for ${d.id}: it may have just been deleted.`));
  });
}

/** The value a datetime-local input shows for an instant, in local time. */
function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function healthBadge(d: Destination): HTMLElement {
  if (!d.enabled) return badge("disabled", "disabled");
  if (d.failing_since) return badge("failing", "failing");
  return badge("enabled", "healthy");
}

/** The circuit breaker, when it is not closed: deliveries wait, one probe goes out each interval. */
export function breakerBadge(d: Destination): HTMLElement | null {
  if (d.breaker === "closed") return null;
  const next = d.breaker_next_probe_at ? ` Next probe: ${new Date(d.breaker_next_probe_at).toLocaleString()}.` : "";
  const title = `Circuit breaker open since ${d.breaker_opened_at ? new Date(d.breaker_opened_at).toLocaleString() : "?"}: deliveries wait, pending.${next}`;
  return badge("breaker", d.breaker === "half_open" ? "breaker half open" : "breaker open", title);
}

/** An ordered destination whose failed head waits for its retry, holding back those behind it. */
function headHold(d: Destination): HTMLElement | null {
  const hold = d.held_by_head;
  if (!hold) return null;
  return h(
    "p",
    { class: "warn inline", "data-held-by-head": hold.delivery_id },
    h("strong", null, "Held back by its head: "),
    h("span", { class: "mono" }, hold.delivery_id),
    ` failed ${hold.attempts} ${hold.attempts === 1 ? "time" : "times"}${hold.last_error ? ` (${hold.last_error})` : ""}; next try `,
    when(hold.next_attempt_at),
    `. ${hold.waiting} ${hold.waiting === 1 ? "delivery waits" : "deliveries wait"} behind it, in order.`,
  );
}

function statsView(stats: DestinationStats | Error): HTMLElement {
  if (stats instanceof Error) return h("div", { class: "stats" }, errorBox(stats, "Delivery statistics"));
  const c = stats.counts;
  return h(
    "dl",
    { class: "facts stats" },
    h("dt", null, "Success rate (24 h)"), h("dd", { class: "big" }, percent(stats.success_rate)),
    h("dt", null, "Deliveries (24 h)"),
    h("dd", null, `${c.succeeded} succeeded · ${c.failed} failed · ${c.pending} pending · ${c.delivering} in flight`),
    h("dt", null, "Last success"), h("dd", null, when(stats.last_success_at, "none")),
    h("dt", null, "Last failure"), h("dd", null, when(stats.last_failure_at, "none")),
    stats.last_error ? [h("dt", null, "Last error"), h("dd", { class: "error-text" }, stats.last_error)] : null,
  );
}

function testResult(result: { ok: boolean; attempt: Attempt }): HTMLElement {
  const a = result.attempt;
  return h(
    "div",
    { class: `result ${result.ok ? "result-ok" : "result-error"}`, role: "status" },
    h("p", null, result.ok ? badge("ok", "test accepted") : badge("error", "test failed"), " ", a.response ? httpBadge(a.response.status) : null, " ", h("span", { class: "muted" }, duration(a.duration_ms))),
    a.error ? h("p", { class: "error-text" }, a.error) : null,
    a.response ? bodyBlock(a.response.body, "Response body") : null,
  );
}

/** What the destination receives: each subscription's patterns (and whether a filter narrows it). */
function subscribedTo(d: Destination, subs: Subscription[] | Error, manage: boolean): HTMLElement {
  if (subs instanceof Error) return h("div", { class: "subscribed" }, errorBox(subs, "Its subscriptions"));
  const mine = subs.filter((s) => s.destination_id === d.id);
  const add = manage ? h("a", { href: `#/subscriptions/new?destination=${encodeURIComponent(d.id)}`, class: "small" }, "Subscribe it to…") : null;
  if (mine.length === 0) return h("p", { class: "subscribed muted" }, "Subscribed to nothing: it receives no events. ", add);
  return h(
    "div",
    { class: "subscribed" },
    h("span", null, "Subscribed to: "),
    h(
      "ul",
      { class: "inline-list" },
      mine.map((s) =>
        h(
          "li",
          { "data-subscription-id": s.id, title: s.id },
          h("span", { class: "mono" }, s.event_types.join(", ")),
          s.filter ? h("span", { class: "tag", title: JSON.stringify(s.filter) }, "filtered") : null,
          !s.enabled ? h("span", { class: "tag" }, "off") : null,
        ),
      ),
    ),
    " ",
    add,
  );
}

function destinationCard(d: Destination, stats: DestinationStats | Error, subs: Subscription[] | Error, me: Me | null, reload: () => void): HTMLElement {
  const out = h("div", { class: "action-output", "aria-live": "polite" });
  const busy = async (button: HTMLButtonElement, work: () => Promise<void>) => {
    button.disabled = true;
    try {
      await work();
    } catch (error) {
      fill(out, errorBox(error));
    } finally {
      button.disabled = false;
    }
  };

  const toggle = h("button", { type: "button", class: "secondary", "data-action": d.enabled ? "disable" : "enable" }, d.enabled ? "Disable" : "Enable");
  const reason = h("input", { id: `reason-${d.id}`, placeholder: "reason (optional)", "aria-label": `Reason for disabling ${d.id}` });
  toggle.addEventListener("click", () =>
    busy(toggle, async () => {
      if (d.enabled) await post(`/v1/destinations/${encodeURIComponent(d.id)}/disable`, reason.value.trim() ? { reason: reason.value.trim() } : {});
      else await post(`/v1/destinations/${encodeURIComponent(d.id)}/enable`, {});
      reload();
    }),
  );

  const test = h("button", { type: "button", class: "secondary", "data-action": "test" }, "Send test event");
  test.addEventListener("click", () =>
    busy(test, async () => {
      fill(out, h("p", { class: "muted" }, "Sending a test event…"));
      fill(out, testResult(await post(`/v1/destinations/${encodeURIComponent(d.id)}/test`, {})));
    }),
  );

  const since = h("input", { id: `recover-${d.id}`, type: "datetime-local", step: "1", value: localInput(Date.now() - DAY_MS), required: true });
  const recover = h("button", { type: "submit", class: "secondary", "data-action": "recover" }, "Recover failed");
  const recoverForm = h("form", { class: "inline-form" }, h("label", { for: `recover-${d.id}` }, "Re-queue failed deliveries since"), h("div", { class: "row" }, since, recover));
  recoverForm.addEventListener("submit", (e) => {
    e.preventDefault();
    void busy(recover, async () => {
      if (!since.value) throw new Error("Choose a time to recover from.");
      const r = await post<{ requeued: number }>(`/v1/destinations/${encodeURIComponent(d.id)}/recover`, { since: new Date(since.value).toISOString() });
      fill(out, h("p", { role: "status" }, badge("ok", "recovered"), ` ${r.requeued} failed ${r.requeued === 1 ? "delivery" : "deliveries"} re-queued.`));
    });
  });

  return h(
    "section",
    { class: "card destination", id: `dst-${d.id}`, "data-destination-id": d.id, "aria-labelledby": `h-${d.id}` },
    h(
      "div",
      { class: "card-head" },
      h("h2", { id: `h-${d.id}`, title: d.id }, h("a", { href: `#/destinations/${encodeURIComponent(d.id)}`, "data-detail": d.id }, destinationName(d))),
      healthBadge(d),
      breakerBadge(d),
      d.ordered ? h("span", { class: "tag", title: "Sent one at a time, in publish order" }, "ordered") : null,
      d.max_in_flight !== null ? h("span", { class: "tag", title: "Most requests to it at once" }, `≤ ${d.max_in_flight} in flight`) : null,
      d.managed_by === "config" ? h("span", { class: "tag", title: "Declared in the config file; change it there" }, "config") : null,
      d.tenant !== "default" ? h("span", { class: "tag" }, `tenant ${d.tenant}`) : null,
      h("span", { class: "spacer" }),
      d.managed_by === "api" && mayManage(me) ? h("a", { href: `#/destinations/edit/${encodeURIComponent(d.id)}`, "data-action": "edit", "aria-label": `Edit ${destinationName(d)}` }, "Edit") : null,
    ),
    // The name is for people; the id is what the API and the logs use.
    destinationName(d) !== d.id ? h("p", { class: "muted small mono" }, d.id) : null,
    d.managed_by === "config" ? h("p", { class: "muted small read-only", "data-read-only": "config" }, "Read-only here: declared in the config file; change it there.") : null,
    h("p", { class: "mono break" }, d.url),
    d.description ? h("p", null, d.description) : null,
    signatureLine(d),
    // Names only: the API never shows static header values (they often hold credentials).
    d.header_names.length ? h("p", { class: "muted" }, "Static headers: ", h("span", { class: "mono" }, d.header_names.join(", ")), " (values hidden)") : null,
    !d.enabled ? h("p", { class: "alert inline" }, h("strong", null, "Disabled: "), d.disabled_reason ?? "no reason given") : null,
    d.enabled && d.failing_since ? h("p", { class: "warn inline" }, h("strong", null, "Failing since "), when(d.failing_since)) : null,
    headHold(d),
    subscribedTo(d, subs, mayManage(me)),
    statsView(stats),
    h("div", { class: "actions-row" }, h("div", { class: "row" }, d.enabled ? reason : null, toggle), test),
    recoverForm,
    out,
  );
}

export async function destinationsPage(ctx: PageContext): Promise<void> {
  const list = h("div", { id: "destination-list", class: "cards" }, h("p", { class: "muted" }, "Loading…"));
  const me = await whoAmI();
  fill(
    ctx.main,
    listHead("Destinations", "Where events are sent, and how that is going over the last 24 hours.",
      mayManage(me) ? { href: "#/destinations/new", action: "new-destination", label: "New destination" } : null),
    doneNotice(ctx.params, () => "The destination is saved.", (id) => `${id} is deleted.`),
    list,
  );

  const load = async () => {
    // Every destination, not only the list route's first page of 1000.
    const destinations = await getAll<Destination>("/v1/destinations", {}, ctx.signal);
    const since = new Date(Date.now() - DAY_MS).toISOString();
    const [stats, subs] = await Promise.all([
      statsOf(destinations, since, ctx.signal),
      allSubscriptions(ctx.signal).catch((e: Error) => e),
    ]);
    if (ctx.signal.aborted) return;
    if (destinations.length === 0) {
      fill(list, h("p", { class: "empty" }, mayManage(me) ? "No destinations yet. Create one with “New destination”, or declare them in the config file." : "No destinations yet."));
      return;
    }
    fill(list, destinations.map((d, i) => destinationCard(d, stats[i]!, subs, me, () => void load().catch((e) => fill(list, errorBox(e))))));
    const focus = ctx.params.get("focus");
    if (focus) document.getElementById(`dst-${focus}`)?.scrollIntoView({ block: "start" });
  };
  try {
    await load();
  } catch (error) {
    if (!ctx.signal.aborted) fill(list, errorBox(error, "The destinations list"));
  }
}
