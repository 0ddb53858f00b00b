// `herald healthcheck`: asks a running Herald's /readyz whether it is ready, so
// a container's HEALTHCHECK needs nothing but the binary (no curl in the image).
import type { Config } from "./config/schema.ts";
import { errorMessage } from "./engine/deps.ts";

export interface Readiness {
  ready: boolean;
  /** One line for a person or `docker inspect`: why it is (not) ready. */
  reason: string;
}

/**
 * The URL Herald listens on, as seen from the same machine: HERALD_HOST /
 * HERALD_PORT when set (they override the config for `serve` too), else the
 * config's server section. A wildcard host (0.0.0.0, ::) is reached on loopback.
 */
export function localUrl(server: Config["server"], env: Record<string, string | undefined>): string {
  const host = env.HERALD_HOST || server.host;
  const port = env.HERALD_PORT || String(server.port);
  const reachable = host === "" || host === "0.0.0.0" || host === "::" || host === "[::]" ? "127.0.0.1" : host;
  return `http://${reachable.includes(":") && !reachable.startsWith("[") ? `[${reachable}]` : reachable}:${port}`;
}

/**
 * GETs `<base>/readyz`. Ready only on a 200 answer within `timeout_ms`; a 503
 * (starting, draining, store not writable) says why, with Herald's own message.
 */
export async function checkReadiness(base: string, timeout_ms = 2_000, fetcher: typeof fetch = fetch): Promise<Readiness> {
  // Appended, not resolved: a Herald behind a proxy at /herald/ is probed at /herald/readyz.
  const url = base.replace(/\/+$/, "") + "/readyz";
  try {
    const response = await fetcher(url, { signal: AbortSignal.timeout(timeout_ms), redirect: "manual" });
    const text = await response.text();
    if (response.status === 200) return { ready: true, reason: `ready (${url})` };
    let detail = "";
    try {
      const body = JSON.parse(text) as { message?: unknown };
      if (typeof body.message === "string") detail = `: ${body.message}`;
    } catch {
      // Not Herald's JSON (another program on the port): the status says enough.
    }
    return { ready: false, reason: `not ready: ${url} answered ${response.status}${detail}` };
  } catch (error) {
    const why = error instanceof DOMException && error.name === "TimeoutError" ? `no answer within ${timeout_ms} ms` : errorMessage(error);
    return { ready: false, reason: `not ready: cannot reach ${url} (${why})` };
  }
}
