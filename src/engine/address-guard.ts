// SSRF guard: resolves a destination's host before every attempt, refuses it when
// any answer is private (the rules are address-policy.ts's), and pins the connection
// to the address it checked so DNS cannot change between check and connect.
// Through an egress proxy (delivery.proxy) nothing can be pinned: the proxy
// resolves and connects. The checks stay (literal addresses, the names Herald
// resolves itself) and the URL keeps its host name for the proxy to judge.
import { promises as dns } from "node:dns";
import { allowedAddress, bareName, compile, inspect, parseIp, type AddressPolicy, type Refusal } from "../rules/address-policy.ts";

export type Target =
  | {
      ok: true;
      /** the URL to fetch: host replaced by the checked IP, or unchanged when nothing needed resolving */
      url: string;
      /** original host[:port], for the Host header */
      host: string;
      /** original hostname for TLS SNI and certificate checks; set only when an https host name was replaced */
      servername?: string;
    }
  | (Refusal & { retryable: boolean }); // retryable: a DNS failure may pass; a policy refusal will not

const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 1024;

async function lookupAll(host: string): Promise<string[]> {
  return (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}

/**
 * The check made before every delivery attempt: resolves the host, refuses if any answer is
 * private (a mixed answer is how DNS rebinding slips through), and pins the first answer.
 */
export function createAddressGuard(
  policy: AddressPolicy,
  resolve: (host: string) => Promise<string[]> = lookupAll,
  now: () => number = Date.now,
  /** False when sending through a proxy: check, but leave the host name in the URL. */
  pin = true,
) {
  const rules = compile(policy);
  // The promise is cached, so concurrent deliveries to one host share one lookup;
  // once it has answered, `addresses` holds the answer for the sends after it.
  // `verdicts` keeps judge()'s answer per URL while the lookup lives: judging
  // parses every address (BigInts) and builds a URL, too much for every send.
  type Lookup = { at: number; answer: Promise<string[]>; addresses?: string[]; verdicts?: Map<string, Target> };
  const cache = new Map<string, Lookup>();

  function lookup(name: string): Lookup {
    const t = now();
    const hit = cache.get(name);
    if (hit && t - hit.at < CACHE_TTL_MS) return hit;
    cache.delete(name);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!); // oldest first: Map keeps insertion order
    const answer = Promise.resolve().then(() => resolve(name));
    const entry: Lookup = { at: t, answer };
    cache.set(name, entry);
    answer.then(
      (addresses) => (entry.addresses = addresses),
      // failures are not cached: the next attempt asks again
      () => cache.get(name) === entry && cache.delete(name),
    );
    return entry;
  }

  // What inspect() decided per URL: it depends on nothing but the URL and the
  // policy, and parsing the URL and its address with BigInts on every send was
  // ~6 % of the deliver bench's CPU. Answers that need no DNS are kept whole.
  type Plan = { final: Target } | { final: null; href: string; name: string; host: string };
  const plans = new Map<string, Plan>();

  function plan(raw: string): Plan {
    const known = plans.get(raw);
    if (known) return known;
    const checked = inspect(raw, rules);
    let made: Plan;
    if (!checked.ok) made = { final: Object.freeze({ ...checked, retryable: false }) };
    // Nothing an answer could change: the host is exempt, private networks are allowed,
    // or it is an IP literal that inspect() already judged.
    else if (checked.exempt || rules.allow_private_networks || checked.ip)
      made = { final: Object.freeze({ ok: true, url: checked.url.href, host: checked.url.host }) };
    else made = { final: null, href: checked.url.href, name: checked.name, host: checked.url.host };
    if (plans.size >= CACHE_MAX) plans.delete(plans.keys().next().value!);
    plans.set(raw, made);
    return made;
  }

  /**
   * Where to connect for `raw`, or why not. A verdict that needs no DNS answer
   * (refused, an exempt host, private networks allowed, an IP literal) or whose
   * host's answer is cached comes back at once, not as a promise: most sends
   * then skip a promise and a turn of the event loop.
   */
  function target(raw: string): Target | Promise<Target> {
    const planned = plan(raw);
    if (planned.final) return planned.final;
    const found = lookup(planned.name);
    if (found.addresses) {
      const verdicts = (found.verdicts ??= new Map());
      let verdict = verdicts.get(planned.href);
      if (verdict === undefined) verdicts.set(planned.href, (verdict = Object.freeze(judge(planned, found.addresses))));
      return verdict;
    }
    return found.answer.then(
      (addresses) => judge(planned, addresses),
      (err): Target => ({ ok: false, retryable: true, message: `cannot resolve ${planned.name}: ${err instanceof Error ? err.message : String(err)}` }),
    );
  }

  /** The verdict on a host name's DNS answer: every address allowed, and the first one pinned. */
  function judge(planned: Extract<Plan, { final: null }>, answer: string[]): Target {
    const { name, host } = planned;
    if (answer.length === 0) return { ok: false, retryable: true, message: `cannot resolve ${name}: no addresses` };
    for (const address of answer) {
      const ip = parseIp(address);
      if (!ip || !allowedAddress(rules, ip))
        return { ok: false, retryable: false, message: `destination host ${name} resolves to private address ${address}; add it to delivery.allow_hosts or set delivery.allow_private_networks` };
    }
    if (!pin) return { ok: true, url: planned.href, host };
    const url = new URL(planned.href);
    const first = answer[0]!.split("%")[0]!; // URLs cannot carry a zone id
    url.hostname = first.includes(":") ? `[${first}]` : first;
    // the URL setter ignores values it cannot parse; never fall back to connecting by name
    if (bareName(url.hostname) === name) return { ok: false, retryable: false, message: `cannot connect to ${name} at ${first}` };
    return { ok: true, url: url.href, host, ...(url.protocol === "https:" ? { servername: name } : {}) };
  }

  return { target };
}

export type AddressGuard = ReturnType<typeof createAddressGuard>;
