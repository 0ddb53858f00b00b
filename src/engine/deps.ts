// What the engine takes from the outside world, passed in so tests can drive
// time and randomness and sweeps can run with `runOnce(now)` instead of sleeping.
import { createLogger, type Logger } from "./logger.ts";

export type { Logger };
export interface EngineDeps {
  /**
   * This process's instance id (`ins_` + UUIDv7), named by every lease it
   * takes, so instances sharing a database never take each other's live work.
   */
  instance: string;
  now: () => number;
  /**
   * Runs `fn` once `ms` have passed on the engine's clock; answers a cancel. The
   * real one never keeps the process alive on its own; tests pass their clock's,
   * which fires as they advance it.
   */
  timer: (fn: () => void, ms: number) => () => void;
  random: () => number;
  fetch: typeof fetch;
  log: Logger;
}


/** Herald's logger at the default level (info): one JSON line per message on stdout (logger.ts). */
export const jsonLogger: Logger = createLogger("info");

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The engine's timer on the real clock. */
export function realTimer(fn: () => void, ms: number): () => void {
  const handle = setTimeout(fn, ms);
  handle.unref?.();
  return () => clearTimeout(handle);
}
