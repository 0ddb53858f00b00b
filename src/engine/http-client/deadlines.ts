// The calls' timeouts: one timer per timeout length, not one per call.

/** What a deadline ends when it passes: a call (Call in call.ts, which imports this file). */
export interface Timed {
  timedOut(): void;
}

/** A call's deadline; `call` is emptied when the call ends first. */
export interface Deadline {
  at: number;
  call: Timed | null;
}

/**
 * The calls' timeouts: a list per timeout length, each served by one timer for
 * its earliest deadline. Calls start in time order, so each list is already in
 * deadline order; an ended call only empties its entry. (A timer per call,
 * set and cleared, was ~1 % of the deliver bench's CPU.)
 */
export class Deadlines {
  private readonly lists = new Map<number, { entries: Deadline[]; head: number }>();

  add(call: Timed, ms: number): Deadline {
    const deadline: Deadline = { at: performance.now() + ms, call };
    const list = this.lists.get(ms);
    if (list) list.entries.push(deadline);
    else {
      // A list is armed from its first entry until it is empty, then goes.
      const made = { entries: [deadline], head: 0 };
      this.lists.set(ms, made);
      this.arm(ms, made, ms);
    }
    return deadline;
  }

  private arm(ms: number, list: { entries: Deadline[]; head: number }, wait: number): void {
    const timer = setTimeout(() => {
      const now = performance.now();
      const { entries } = list;
      // Every ended call and every call whose deadline has come, from the front.
      while (list.head < entries.length) {
        const first = entries[list.head]!;
        if (first.call !== null && first.at > now) break;
        list.head++;
        const call = first.call;
        first.call = null;
        call?.timedOut();
      }
      if (list.head >= entries.length) {
        // Nothing left: the list goes (a call made later starts a new one).
        this.lists.delete(ms);
        return;
      }
      if (list.head > 1024 && list.head * 2 > entries.length) {
        list.entries = entries.slice(list.head);
        list.head = 0;
      }
      this.arm(ms, list, Math.max(1, list.entries[list.head]!.at - now));
    }, wait);
    // A call in progress keeps the process alive through its socket; the timer of
    // calls already ended must not (an embedding process exits after the engine stops).
    (timer as { unref?: () => void }).unref?.();
  }
}
