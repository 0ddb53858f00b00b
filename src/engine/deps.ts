// What the engine takes from the outside world, passed in so tests can drive
// time and randomness and sweeps can run with `runOnce(now)` instead of sleeping.
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

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** One JSON line per message on stderr; callers never pass secrets in `fields`. */
export const jsonLogger: Logger = {
  info: (message, fields) => writeLine("info", message, fields),
  warn: (message, fields) => writeLine("warn", message, fields),
  error: (message, fields) => writeLine("error", message, fields),
};

export const silentLogger: Logger = { info() {}, warn() {}, error() {} };

function writeLine(level: string, message: string, fields?: Record<string, unknown>): void {
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }) + "\n");
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The engine's timer on the real clock. */
export function realTimer(fn: () => void, ms: number): () => void {
  const handle = setTimeout(fn, ms);
  handle.unref?.();
  return () => clearTimeout(handle);
}
