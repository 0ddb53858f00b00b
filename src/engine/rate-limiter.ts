// Per-destination rate limits (`rate_limit`, deliveries per second) over a
// sliding window: each send is given a slot such that no `count + 1` slots fall
// within one window, and keeps it. Slots are handed out in order, so a
// held-back send waits once, for exactly as long as its slot is away, and is
// never asked to queue again (that is what starved a backlog before).
//
// Instances sharing a database share each destination's limit: each keeps to
// its part of it (see share()). The database holds no per-send state, so no
// send pays a round trip for its slot.

/** A limit for one instance: at most `count` sends within any `windowMs`. */
export interface Allowance {
  count: number;
  windowMs: number;
}

/**
 * One instance's part of `perSecond` when `instances` share it: ceil(perSecond
 * / instances) sends per window, the window widened so that the average is
 * perSecond / instances. One instance keeps perSecond within any second. With
 * n instances the total averages perSecond over any n windows; a burst where
 * all n send their part at once is the most it can exceed one second by.
 */
export function share(perSecond: number, instances: number): Allowance {
  const n = Math.max(1, instances);
  const count = Math.ceil(perSecond / n);
  return { count, windowMs: Math.round((1000 * count * n) / perSecond) };
}

/** The last `count` slots of one destination, in a ring: enough to place the next. */
interface Slots {
  count: number;
  windowMs: number;
  times: number[];
  /** Where the next slot goes: the oldest of the last `count` once the ring is full. */
  next: number;
  last: number;
}

export class RateLimiter {
  private slots = new Map<string, Slots>();

  constructor(private readonly now: () => number) {}

  /**
   * Takes the next free slot and answers how many ms until it comes (0: send
   * now). A slot further away than `maxWaitMs` is not taken: the answer then
   * says when to ask again.
   */
  take(destinationId: string, allowance: Allowance, maxWaitMs = Infinity): number {
    const now = this.now();
    const { count, windowMs } = allowance;
    let slots = this.slots.get(destinationId);
    // A changed limit starts afresh: its ring holds the wrong number of slots.
    if (!slots || slots.count !== count || slots.windowMs !== windowMs) {
      slots = { count, windowMs, times: [], next: 0, last: slots?.last ?? -Infinity };
      this.slots.set(destinationId, slots);
    }
    // The new slot comes after every slot handed out, and a full window after
    // the count-th last one: any window then holds at most `count` slots.
    const oldest = slots.times.length === count ? slots.times[slots.next]! : -Infinity;
    const at = Math.max(now, slots.last, oldest + windowMs);
    const wait = at - now;
    if (wait > maxWaitMs) return wait;
    slots.times[slots.next] = at;
    slots.next = (slots.next + 1) % count;
    slots.last = at;
    return wait;
  }
}
