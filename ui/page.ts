// What every console page is handed: where to draw, the route's parts, and a
// signal that aborts when the user navigates away (timers and fetches stop).

export interface PageContext {
  main: HTMLElement;
  /** The hash path split on "/": "#/events/evt_1" → ["events", "evt_1"]. */
  path: string[];
  params: URLSearchParams;
  signal: AbortSignal;
}

export type Page = (ctx: PageContext) => Promise<void> | void;

/** Runs `tick` every `ms` until the page is left; a tick never overlaps the previous one. */
export function every(ctx: PageContext, ms: number, tick: () => Promise<void>): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const loop = () => {
    timer = setTimeout(async () => {
      if (ctx.signal.aborted) return;
      try {
        await tick();
      } catch {}
      if (!ctx.signal.aborted) loop();
    }, ms);
  };
  ctx.signal.addEventListener("abort", () => clearTimeout(timer));
  loop();
}

/** The hash for a page with a query, leaving out empty values. */
export function href(path: string, params: Record<string, string | null | undefined> = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) qs.set(k, v);
  const s = qs.toString();
  return `#/${path}${s ? `?${s}` : ""}`;
}

/** Marks the moment the first page's content is on screen (once per load); `npm run bench -- console` reads it (target < 200 ms). */
export function firstRender(): void {
  if (performance.getEntriesByName("herald:rendered").length === 0) performance.mark("herald:rendered");
}
