// Per-destination rate limits (`rate_limit`, deliveries per second) in
// one-second windows. Each send is given a slot: in the current window if it
// has room, else in the next window with room, so a held-back send waits
// exactly once, for exactly as long as its slot is away.
export class RateLimiter {
  /** The window each destination is filling (it may lie in the future). */
  private windows = new Map<string, { start: number; used: number }>();

  /** Takes a slot; answers how many ms until it comes (0: send now). */
  delayFor(destinationId: string, perSecond: number, now: number): number {
    let window = this.windows.get(destinationId);
    if (!window || window.start + 1000 <= now) window = { start: now, used: 0 };
    else if (window.used >= perSecond) window = { start: window.start + 1000, used: 0 };
    window.used++;
    this.windows.set(destinationId, window);
    return Math.max(0, window.start - now);
  }
}
