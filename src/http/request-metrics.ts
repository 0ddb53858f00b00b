// HTTP requests by route pattern, method and status, and their durations by
// route, for /metrics. The route is the pattern (`/v1/destinations/:id`), never
// the raw path, so the series stay as few as the routes: a path no route takes
// is counted under "unmatched".
import { Histogram, REQUEST_SECONDS } from "../engine/histogram.ts";
import { ruleFor } from "./access.ts";

/** The public routes (access.ts holds the protected ones), as their patterns. */
function publicRoute(path: string): string | null {
  if (path === "/" || path === "/healthz" || path === "/readyz" || path === "/openapi.json" || path === "/docs" || path === "/ui") return path;
  if (path.startsWith("/docs/")) return "/docs/*";
  if (path.startsWith("/ui/")) return "/ui/*";
  return null;
}

/** The route pattern a request's path belongs to: from the access table (every protected route), or the public ones. */
export function routeOf(method: string, path: string): string {
  return publicRoute(path) ?? ruleFor(method, path)?.path ?? "unmatched";
}

export interface RouteFigures {
  seconds: Histogram;
  /** method → status → count */
  counts: Map<string, Map<number, number>>;
}

export class RequestMetrics {
  readonly routes = new Map<string, RouteFigures>();

  observe(method: string, route: string, status: number, seconds: number): void {
    let figures = this.routes.get(route);
    if (!figures) this.routes.set(route, (figures = { seconds: new Histogram(REQUEST_SECONDS), counts: new Map() }));
    figures.seconds.observe(seconds);
    // A method no route knows (a client's invention) is counted as OTHER: the label stays bounded.
    const m = KNOWN_METHODS.has(method) ? method : "OTHER";
    let byStatus = figures.counts.get(m);
    if (!byStatus) figures.counts.set(m, (byStatus = new Map()));
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }
}

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
