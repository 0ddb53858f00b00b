// The Herald that the publish A/B benches (ingest-ab.ts, publish-ab.ts) start
// from each source tree: SQLite with `synchronous: full`, one admin token, one
// event type, its one destination disabled so nothing is sent.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TOKEN = "bench-token-0123456789abcdef";
export const TYPE = "order.created";
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/** One event's body as the bench's load generator publishes it. */
export const orderEvent = (i: number) => ({ type: TYPE, data: { order_id: i, customer: "c-" + (i % 977), amount: 4200, sent_at: Date.now() } });

/** Starts `tree`'s Herald (its own src/, imported from there) on a fresh database; `server` adds server settings. */
export async function startTree(tree: string, server: Record<string, unknown> = {}) {
  const { createApp } = await import(join(tree, "src/app.ts"));
  const { validateConfig } = await import(join(tree, "src/config/schema.ts"));
  const dir = mkdtempSync(join(tmpdir(), "herald-publish-ab-"));
  const checked = validateConfig({
    server: { host: "127.0.0.1", port: 0, ...server },
    storage: { path: join(dir, "herald.db"), synchronous: "full" },
    auth: { tokens: [{ name: "bench", role: "admin", token: TOKEN }] },
    delivery: { https_only: false, allow_hosts: ["127.0.0.1"] },
    event_types: [{ name: TYPE, description: "bench" }],
    destinations: [{ id: "sink", url: "http://127.0.0.1:9/hook", enabled: false }],
    subscriptions: [{ id: "sink-all", destination: "sink", event_types: [TYPE] }],
  });
  if (!checked.ok) throw new Error(`${tree}: ${JSON.stringify(checked.errors)}`);
  const app = await createApp(checked.config, { log: silent });
  const { url } = (await app.start()) as { url: string };
  return {
    tree,
    app,
    url,
    async stop(): Promise<void> {
      await app.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
