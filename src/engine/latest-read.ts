// Reads that may overlap (a change here, a signal from another instance, a
// sweep) and whose results replace one another: only a result not overtaken by
// one read later is applied, since a read that began later sees at least every
// write the earlier one saw.
export class LatestRead {
  private started = 0;
  private applied = 0;

  /** Runs `read`, then `apply` with its result unless a read started after it was applied first. */
  async run<T>(read: () => Promise<T>, apply: (value: T) => void): Promise<void> {
    const ticket = ++this.started;
    const value = await read();
    if (ticket < this.applied) return;
    this.applied = ticket;
    apply(value);
  }
}
