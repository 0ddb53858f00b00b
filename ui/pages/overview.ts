// The overview: deliveries in the last hour and day by outcome, the success
// rate, a chart of deliveries over time, destinations that need attention and
// the latest failures.
import { get, getAll } from "../api.ts";
import { fill, h, svg } from "../dom.ts";
import { destinationName, destinationRef, errorBox, localTime, percent, statusBadge, when } from "../format.ts";
import { every, type PageContext } from "../page.ts";
import type { Delivery, Destination, ListPage, Stats } from "../types.ts";
import { healthBadge } from "./destinations.ts";

const HOUR_MS = 3_600_000;
const RANGES = {
  hour: { label: "Last hour", ms: HOUR_MS, bucket: "5m", bucket_ms: 5 * 60_000 },
  day: { label: "Last 24 hours", ms: 24 * HOUR_MS, bucket: "1h", bucket_ms: HOUR_MS },
} as const;
type Range = keyof typeof RANGES;
const SERIES = [
  { key: "succeeded", label: "succeeded" },
  { key: "failed", label: "failed" },
  { key: "retrying", label: "retrying" },
] as const;

function countsView(range: Range, stats: Stats): HTMLElement {
  const c = stats.counts;
  const tile = (label: string, value: string, cls: string) => h("div", { class: `tile ${cls}` }, h("div", { class: "tile-value" }, value), h("div", { class: "tile-label" }, label));
  return h(
    "section",
    { class: "card", "aria-labelledby": `h-${range}`, "data-range": range },
    h("h2", { id: `h-${range}` }, RANGES[range].label),
    h(
      "div",
      { class: "tiles" },
      tile("success rate", percent(stats.success_rate), "tile-rate"),
      tile("succeeded", String(c.succeeded), "tile-succeeded"),
      tile("failed", String(c.failed), "tile-failed"),
      tile("pending / retrying", String(c.pending), "tile-retrying"),
      tile("in flight", String(c.delivering), "tile-delivering"),
    ),
  );
}

/** The API lists only buckets that hold deliveries; the chart shows every bucket of the window. */
function everyBucket(stats: Stats, bucketMs: number): Stats["series"] {
  const known = new Map(stats.series.map((s) => [Date.parse(s.start), s]));
  const out: Stats["series"] = [];
  const until = Date.parse(stats.until);
  for (let t = Math.floor(Date.parse(stats.since) / bucketMs) * bucketMs; t < until; t += bucketMs) {
    out.push(known.get(t) ?? { start: new Date(t).toISOString(), succeeded: 0, failed: 0, retrying: 0 });
  }
  return out;
}

