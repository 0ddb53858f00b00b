// Per-destination rate limits (`rate_limit`, deliveries per second) over a
// sliding second: each send is given a slot such that no `perSecond + 1` slots
// fall within one second, and keeps it. Slots are handed out in order, so a
// held-back send waits once, for exactly as long as its slot is away, and is
// never asked to queue again (that is what starved a backlog before).

/** The last `perSecond` slots of one destination, in a ring: enough to place the next. */
interface Slots {
  perSecond: number;
  times: number[];
  /** Where the next slot goes: the oldest of the last perSecond once the ring is full. */
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
  take(destinationId: string, perSecond: number, maxWaitMs = Infinity): number {
    const now = this.now();
    let slots = this.slots.get(destinationId);
    // A changed limit starts afresh: its ring holds the wrong number of slots.
    if (!slots || slots.perSecond !== perSecond) {
      slots = { perSecond, times: [], next: 0, last: -Infinity };
      this.slots.set(destinationId, slots);
    }
    // The new slot comes after every slot handed out, and a full second after
    // the perSecond-th last one: any second then holds at most perSecond slots.
    const oldest = slots.times.length === perSecond ? slots.times[slots.next]! : -Infinity;
    const at = Math.max(now, slots.last, oldest + 1000);
    const wait = at - now;
    if (wait > maxWaitMs) return wait;
    slots.times[slots.next] = at;
    slots.next = (slots.next + 1) % perSecond;
    slots.last = at;
    return wait;
  }
}
