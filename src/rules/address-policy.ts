// SSRF policy: whether Herald may send a webhook to a URL or an address, decided
// without DNS, so the config and the engine refuse the same destinations. The
// engine's address guard (src/engine/address-guard.ts) resolves and pins on top of it.
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

export function compile(policy: AddressPolicy): Rules {
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

export function bareName(host: string): string {
  return host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
}

function inAllowedNet(rules: Rules, ip: Ip): boolean {
  return rules.nets.some((c) => ipInCidr(ip, c) || ipInCidr(unmap(ip), c));
}

// An address in an allow_hosts network may be reached by name too: the operator opened that range anyway.
export function allowedAddress(rules: Rules, ip: Ip): boolean {
  return rules.allow_private_networks || !isPrivateAddress(ip) || inAllowedNet(rules, ip);
}

type Inspected = { ok: true; url: URL; name: string; ip: Ip | null; exempt: boolean };

// The checks that need no DNS; shared by destination creation and every delivery.
export function inspect(raw: string, rules: Rules): Inspected | Refusal {
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
