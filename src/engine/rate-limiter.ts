// Per-destination rate limits (`rate_limit`, deliveries per second): a fixed
// one-second window per destination. Sends over the limit wait for the next
// window in memory, still leased, instead of going back to the job table.
export class RateLimiter {
  private windows = new Map<string, { start: number; used: number }>();

  /** 0 when a send may go now (and counts it), else how many ms until it may. */
  delayFor(destinationId: string, perSecond: number, now: number): number {
    let window = this.windows.get(destinationId);
    if (!window || now - window.start >= 1000) {
      window = { start: now, used: 0 };
      this.windows.set(destinationId, window);
    }
    if (window.used < perSecond) {
      window.used++;
      return 0;
    }
    return window.start + 1000 - now;
  }
}
