// Per-destination rate limits (`rate_limit`, deliveries per second) over a
// sliding second: each send is given a slot such that no `perSecond + 1` slots
// fall within one second, and keeps it. Slots are handed out in order, so a
// held-back send waits once, for exactly as long as its slot is away, and is
// never asked to queue again (that is what starved a backlog before).
export class RateLimiter {
  /** Slot times of each destination, oldest first, from a second ago into the future. */
  private slots = new Map<string, number[]>();

  constructor(private readonly now: () => number) {}

  /**
   * Takes the next free slot and answers how many ms until it comes (0: send
   * now). A slot further away than `maxWaitMs` is not taken: the answer then
   * says when to ask again.
   */
  take(destinationId: string, perSecond: number, maxWaitMs = Infinity): number {
    const now = this.now();
    let slots = this.slots.get(destinationId);
    if (!slots) this.slots.set(destinationId, (slots = []));
    // Slots a second old or more no longer count against anything.
    let stale = 0;
    while (stale < slots.length && slots[stale]! <= now - 1000) stale++;
    if (stale) slots.splice(0, stale);
    // The new slot comes after every slot handed out, and a full second after
    // the perSecond-th last one: any second then holds at most perSecond slots.
    let at = now;
    if (slots.length) at = Math.max(at, slots[slots.length - 1]!);
    if (slots.length >= perSecond) at = Math.max(at, slots[slots.length - perSecond]! + 1000);
    const wait = at - now;
    if (wait <= maxWaitMs) slots.push(at);
    return wait;
  }
}
