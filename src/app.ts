// createApp wires one Herald from a frozen config: the store, the config's
// resources reconciled into it, the engine, the tokens and the HTTP server.
import type { Config } from "./config/schema.ts";
import { reconcile, type ReconcileReport } from "./engine/reconcile.ts";
import { jsonLogger, realTimer, type EngineDeps } from "./engine/deps.ts";
import { Engine } from "./engine/engine.ts";
import { createAuthenticator } from "./http/auth.ts";
import { RequestMetrics } from "./http/request-metrics.ts";
import { createHttpApp } from "./http/server.ts";
import { newId } from "./store/ids.ts";
import { openStore } from "./store/open-store.ts";

export interface AppOptions extends Partial<EngineDeps> {
  /** Shown the admin token Herald generates when none is configured (printed once). */
  onGeneratedToken?: (token: string) => void;
  /** Where HERALD_ENCRYPTION_KEY (and _PREVIOUS) are read from; main passes process.env. Default: none set. */
  env?: Record<string, string | undefined>;
}

export type Herald = Awaited<ReturnType<typeof createApp>>;

export async function createApp(config: Config, options: AppOptions = {}) {
  const deps: EngineDeps = {
    instance: options.instance ?? newId("ins", Date.now()),
    now: options.now ?? Date.now,
    timer: options.timer ?? realTimer,
    random: options.random ?? Math.random,
    fetch: options.fetch ?? fetch,
    log: options.log ?? jsonLogger,
  };
  // The key file's notice is a warning: an operator who misses it loses every secret with a lost key.
  const store = await openStore(config.storage, { env: options.env ?? {}, notice: (message, fields) => deps.log.warn(message, fields) });
  let ready = false;
  let stopping: Promise<void> | null = null;
  let server: ReturnType<ReturnType<typeof createHttpApp>["listen"]> | null = null;
  let auth;
  const engine = new Engine(store, config, deps);
  try {
    await reconcile(config, store.catalog, deps.now());
    auth = await createAuthenticator(config, store.admin, engine.apiKeys, deps.now(), options.onGeneratedToken ?? (() => {}), engine.portalLinks);
  } catch (error) {
    await store.close();
    throw error;
  }
  const http = createHttpApp({ engine, auth, config, isReady: () => ready, requests: new RequestMetrics() });

  return {
    config,
    store,
    engine,
    http,
    /** Starts sending and listening. `port` overrides the config (0 = any free port); `sweeps: false` leaves the timers off. */
    async start(overrides: { port?: number; sweeps?: boolean } = {}): Promise<{ url: string; port: number }> {
      await engine.start({ sweeps: overrides.sweeps });
      server = http.listen({
        hostname: config.server.host,
        port: overrides.port ?? config.server.port,
        // Far above max_body, so Bun never answers an oversized body itself (with an
        // empty 413): Herald refuses it from its Content-Length before reading it, or
        // stops reading a chunked one as soon as it passes max_body (server.ts).
        maxRequestBodySize: Number.MAX_SAFE_INTEGER,
      });
      ready = true;
      const port = http.server!.port!;
      return { url: `http://${config.server.host.includes(":") ? `[${config.server.host}]` : config.server.host}:${port}`, port };
    },
    /**
     * Re-reads the resources a changed config file declares (event types,
     * destinations, subscriptions). Other settings take effect at the next start.
     */
    async reload(next: Config): Promise<ReconcileReport> {
      const report = await reconcile(next, store.catalog, deps.now());
      await engine.catalog.reload();
      engine.dispatcher.noteBacklog();
      return report;
    },
    /** Drains: stops listening, lets sends under way finish and be recorded, closes the store. */
    async stop(): Promise<void> {
      // Once: a second stop (a signal during shutdown, a test's cleanup) waits for the first.
      stopping ??= (async () => {
        ready = false;
        await server?.stop();
        await engine.stop();
        await store.close();
      })();
      return stopping;
    },
  };
}
