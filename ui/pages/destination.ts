// One destination (#/destinations/{id}): its signing secret (revealed on request,
// copied, rotated with a chosen grace period, both shown while the grace runs),
// and its endpoint health — success rate and latency over time, the breaker, and
// every reason it is held back now — from GET /v1/destinations/{id}/health.
import { ApiError, get, post } from "../api.ts";
import { fill, h, svg } from "../dom.ts";
import { badge, copyButton, duration, errorBox, localTime, percent, when } from "../format.ts";
import { every, type PageContext } from "../page.ts";
import type { Destination, EndpointHealth } from "../types.ts";

type Range = "24h" | "7d";
const GRACES = [["0s", "none: the old secret stops now"], ["1h", "1 hour"], ["24h", "24 hours"], ["7d", "7 days"]] as const;
const REFRESH_MS = 10_000;

/** GET …/secret: an HMAC destination's secrets, or an ed25519 one's public keys (its private key is never shown). */
type Secrets =
  | { secret: string; previous: { secret: string; expires_at: string }[] }
  | { public_key: string; previous_public_keys: { public_key: string; expires_at: string }[] };

/** A secret in a read-only field (select it to copy by hand where the clipboard is refused) with a copy button. */
function secretField(id: string, label: string, value: string, note?: HTMLElement | null): HTMLElement {
  const field = h("input", { id, class: "mono secret", readonly: true, value, spellcheck: "false", autocomplete: "off" });
  field.addEventListener("focus", () => field.select());
  const copy = copyButton("Copy", () => value);
  // When the clipboard is refused (no secure context), the text is selected for a manual copy.
  copy.addEventListener("click", () => setTimeout(() => copy.textContent?.startsWith("Copy failed") && (field.focus(), field.select()), 0));
  return h("div", { class: "field" }, h("label", { for: id }, label), h("div", { class: "row" }, field, copy), note ?? null);
}

function secretsView(answer: Secrets): HTMLElement {
  // ed25519 (v1a): the public keys receivers verify with, shown the same way.
  const s = "public_key" in answer
    ? { secret: answer.public_key, previous: answer.previous_public_keys.map((p) => ({ secret: p.public_key, expires_at: p.expires_at })) }
    : answer;
  const what = "public_key" in answer ? "public key (ed25519, v1a)" : "signing secret";
  return h(
    "div",
    { id: "secrets", "data-secret-count": 1 + s.previous.length },
    secretField("secret-current", `Current ${what}`, s.secret),
    s.previous.map((p, i) =>
      secretField(`secret-previous-${i}`, `Previous ${what}, still signing during the grace period`, p.secret, h("p", { class: "small warn inline", "data-expires-at": p.expires_at }, "Stops being used ", when(p.expires_at))),
    ),
    s.previous.length ? h("p", { class: "muted small" }, "Until then every message carries a signature for each secret: receivers may switch to the new one at any time.") : null,
  );
}

function secretsCard(d: Destination): HTMLElement {
  const base = `/v1/destinations/${encodeURIComponent(d.id)}`;
  const out = h("div", { id: "secret-view", "aria-live": "polite" });
  const reveal = h("button", { type: "button", class: "secondary", "data-action": "reveal" }, "Reveal secret");
  const show = async () => fill(out, secretsView(await get<Secrets>(`${base}/secret`)));
  reveal.addEventListener("click", async () => {
    reveal.disabled = true;
    try {
      await show();
      reveal.hidden = true;
    } catch (error) {
      fill(out, errorBox(error));
    } finally {
      reveal.disabled = false;
    }
  });

  const grace = h("select", { id: "rotate-grace" }, GRACES.map(([value, label]) => h("option", { value, selected: value === "24h" }, label)));
  const rotate = h("button", { type: "submit", class: "secondary", "data-action": "rotate" }, "Rotate secret");
  const form = h(
    "form",
    { class: "inline-form", id: "rotate-form" },
    h("label", { for: "rotate-grace" }, "Rotate, keeping the old secret valid for"),
    h("div", { class: "row" }, grace, rotate),
  );
  const status = h("p", { class: "small", role: "status" });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    rotate.disabled = true;
    try {
      const r = await post<{ secret: string; previous_expires_at: string }>(`${base}/rotate-secret`, { grace_period: grace.value });
      fill(status, badge("ok", "rotated"), " The old secret stops ", when(r.previous_expires_at), ".");
      await show();
      reveal.hidden = true;
    } catch (error) {
      fill(out, errorBox(error));
    } finally {
      rotate.disabled = false;
    }
  });
  const configOwned = d.managed_by === "config";
  return h(
    "section",
    { class: "card", "aria-labelledby": "h-secret" },
    h("h2", { id: "h-secret" }, "Signing secret"),
    h("p", { class: "muted small" }, "Receivers verify each message with it (Standard Webhooks). It is shown only when asked for."),
    reveal,
    out,
    configOwned ? h("p", { class: "muted small" }, "Declared in the config file: rotate it there.") : form,
    status,
  );
}

