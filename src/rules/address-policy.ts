// SSRF guard: decides whether Herald may send a webhook to a URL, and pins the
// connection to the address it checked so DNS cannot change between check and connect.
import { promises as dns } from "node:dns";
import { isIP } from "node:net";

export type AddressPolicy = {
  https_only: boolean;
  allow_private_networks: boolean;
  /** hostnames (exact, case-insensitive), IP literals or CIDRs; a URL whose host matches is exempt from both rules */
  allow_hosts: readonly string[];
};

export type Ip = { v6: boolean; n: bigint };
export type Cidr = Ip & { bits: number };

export type Refusal = { ok: false; message: string };
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

const MASK32 = 0xffffffffn;

function v4ToBig(s: string): bigint {
  return s.split(".").reduce((acc, part) => (acc << 8n) | BigInt(part), 0n);
}

/** Parses an IPv4 or IPv6 address (brackets and zone id allowed); null when it is not one. */
export function parseIp(text: string): Ip | null {
  const s = (text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text).split("%")[0]!;
  const kind = isIP(s);
  if (kind === 4) return { v6: false, n: v4ToBig(s) };
  if (kind !== 6) return null;
  let t = s;
  if (t.includes(".")) {
    // ::ffff:1.2.3.4 — turn the dotted tail into two hex groups
    const cut = t.lastIndexOf(":") + 1;
    const v4 = v4ToBig(t.slice(cut));
    t = `${t.slice(0, cut)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = t.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const tl = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - tl.length).fill("0"), ...tl];
  return { v6: true, n: groups.reduce((acc, g) => (acc << 16n) | BigInt(`0x${g}`), 0n) };
}

/** Parses "10.0.0.0/8" or "fd00::/8"; null when invalid. Host bits are cleared. */
export function parseCidr(text: string): Cidr | null {
  const [addr, len, extra] = text.split("/");
  const ip = parseIp(addr ?? "");
  const max = ip?.v6 ? 128 : 32;
  if (!ip || extra !== undefined || !/^\d{1,3}$/.test(len ?? "") || Number(len) > max) return null;
  const bits = Number(len);
  const shift = BigInt(max - bits);
  return { v6: ip.v6, n: (ip.n >> shift) << shift, bits };
}

export function ipInCidr(ip: Ip, cidr: Cidr): boolean {
  if (ip.v6 !== cidr.v6) return false;
  const shift = BigInt((cidr.v6 ? 128 : 32) - cidr.bits);
  return ip.n >> shift === cidr.n >> shift;
}

function cidrs(list: string[]): Cidr[] {
  return list.map((c) => parseCidr(c)!);
}

// Everything that is not public unicast.
const PRIVATE_V4 = cidrs([
  "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
  "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
  "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
]);
// IPv6 is judged by allow-listing global unicast (2000::/3): that excludes ::, ::1, fc00::/7,
// fe80::/10, ff00::/8, 64:ff9b::/96 (NAT64) and the deprecated ::/96 in one rule.
const GLOBAL_V6 = parseCidr("2000::/3")!;
// Inside 2000::/3 but not public: IETF special purpose (incl. Teredo 2001::/32), documentation.
const PRIVATE_V6 = cidrs(["2001::/23", "2001:db8::/32", "3fff::/20"]);
const MAPPED_V4 = parseCidr("::ffff:0:0/96")!;
const SIX_TO_FOUR = parseCidr("2002::/16")!;

/** ::ffff:a.b.c.d is a.b.c.d on the wire, so it is judged and matched as that IPv4. */
function unmap(ip: Ip): Ip {
  return ipInCidr(ip, MAPPED_V4) ? { v6: false, n: ip.n & MASK32 } : ip;
}

/** True for every address that is not public unicast, and for anything that is not an address. */
export function isPrivateAddress(address: string | Ip): boolean {
  const parsed = typeof address === "string" ? parseIp(address) : address;
  if (!parsed) return true;
  const ip = unmap(parsed);
  if (!ip.v6) return PRIVATE_V4.some((c) => ipInCidr(ip, c));
  // a 6to4 address is relayed to the IPv4 embedded in bits 16..47
  if (ipInCidr(ip, SIX_TO_FOUR)) return isPrivateAddress({ v6: false, n: (ip.n >> 80n) & MASK32 });
  return !ipInCidr(ip, GLOBAL_V6) || PRIVATE_V6.some((c) => ipInCidr(ip, c));
}

// The policy compiled once: allow_hosts split into names and networks.
type Rules = AddressPolicy & { names: Set<string>; nets: Cidr[] };

function compile(policy: AddressPolicy): Rules {
  const names = new Set<string>();
  const nets: Cidr[] = [];
  for (const entry of policy.allow_hosts) {
    if (entry.includes("/")) {
      const net = parseCidr(entry);
      if (!net) throw new Error(`allow_hosts entry "${entry}" is not a valid CIDR`);
      nets.push(net);
      continue;
    }
    const ip = parseIp(entry);
    if (ip) nets.push({ ...ip, bits: ip.v6 ? 128 : 32 });
    else names.add(bareName(entry));
  }
  return { ...policy, names, nets };
}

function bareName(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
}

function inAllowedNet(rules: Rules, ip: Ip): boolean {
  return rules.nets.some((c) => ipInCidr(ip, c) || ipInCidr(unmap(ip), c));
}

// An address in an allow_hosts network may be reached by name too: the operator opened that range anyway.
function allowedAddress(rules: Rules, ip: Ip): boolean {
  return rules.allow_private_networks || !isPrivateAddress(ip) || inAllowedNet(rules, ip);
}

type Inspected = { ok: true; url: URL; name: string; ip: Ip | null; exempt: boolean };

// The checks that need no DNS; shared by destination creation and every delivery.
function inspect(raw: string, rules: Rules): Inspected | Refusal {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, message: "destination URL is not a valid absolute URL" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return { ok: false, message: `destination URL scheme ${url.protocol} is not allowed; use https or http` };
  // credentials in the URL would end up in logs and the console; static headers are the place for them
  if (url.username || url.password)
    return { ok: false, message: "destination URL must not contain credentials (user:pass@); use a static header" };
  // WHATWG parsing already turned 0x7f.1 or 2130706433 into 127.0.0.1, so literals are caught here
  const name = bareName(url.hostname);
  const ip = parseIp(name);
  const exempt = ip ? inAllowedNet(rules, ip) : rules.names.has(name);
  if (!exempt && rules.https_only && url.protocol === "http:")
    return { ok: false, message: `destination URL must use https (delivery.https_only); add ${name} to delivery.allow_hosts to exempt it` };
  const local = ip ? isPrivateAddress(ip) : name === "localhost" || name.endsWith(".localhost");
  if (!exempt && !rules.allow_private_networks && local)
    return { ok: false, message: `destination host ${name} is a private address; add it to delivery.allow_hosts or set delivery.allow_private_networks` };
  return { ok: true, url, name, ip, exempt };
}

/** The check made when a destination is created or changed. Host names that need DNS pass here. */
export function checkDestinationUrl(url: string, policy: AddressPolicy): { ok: true } | Refusal {
  const result = inspect(url, compile(policy));
  return result.ok ? { ok: true } : result;
}

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
) {
  const rules = compile(policy);
  // The promise is cached, so concurrent deliveries to one host share one lookup.
  const cache = new Map<string, { at: number; answer: Promise<string[]> }>();

  function lookup(name: string): Promise<string[]> {
    const t = now();
    const hit = cache.get(name);
    if (hit && t - hit.at < CACHE_TTL_MS) return hit.answer;
    cache.delete(name);
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!); // oldest first: Map keeps insertion order
    const answer = Promise.resolve().then(() => resolve(name));
    cache.set(name, { at: t, answer });
    // failures are not cached: the next attempt asks again
    answer.catch(() => cache.get(name)?.answer === answer && cache.delete(name));
    return answer;
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

  async function target(raw: string): Promise<Target> {
    const planned = plan(raw);
    if (planned.final) return planned.final;
    const { name, host } = planned;
    const url = new URL(planned.href);

    let answer: string[];
    try {
      answer = await lookup(name);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      return { ok: false, retryable: true, message: `cannot resolve ${name}: ${reason}` };
    }
    if (answer.length === 0) return { ok: false, retryable: true, message: `cannot resolve ${name}: no addresses` };
    for (const address of answer) {
      const ip = parseIp(address);
      if (!ip || !allowedAddress(rules, ip))
        return { ok: false, retryable: false, message: `destination host ${name} resolves to private address ${address}; add it to delivery.allow_hosts or set delivery.allow_private_networks` };
    }
    const first = answer[0]!.split("%")[0]!; // URLs cannot carry a zone id
    url.hostname = first.includes(":") ? `[${first}]` : first;
    // the URL setter ignores values it cannot parse; never fall back to connecting by name
    if (bareName(url.hostname) === name) return { ok: false, retryable: false, message: `cannot connect to ${name} at ${first}` };
    return { ok: true, url: url.href, host, ...(url.protocol === "https:" ? { servername: name } : {}) };
  }

  return { target };
}

export type AddressGuard = ReturnType<typeof createAddressGuard>;
