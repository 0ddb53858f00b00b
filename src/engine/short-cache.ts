// A few seconds' memory of expensive reads, keyed: callers asking again within
// `ttl_ms` (a console page refreshing, a client polling) share one read instead
// of each running it. Holds the promise, so concurrent callers share it too; a
// failed read is forgotten at once. Bounded: past `max` keys it starts afresh.
export class ShortCache<T> {
  private readonly entries = new Map<string, { at: number; value: Promise<T> }>();

  constructor(
    private readonly now: () => number,
    private readonly ttl_ms: number,
    private readonly max = 1000,
  ) {}

  get(key: string, read: () => Promise<T>): Promise<T> {
    const now = this.now();
    const hit = this.entries.get(key);
    if (hit && now - hit.at < this.ttl_ms) return hit.value;
    if (this.entries.size >= this.max) this.entries.clear();
    const value = read();
    this.entries.set(key, { at: now, value });
    value.catch(() => {
      if (this.entries.get(key)?.value === value) this.entries.delete(key);
    });
    return value;
  }
}
