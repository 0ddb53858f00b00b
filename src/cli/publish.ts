// `herald publish TYPE`: publishes one event to a running Herald through its API, for a
// first try, a script or a smoke test, without writing curl and JSON by hand.
import { readFileSync } from "node:fs";
import { flag, UsageError, type ParsedArgs } from "./flags.ts";

export const DEFAULT_URL = "http://127.0.0.1:8080";

export async function run(args: ParsedArgs): Promise<void> {
  const type = args.positional[0]!;
  const base = flag(args, "url") ?? (process.env.HERALD_URL || DEFAULT_URL);
  if (!/^https?:\/\/./.test(base) || !URL.canParse(base)) throw new UsageError("herald publish: --url (or HERALD_URL) must be a URL such as http://127.0.0.1:8080");
  const token = flag(args, "token") ?? (process.env.HERALD_TOKEN || undefined);
  if (!token) throw new UsageError("herald publish needs a token: HERALD_TOKEN (or --token, which other users of the machine can see in ps)");
  const body: Record<string, unknown> = { type, data: readData(flag(args, "data")) };
  const tenant = flag(args, "tenant");
  if (tenant !== undefined) body.tenant = tenant;
  const id = flag(args, "id");
  if (id !== undefined) body.id = id;

  const url = base.replace(/\/+$/, "") + "/v1/events";
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      redirect: "manual",
    });
  } catch (error) {
    process.stderr.write(`herald publish: cannot reach ${url} (${error instanceof Error ? error.message : String(error)})\n`);
    process.exit(1);
  }
  const text = await response.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = undefined;
  }
  if (response.ok) {
    console.log(answer === undefined ? text : JSON.stringify(answer, null, 2));
    return;
  }
  // The API's own words: its message, then one `path: message` line per detail.
  const problem = (answer ?? {}) as { message?: unknown; details?: { path?: unknown; message?: unknown }[] };
  const lines = [`herald publish: ${response.status} ${typeof problem.message === "string" ? problem.message : text.slice(0, 200) || response.statusText}`];
  for (const d of Array.isArray(problem.details) ? problem.details : []) lines.push(`  ${String(d.path ?? "")}: ${String(d.message ?? "")}`);
  process.stderr.write(lines.join("\n") + "\n");
  process.exit(1);
}

/** --data as JSON text, `@FILE` for a file's, `@-` for standard input's; null when not given. */
function readData(data: string | undefined): unknown {
  if (data === undefined) return null;
  let text = data;
  if (data.startsWith("@")) {
    const file = data.slice(1);
    try {
      text = readFileSync(file === "-" ? 0 : file, "utf8");
    } catch (error) {
      throw new UsageError(`herald publish: --data ${data}: cannot read ${file === "-" ? "standard input" : file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
    }
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`herald publish: --data is not JSON (${(error as Error).message}); write @FILE to read a file`);
  }
}