function chart(stats: Stats, range: Range): HTMLElement {
  const series = everyBucket(stats, RANGES[range].bucket_ms);
  // Bars are drawn in a fixed 1000×200 box stretched to the figure; labels are HTML so text never stretches.
  const W = 1000;
  const H = 200;
  const max = Math.max(1, ...series.map((s) => s.succeeded + s.failed + s.retrying));
  const slot = W / Math.max(1, series.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => H * (1 - v / max);
  const total = (k: (typeof SERIES)[number]["key"]) => series.reduce((n, s) => n + s[k], 0);
  const plot = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img" });
  series.forEach((s, i) => {
    const x = i * slot + (slot - barW) / 2;
    let base = 0;
    const bar = svg("g", { class: "bar" });
    const end = new Date(Date.parse(s.start) + RANGES[range].bucket_ms).toISOString();
    bar.append(svg("title", {}, `${localTime(s.start)}–${localTime(end)}: ${s.succeeded} succeeded, ${s.failed} failed, ${s.retrying} retrying`));
    // A full-height transparent rect gives every bucket a hover target and tooltip.
    bar.append(svg("rect", { class: "hit", x: (i * slot).toFixed(1), y: 0, width: slot.toFixed(1), height: H }));
    for (const { key } of SERIES) {
      const v = s[key];
      if (v > 0) bar.append(svg("rect", { class: `fill-${key}`, x: x.toFixed(1), y: y(base + v).toFixed(1), width: barW.toFixed(1), height: (y(base) - y(base + v)).toFixed(1) }));
      base += v;
    }
    plot.append(bar);
  });
  plot.setAttribute("aria-label", `${RANGES[range].label}: ${total("succeeded")} succeeded, ${total("failed")} failed, ${total("retrying")} retrying`);
  const first = series[0];
  const last = series[series.length - 1];
  return h(
    "figure",
    { class: "chart" },
    h(
      "div",
      { class: "chart-plot" },
      h("div", { class: "chart-y", "aria-hidden": "true" }, h("span", null, String(max)), h("span", null, "0")),
      plot as unknown as HTMLElement,
    ),
    h("div", { class: "chart-x", "aria-hidden": "true" }, first ? h("span", null, localTime(first.start)) : null, last ? h("span", null, localTime(last.start)) : null),
    h("figcaption", { class: "legend" }, SERIES.map(({ key, label }) => h("span", null, h("span", { class: `swatch fill-${key}`, "aria-hidden": "true" }), ` ${label} (${total(key)})`))),
  );
}

export async function overviewPage(ctx: PageContext): Promise<void> {
  let range: Range = ctx.params.get("range") === "hour" ? "hour" : "day";
  const countsBox = h("div", { class: "grid-2", id: "overview-counts" }, h("p", { class: "muted" }, "Loading…"));
  const chartBox = h("div", { id: "overview-chart" });
  const switcher = h("div", { class: "segmented", role: "group", "aria-label": "Chart range" });
  const attention = h("div", { id: "overview-attention" }, h("p", { class: "muted" }, "Loading…"));
  const failures = h("div", { id: "overview-failures" }, h("p", { class: "muted" }, "Loading…"));
  fill(
    ctx.main,
    h("div", { class: "page-head" }, h("h1", null, "Overview")),
    countsBox,
    h("section", { class: "card", "aria-labelledby": "h-chart" }, h("div", { class: "section-head" }, h("h2", { id: "h-chart" }, "Deliveries over time"), switcher), chartBox),
    h(
      "div",
      { class: "grid-2" },
      h("section", { class: "card", "aria-labelledby": "h-attention" }, h("h2", { id: "h-attention" }, "Destinations needing attention"), attention),
      h("section", { class: "card", "aria-labelledby": "h-failures" }, h("h2", { id: "h-failures" }, "Latest failed deliveries"), failures),
    ),
  );

  const stats: Partial<Record<Range, Stats>> = {};
  const drawChart = () => {
    fill(
      switcher,
      (Object.keys(RANGES) as Range[]).map((r) => {
        const b = h("button", { type: "button", class: "secondary", "aria-pressed": String(r === range) }, RANGES[r].label);
        b.addEventListener("click", () => {
          range = r;
          drawChart();
        });
        return b;
      }),
    );
    const s = stats[range];
    if (s) fill(chartBox, chart(s, range));
  };

  const loadStats = async () => {
    const now = Date.now();
    const [hour, day] = await Promise.all(
      (["hour", "day"] as Range[]).map((r) => get<Stats>("/v1/stats", { since: new Date(now - RANGES[r].ms).toISOString(), until: new Date(now).toISOString(), bucket: RANGES[r].bucket }, ctx.signal)),
    );
    stats.hour = hour;
    stats.day = day;
    fill(countsBox, countsView("hour", hour!), countsView("day", day!));
    drawChart();
  };
  // One read of the destinations per refresh, for both the attention list and the failures' names.
  // Every destination (all pages of the list route): the count and the attention list are of all of them.
  let destinations: Promise<Destination[]> = Promise.resolve([]);
  const loadAttention = async () => {
    destinations = getAll<Destination>("/v1/destinations", {}, ctx.signal);
    const all = await destinations;
    const bad = all.filter((d) => !d.enabled || d.failing_since);
    fill(
      attention,
      bad.length === 0
        ? h("p", { class: "empty" }, all.length ? `All ${all.length} destinations are healthy.` : "No destinations yet.")
        : h(
            "ul",
            { class: "plain" },
            bad.map((d) =>
              h(
                "li",
                null,
                healthBadge(d),
                " ",
                h("a", { href: `#/destinations?focus=${encodeURIComponent(d.id)}`, title: d.id }, destinationName(d)),
                " ",
                h("span", { class: "muted" }, d.enabled ? ["failing since ", when(d.failing_since)] : d.disabled_reason ?? "disabled"),
              ),
            ),
          ),
    );
  };
  /** The same read by id, for naming the failures' destinations (ids shown when it failed: the attention box says why). */
  const destinationsById = async () => new Map((await destinations.catch(() => [] as Destination[])).map((d) => [d.id, d]));
  const loadFailures = async () => {
    const [page, known] = await Promise.all([get<ListPage<Delivery>>("/v1/deliveries", { status: "failed", limit: 5 }, ctx.signal), destinationsById()]);
    fill(
      failures,
      page.data.length === 0
        ? h("p", { class: "empty" }, "No failed deliveries.")
        : h(
            "ul",
            { class: "plain" },
            page.data.map((d) =>
              h("li", null, statusBadge(d), " ", h("a", { href: `#/events/${encodeURIComponent(d.event_id)}`, class: "mono" }, d.event_id), " ", h("span", { class: "muted" }, `${d.event_type} → `, destinationRef(d.destination_id, known), " · ", when(d.finalized_at ?? d.updated_at))),
            ),
          ),
      h("p", null, h("a", { href: "#/events?status=failed" }, "All failed deliveries →")),
    );
  };

  const guarded = (fn: () => Promise<void>, box: HTMLElement, what: string) =>
    fn().catch((error) => {
      if (!ctx.signal.aborted) fill(box, errorBox(error, what));
    });
  await Promise.all([guarded(loadStats, countsBox, "Delivery statistics (GET /v1/stats)"), guarded(loadAttention, attention, "The destinations list"), guarded(loadFailures, failures, "The deliveries list")]);
  every(ctx, 15_000, async () => {
    if (document.visibilityState === "visible") await Promise.all([loadStats(), loadAttention(), loadFailures()]);
  });
}
