// The command line's one flag parser: each command declares its flags in a table,
// and anything not in it is refused (exit 2) rather than silently ignored.

export interface FlagSpec {
  /** Long name, without the dashes: `config` for --config. */
  name: string;
  /** A one-letter alias, without the dash: `c` for -c. */
  short?: string;
  /** The value's placeholder in the usage (FILE, URL); a flag without one is a switch. */
  value?: string;
  help: string;
  /** The command cannot run without it (shown unbracketed in the synopsis). */
  required?: boolean;
}

export interface CommandSpec {
  name: string;
  /** The positional arguments as the usage shows them, e.g. "FILE" or "TYPE". */
  args?: string;
  /** How many positional arguments the command takes. */
  positional: { min: number; max: number };
  /** One line for `herald help`. */
  summary: string;
  flags: FlagSpec[];
  /** Paragraphs after the flags in the command's own usage. */
  details?: string;
}

export interface ParsedArgs {
  /** Each given flag's value (the last one wins); `true` for a switch. */
  flags: Record<string, string | true>;
  positional: string[];
  /** --help or -h was given: print the usage and do nothing else. */
  help: boolean;
}

/** A mistake in how the command was called: exit 2 with the message and the command's usage. */
export class UsageError extends Error {}

const HELP: FlagSpec = { name: "help", short: "h", help: "print this usage and exit" };

/**
 * Parses `argv` (after the command name) against the command's table. Accepts
 * `--name value`, `--name=value`, `-x value`, and `--` to end the flags. --help
 * anywhere wins over every other mistake, so that a person who asked for help gets it.
 */
export function parseFlags(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  if (argv.some((arg) => arg === "--help" || arg === "-h")) {
    const end = argv.indexOf("--");
    const helpAt = argv.findIndex((arg) => arg === "--help" || arg === "-h");
    if (end === -1 || helpAt < end) return { flags: {}, positional: [], help: true };
  }
  const parsed: ParsedArgs = { flags: {}, positional: [], help: false };
  const fail = (message: string): never => {
    throw new UsageError(`herald ${spec.name}: ${message}`);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      parsed.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      parsed.positional.push(arg);
      continue;
    }
    const long = arg.match(/^--([^=]+)(?:=(.*))?$/s);
    const name = long ? long[1]! : arg.slice(1);
    const flag = spec.flags.find((f) => (long ? f.name === name : f.short === name));
    // Only the name is echoed: a value may be a token.
    if (!flag) fail(`unknown flag ${long ? `--${name}` : arg}`);
    const shown = long ? `--${flag!.name}` : arg;
    if (flag!.value === undefined) {
      if (long?.[2] !== undefined) fail(`${shown} takes no value`);
      parsed.flags[flag!.name] = true;
      continue;
    }
    const value = long?.[2] ?? argv[++i];
    if (value === undefined) fail(`${shown} needs a value (${flag!.value})`);
    parsed.flags[flag!.name] = value!;
  }
  const missing = spec.flags.filter((f) => f.required && parsed.flags[f.name] === undefined);
  if (missing.length > 0) throw new UsageError(`herald ${spec.name} needs ${missing.map((f) => `--${f.name} ${f.value ?? ""}`.trim()).join(" and ")}`);
  const count = parsed.positional.length;
  if (count < spec.positional.min) throw new UsageError(`herald ${spec.name} needs ${spec.args ?? "an argument"}`);
  if (count > spec.positional.max) {
    fail(spec.positional.max === 0 ? `takes no arguments (got "${parsed.positional[0]}")` : `takes at most ${spec.positional.max} argument(s): ${spec.args ?? ""}`);
  }
  return parsed;
}

/** The command's usage: its synopsis, its flags (with --help), and its details. */
export function usage(spec: CommandSpec): string {
  const flags = [...spec.flags, HELP];
  const synopsis = [`herald ${spec.name}`, spec.args, ...spec.flags.map((f) => {
    const shown = `--${f.name}${f.value ? ` ${f.value}` : ""}`;
    return f.required ? shown : `[${shown}]`;
  })].filter(Boolean).join(" ");
  const column = (f: FlagSpec) => `${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.value ? ` ${f.value}` : ""}`;
  const width = Math.max(...flags.map((f) => column(f).length)) + 2;
  const lines = [`Usage: ${synopsis}`, "", spec.summary, "", "Flags:", ...flags.map((f) => `  ${column(f).padEnd(width)}${f.help}`)];
  if (spec.details) lines.push("", spec.details);
  return lines.join("\n");
}

/** A flag's value as a string (flags with a value are never `true`). */
export function flag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags[name];
  return typeof value === "string" ? value : undefined;
}
