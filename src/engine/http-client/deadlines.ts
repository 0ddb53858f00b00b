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

/** Entries a list holds past its head before an add drops the ended ones (or twice the live ones, if more). */
const COMPACT_AFTER = 4096;

/** One timeout length's deadlines, in deadline order from `head`; `limit`: when the next add compacts. */
interface List {
  entries: Deadline[];
  head: number;
  limit: number;
}

/**
 * The calls' timeouts: a list per timeout length, each served by one timer for
 * its earliest deadline. Calls start in time order, so each list is already in
 * deadline order; an ended call only empties its entry. (A timer per call,
 * set and cleared, was ~1 % of the deliver bench's CPU.) Ended entries go when
 * the timer passes them, or sooner when they pile up: a call ends long before
 * its deadline, and a busy client ends hundreds of thousands within one
 * timeout, each entry kept alive until then.
 */
export class Deadlines {
  private readonly lists = new Map<number, List>();

  add(call: Timed, ms: number): Deadline {
    const deadline: Deadline = { at: performance.now() + ms, call };
    const list = this.lists.get(ms);
    if (list) {
      list.entries.push(deadline);
      if (list.entries.length - list.head > list.limit) compact(list);
    } else {
      // A list is armed from its first entry until it is empty, then goes.
      const made = { entries: [deadline], head: 0, limit: COMPACT_AFTER };
      this.lists.set(ms, made);
      this.arm(ms, made, ms);
    }
    return deadline;
  }

  /** Entries the list for one timeout length holds, ended ones included (its tests bound it). */
  held(ms: number): number {
    const list = this.lists.get(ms);
    return list ? list.entries.length - list.head : 0;
  }

  private arm(ms: number, list: List, wait: number): void {
    const timer = setTimeout(() => {
      const now = performance.now();
      // Every ended call and every call whose deadline has come, from the front.
      // (list.entries read each time: a call added meanwhile may have compacted it.)
      while (list.head < list.entries.length) {
        const first = list.entries[list.head]!;
        if (first.call !== null && first.at > now) break;
        list.head++;
        const call = first.call;
        first.call = null;
        call?.timedOut();
      }
      if (list.head >= list.entries.length) {
        // Nothing left: the list goes (a call made later starts a new one).
        this.lists.delete(ms);
        return;
      }
      // The passed front goes once it is most of the list (a slow client's adds never compact).
      if (list.head > 1024 && list.head * 2 > list.entries.length) compact(list);
      this.arm(ms, list, Math.max(1, list.entries[list.head]!.at - now));
    }, wait);
    // A call in progress keeps the process alive through its socket; the timer of
    // calls already ended must not (an embedding process exits after the engine stops).
    (timer as { unref?: () => void }).unref?.();
  }
}

/** Keeps only the list's live entries past its head, in their order; the next compaction on add waits until as many more have come. */
function compact(list: List): void {
  const live: Deadline[] = [];
  for (let i = list.head; i < list.entries.length; i++) if (list.entries[i]!.call !== null) live.push(list.entries[i]!);
  list.entries = live;
  list.head = 0;
  list.limit = Math.max(COMPACT_AFTER, live.length * 2);
}
