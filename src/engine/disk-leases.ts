// The leases publishes wrote on disk past the in-memory queue, oldest first,
// until the dispatcher reads their rows back (dispatcher.ts: ON_DISK_LEASES).
// Kept as bytes, not as objects and strings: 24 bytes a lease (its delivery
// id's 16 and its end's 8) where an object with its id string took ~130 and,
// with 200,000 of them alive at once, made the heap grow by twice that before
// each collection (the deliver bench's peak RSS, +75 MiB; bench/README.md).
/** A delivery id as the publisher makes it: `dlv_` and 32 hex digits (store/ids.ts: newId). */
const PREFIX = "dlv_";
const ID_BYTES = 16;
/** Room for this many at first, and again once emptied (a burst's arrays are let go). */
const INITIAL = 1024;

export class DiskLeases {
  private ids = Buffer.alloc(INITIAL * ID_BYTES);
  private untils = new Float64Array(INITIAL);
  private head = 0;
  private tail = 0;

  get size(): number {
    return this.tail - this.head;
  }

  push(id: string, until: number): void {
    if (this.tail === this.untils.length) this.makeRoom();
    this.ids.write(id.slice(PREFIX.length), this.tail * ID_BYTES, ID_BYTES, "hex");
    this.untils[this.tail++] = until;
  }

  /** The oldest `n` (fewer if there are fewer), taken out: delivery id to lease end, in order. */
  take(n: number): Map<string, number> {
    const taken = new Map<string, number>();
    const end = Math.min(this.tail, this.head + n);
    for (let i = this.head; i < end; i++) taken.set(PREFIX + this.ids.toString("hex", i * ID_BYTES, (i + 1) * ID_BYTES), this.untils[i]!);
    this.head = end;
    if (this.head === this.tail) this.clear();
    return taken;
  }

  clear(): void {
    this.head = this.tail = 0;
    if (this.untils.length > INITIAL) {
      this.ids = Buffer.alloc(INITIAL * ID_BYTES);
      this.untils = new Float64Array(INITIAL);
    }
  }

  /** Moves what is left to the front, or doubles the arrays when more than half is in use. */
  private makeRoom(): void {
    const size = this.size;
    if (this.head > 0 && size * 2 <= this.untils.length) {
      this.ids.copyWithin(0, this.head * ID_BYTES, this.tail * ID_BYTES);
      this.untils.copyWithin(0, this.head, this.tail);
    } else {
      const ids = Buffer.alloc(this.untils.length * 2 * ID_BYTES);
      const untils = new Float64Array(this.untils.length * 2);
      this.ids.copy(ids, 0, this.head * ID_BYTES, this.tail * ID_BYTES);
      untils.set(this.untils.subarray(this.head, this.tail));
      this.ids = ids;
      this.untils = untils;
    }
    this.head = 0;
    this.tail = size;
  }
}