/** Attempts per bucket (succeeded / failed, stacked) with the p95 latency as a line over them. */
function healthChart(health: EndpointHealth): HTMLElement {
  const W = 1000;
  const H = 200;
  const b = health.buckets;
  const max = Math.max(1, ...b.map((x) => x.attempts));
  const maxMs = Math.max(1, ...b.map((x) => x.p95_ms ?? 0));
  const slot = W / Math.max(1, b.length);
  const barW = Math.max(2, slot * 0.7);
  const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  const p50: string[] = [];
  const p95: string[] = [];
  b.forEach((x, i) => {
    const bar = svg("g", { class: "bar" });
    const failed = x.attempts - x.succeeded;
    bar.append(svg("title", {}, `${localTime(x.start)}: ${x.attempts} attempts, ${x.succeeded} succeeded` + (x.p50_ms === null ? "" : `, p50 ${duration(x.p50_ms)}, p95 ${duration(x.p95_ms!)}`)));
    bar.append(svg("rect", { class: "hit", x: (i * slot).toFixed(1), y: 0, width: slot.toFixed(1), height: H }));
    const left = (i * slot + (slot - barW) / 2).toFixed(1);
    const hOk = (H * x.succeeded) / max;
    const hFail = (H * failed) / max;
    if (x.succeeded) bar.append(svg("rect", { class: "fill-succeeded", x: left, y: (H - hOk).toFixed(1), width: barW.toFixed(1), height: hOk.toFixed(1) }));
    if (failed) bar.append(svg("rect", { class: "fill-failed", x: left, y: (H - hOk - hFail).toFixed(1), width: barW.toFixed(1), height: hFail.toFixed(1) }));
    const cx = (i * slot + slot / 2).toFixed(1);
    if (x.p50_ms !== null) p50.push(`${cx},${(H - (H * x.p50_ms) / maxMs).toFixed(1)}`);
    if (x.p95_ms !== null) p95.push(`${cx},${(H - (H * x.p95_ms) / maxMs).toFixed(1)}`);
    plot.append(bar);
  });
  if (p50.length) plot.append(svg("polyline", { class: "line-p50", points: p50.join(" ") }));
  if (p95.length) plot.append(svg("polyline", { class: "line-p95", points: p95.join(" ") }));
  const total = b.reduce((n, x) => n + x.attempts, 0);
  const ok = b.reduce((n, x) => n + x.succeeded, 0);
  plot.setAttribute("aria-label", `${total} attempts, ${ok} succeeded; latency lines scaled to ${duration(maxMs)}`);
  const first = b[0];
  const last = b[b.length - 1];
  return h(
    "figure",
    { class: "chart", id: "health-chart" },
    h("div", { class: "chart-plot" }, h("div", { class: "chart-y", "aria-hidden": "true" }, h("span", null, String(max)), h("span", null, "0")), plot as unknown as HTMLElement),
    h("div", { class: "chart-x", "aria-hidden": "true" }, first ? h("span", null, localTime(first.start)) : null, last ? h("span", null, localTime(last.start)) : null),
    h(
      "figcaption",
      { class: "legend" },
      h("span", null, h("span", { class: "swatch fill-succeeded", "aria-hidden": "true" }), ` succeeded (${ok})`),
      h("span", null, h("span", { class: "swatch fill-failed", "aria-hidden": "true" }), ` failed (${total - ok})`),
      h("span", null, h("span", { class: "swatch line-p50", "aria-hidden": "true" }), " p50 latency"),
      h("span", null, h("span", { class: "swatch line-p95", "aria-hidden": "true" }), ` p95 latency (top: ${duration(maxMs)})`),
    ),
  );
}

/** The buckets with attempts, as a table: the chart's numbers for keyboard and screen-reader users. */
function bucketTable(health: EndpointHealth): HTMLElement {
  const rows = health.buckets.filter((b) => b.attempts > 0);
  return h(
    "details",
    null,
    h("summary", null, "The numbers"),
    rows.length
      ? h(
          "table",
          { class: "list", id: "health-buckets" },
          h("thead", null, h("tr", null, ["From", "Attempts", "Succeeded", "p50", "p95"].map((t) => h("th", { scope: "col" }, t)))),
          h("tbody", null, rows.map((b) => h("tr", null, h("td", null, localTime(b.start)), h("td", null, String(b.attempts)), h("td", null, String(b.succeeded)), h("td", null, b.p50_ms === null ? "—" : duration(b.p50_ms)), h("td", null, b.p95_ms === null ? "—" : duration(b.p95_ms!))))),
        )
      : h("p", { class: "muted" }, "No attempts in this window."),
  );
}

