// Failed authentications per client address: past `limit` in a minute, every
// request from that address is answered 429 before any token is checked, so
// guessing tokens stops there; other addresses are not affected. The clock is
// the engine's (injected), so tests move the minute by hand.

const WINDOW_MS = 60_000;
/**
 * Addresses remembered at most. Past this the oldest are forgotten first: a
 * flood from many addresses costs bounded memory, at worst letting an old
 * address start its count again.
 */
const MAX_ADDRESSES = 50_000;

export class AuthFailureLimiter {
  /** Per address, the times of its last failures (at most `limit`), oldest first. */
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly now: () => number,
  ) {}

  /** True when no address has a failure remembered: no address needs looking up. */
  get empty(): boolean {
    return this.failures.size === 0;
  }

  /** Seconds until this address may try again (for Retry-After), or null when it may now. */
  retryAfter(address: string): number | null {
    const times = this.recent(address);
    if (times.length < this.limit) return null;
    return Math.max(1, Math.ceil((times[0]! + WINDOW_MS - this.now()) / 1000));
  }

  /** Notes a failed authentication from this address. */
  fail(address: string): void {
    const times = this.recent(address);
    times.push(this.now());
    if (times.length > this.limit) times.splice(0, times.length - this.limit);
    // Re-inserted, so the Map's order is by last failure and the oldest is forgotten first.
    this.failures.delete(address);
    this.failures.set(address, times);
    if (this.failures.size > MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
  }

  /** The address's failures within the last minute (older ones dropped). */
  private recent(address: string): number[] {
    const times = this.failures.get(address);
    if (!times) return [];
    const since = this.now() - WINDOW_MS;
    while (times.length && times[0]! <= since) times.shift();
    if (times.length === 0) this.failures.delete(address);
    return times;
  }
}

/**
 * The key an address is counted under: IPv4 as is (an IPv4-mapped IPv6 address
 * as its IPv4), IPv6 by its /64, the block one host is usually given, so that
 * hopping between the addresses of one's own /64 does not reset the count.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(":")) return address;
  const [head = "", tail = ""] = address.split("::", 2);
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = address.includes("::") ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right] : left;
  return groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, "")).join(":") + "::/64";
}
