// `herald healthcheck`: exit 0 when a running Herald is ready, else 1. Kept light:
// it loads neither the server nor the store, since a container runs it every 30 s.
import { checkReadiness, localUrl } from "../healthcheck.ts";
import { flag, UsageError, type ParsedArgs } from "./flags.ts";

export async function run(args: ParsedArgs): Promise<void> {
  let url = flag(args, "url");
  // The config (and arktype with it, ~0.5 s of CPU) is loaded only when --url is not given.
  if (url === undefined) url = localUrl((await import("./load-config.ts")).loadOrExit(args).config.server, process.env);
  else if (!/^https?:\/\/./.test(url) || !URL.canParse(url)) {
    throw new UsageError("herald healthcheck: --url must be a URL such as http://127.0.0.1:8080");
  }
  const { ready, reason } = await checkReadiness(url);
  console.log(reason);
  process.exit(ready ? 0 : 1);
}