function heldBackView(health: EndpointHealth): HTMLElement {
  if (health.held_back.length === 0) return h("p", { id: "held-back", class: "muted" }, badge("ok", "not held back"), " Nothing holds its deliveries back now.");
  return h(
    "ul",
    { id: "held-back", class: "held-back" },
    health.held_back.map((r) => h("li", { class: "warn inline", "data-reason": r.reason }, h("strong", null, `${r.reason.replace(/_/g, " ")}: `), r.message, r.until ? [" (until ", when(r.until), ")"] : null)),
  );
}

function healthView(health: EndpointHealth): HTMLElement {
  const c = health.counts;
  return h(
    "div",
    null,
    h("h3", null, "Held back?"),
    heldBackView(health),
    h(
      "dl",
      { class: "facts" },
      h("dt", null, "Success rate"),
      h("dd", { class: "big", id: "health-rate", title: "succeeded / (succeeded + failed + still retrying after a failure)" }, percent(health.success_rate)),
      h("dt", null, "Deliveries"),
      h("dd", null, `${c.succeeded} succeeded, ${c.failed} failed, ${health.retrying} retrying, ${c.pending - Math.min(c.pending, health.retrying)} waiting`),
      h("dt", null, "Breaker"),
      h("dd", { id: "health-breaker" }, badge(health.breaker === "closed" ? "ok" : "error", health.breaker.replace("_", " ")), health.breaker_next_probe_at ? [" next probe ", when(health.breaker_next_probe_at)] : null),
      h("dt", null, "In flight"),
      h("dd", { id: "health-in-flight" }, health.max_in_flight === null ? String(health.in_flight) : `${health.in_flight} of ${health.max_in_flight}`),
      h("dt", null, "Due now"),
      h("dd", null, String(health.due)),
    ),
    h("p", { class: "muted small" }, "Success rate: of the deliveries created in the window, those that succeeded, against every one that succeeded, failed, or failed at least once and is still retrying."),
    healthChart(health),
    bucketTable(health),
  );
}

export async function destinationPage(ctx: PageContext): Promise<void> {
  const id = ctx.path[1]!;
  const base = `/v1/destinations/${encodeURIComponent(id)}`;
  let range: Range = ctx.params.get("range") === "7d" ? "7d" : "24h";
  const healthBox = h("div", { id: "health", "aria-live": "polite" }, h("p", { class: "muted" }, "Loading…"));
  const switcher = h("div", { class: "segmented", role: "group", "aria-label": "Health window" });
  const head = h("div", { class: "page-head" }, h("p", null, h("a", { href: "#/destinations" }, "← Destinations")), h("h1", { class: "break" }, id));
  fill(ctx.main, head, h("p", { class: "muted" }, "Loading…"));

  let d: Destination;
  try {
    d = await get<Destination>(base, undefined, ctx.signal);
  } catch (error) {
    if (!ctx.signal.aborted) fill(ctx.main, head, errorBox(error, error instanceof ApiError && error.status === 404 ? `Destination ${id}` : undefined));
    return;
  }
  const loadHealth = async () => {
    const health = await get<EndpointHealth>(`${base}/health`, { range }, ctx.signal);
    if (!ctx.signal.aborted) fill(healthBox, healthView(health));
  };
  const showSwitcher = () =>
    fill(
      switcher,
      (["24h", "7d"] as Range[]).map((r) => {
        const button = h("button", { type: "button", class: "secondary", "aria-pressed": String(r === range), "data-range": r }, r === "24h" ? "Last 24 h (hourly)" : "Last 7 days (daily)");
        button.addEventListener("click", () => {
          range = r;
          showSwitcher();
          void loadHealth().catch((e) => fill(healthBox, errorBox(e)));
        });
        return button;
      }),
    );
  showSwitcher();
  fill(
    ctx.main,
    head,
    h("p", { class: "mono break" }, d.url),
    d.description ? h("p", null, d.description) : null,
    h("section", { class: "card", "aria-labelledby": "h-health" }, h("div", { class: "section-head" }, h("h2", { id: "h-health" }, "Endpoint health"), switcher), healthBox),
    secretsCard(d),
  );
  try {
    await loadHealth();
  } catch (error) {
    if (!ctx.signal.aborted) fill(healthBox, errorBox(error, "Endpoint health (GET …/health)"));
  }
  every(ctx, REFRESH_MS, async () => {
    if (document.visibilityState === "visible") await loadHealth();
  });
}
