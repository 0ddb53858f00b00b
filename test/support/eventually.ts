// Waiting on real I/O in tests: poll a check with a deadline, never a fixed
// sleep. Used where a real process, receiver or store does the work and no
// injected clock or idle() promise can say when it is done.

/** Polls `check` until it returns a value (anything but undefined), or fails naming `what` after the deadline. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeout_ms = 10_000, every_ms = 20): Promise<T> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout_ms} ms waiting for ${what}`);
    await Bun.sleep(every_ms);
  }
}

/** Polls `check` until it holds, or fails naming `what` after the deadline. */
export async function until(check: () => Promise<boolean> | boolean, what: string, timeout_ms = 10_000): Promise<void> {
  await eventually(async () => ((await check()) ? true : undefined), what, timeout_ms);
}
