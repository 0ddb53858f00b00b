// Herald's log: one JSON line per message on stdout (a collector reads them
// as they are), or a readable line when stdout is a terminal (a person reads
// them); messages below the configured level (log.level) are dropped.
// Callers never pass secrets, tokens or header values in `fields`.

export interface Logger {
  /** Below the default level (config log.level: debug): one line per API request. */
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Where lines go: process.stdout, or a test's collector. */
export interface LogOutput {
  write(line: string): unknown;
  isTTY?: boolean;
}

export function createLogger(level: LogLevel, output: LogOutput = process.stdout, readable = output.isTTY === true): Logger {
  const least = LOG_LEVELS.indexOf(level);
  const line = (at: LogLevel) => {
    if (LOG_LEVELS.indexOf(at) < least) return () => {};
    return (message: string, fields?: Record<string, unknown>) => {
      const time = new Date().toISOString();
      output.write(readable ? readableLine(time, at, message, fields) : JSON.stringify({ time, level: at, message, ...fields }) + "\n");
    };
  };
  return { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
}

/** `12:00:01.234 WARN  message key=value key="a value"`: the fields as JSON values, strings bare when they can be. */
function readableLine(time: string, level: LogLevel, message: string, fields?: Record<string, unknown>): string {
  let text = `${time.slice(11, 23)} ${level.toUpperCase().padEnd(5)} ${message}`;
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    const shown = typeof value === "string" && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
    text += ` ${key}=${shown}`;
  }
  return text + "\n";
}
