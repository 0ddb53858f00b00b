// Every command's name, usage and flags, and where its code is: loaded only when
// the command runs, so `healthcheck` and `--help` do not load the server.
import type { CommandSpec, ParsedArgs } from "./flags.ts";

export interface Command extends CommandSpec {
  load: () => Promise<{ run: (args: ParsedArgs) => Promise<void> }>;
}

const CONFIG = { name: "config", short: "c", value: "FILE", help: "the config file (default ./config.yaml, else built-in defaults)" };

export const COMMANDS: Command[] = [
  {
    name: "serve",
    positional: { min: 0, max: 0 },
    summary: "Run the dispatcher and its API.",
    flags: [
      CONFIG,
      { name: "port", short: "p", value: "N", help: "the port to listen on (over HERALD_PORT, over server.port)" },
      { name: "host", value: "H", help: "the address to listen on (over HERALD_HOST, over server.host)" },
    ],
    details: "SIGHUP re-reads the config's event types, destinations and subscriptions; SIGINT/SIGTERM stop.",
    load: () => import("./serve.ts"),
  },
  {
    name: "check",
    positional: { min: 0, max: 0 },
    summary: "Validate a config file: exit 0, or 1 with one `path: message` line per problem.",
    flags: [CONFIG],
    load: () => import("./check.ts"),
  },
  {
    name: "backup",
    args: "FILE",
    positional: { min: 1, max: 1 },
    summary: "Write an online, consistent copy of the SQLite database to FILE.",
    flags: [CONFIG],
    load: () => import("./backup.ts"),
  },
  {
    name: "copy-store",
    positional: { min: 0, max: 0 },
    summary: "Copy a SQLite database into an empty PostgreSQL one.",
    flags: [
      { name: "from", value: "FILE", required: true, help: "the SQLite database to copy" },
      { name: "to", value: "postgres://…", required: true, help: "the empty PostgreSQL database to copy into" },
    ],
    load: () => import("./copy-store.ts"),
  },
  {
    name: "rekey",
    positional: { min: 0, max: 0 },
    summary: "Seal the stored secrets under a new key, online.",
    flags: [{ name: "new-key-file", value: "F", required: true, help: "the new key (made, mode 0600, if it does not exist)" }, CONFIG],
    load: () => import("./rekey.ts"),
  },
  {
    name: "healthcheck",
    positional: { min: 0, max: 0 },
    summary: "Exit 0 when a running Herald answers ready on /readyz, else 1, with a one-line reason.",
    flags: [{ name: "url", value: "URL", help: "Herald's address (default http://127.0.0.1:PORT)" }, CONFIG],
    details:
      "Asks a running Herald whether it is ready (GET URL/readyz). URL defaults to\n" +
      "http://127.0.0.1:PORT, PORT being HERALD_PORT or the config's server.port.\n" +
      "A container's HEALTHCHECK runs it.",
    load: () => import("./healthcheck.ts"),
  },
  {
    name: "publish",
    args: "TYPE",
    positional: { min: 1, max: 1 },
    summary: "Publish one event of type TYPE to a running Herald and print its answer.",
    flags: [
      { name: "data", short: "d", value: "JSON|@FILE", help: "the event's data: JSON, @FILE to read a file, @- for standard input (default null)" },
      { name: "tenant", value: "T", help: "the tenant whose subscriptions receive it (default: the token's, else default)" },
      { name: "id", value: "ID", help: "the event's id; publishing the same id again answers the original" },
      { name: "url", value: "URL", help: "Herald's address (over HERALD_URL; default http://127.0.0.1:8080)" },
      { name: "token", value: "TOKEN", help: "an API token (HERALD_TOKEN is better: flags show in ps)" },
    ],
    details: "Exits 1 with the API's message when Herald refuses the event (4xx/5xx) or cannot be reached.",
    load: () => import("./publish.ts"),
  },
  {
    name: "token",
    positional: { min: 0, max: 0 },
    summary: "Print a new random API token and the auth.tokens line (its SHA-256) for the config.",
    flags: [
      { name: "tenant", value: "T", help: "a tenant token for tenant T (default: an admin token)" },
      { name: "name", value: "N", help: "the token's name in the config and the audit log (default: made up)" },
    ],
    details: "Line 1 is the token; the last line goes under auth.tokens. Herald reads auth.tokens when it starts: restart it.",
    load: () => import("./token.ts"),
  },
  {
    name: "config-schema",
    positional: { min: 0, max: 0 },
    summary: "Print the JSON Schema of the config file, for editors (config.schema.json is its output).",
    flags: [],
    details: "Start config.yaml with `# yaml-language-server: $schema=./config.schema.json` and an editor with the YAML\nlanguage server checks and completes it.",
    load: () => import("./config-schema.ts"),
  },
  {
    name: "version",
    positional: { min: 0, max: 0 },
    summary: "Print the version.",
    flags: [],
    load: () => import("./version.ts"),
  },
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** `herald help`: one line per command. */
export function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  return [
    "Usage: herald COMMAND [FLAGS]",
    "",
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary.split(": ")[0]!.replace(/\.$/, "")}`),
    "",
    "`herald COMMAND --help` shows a command's flags.",
  ].join("\n");
}
