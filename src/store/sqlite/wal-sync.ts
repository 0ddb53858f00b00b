// Makes committed transactions durable without blocking the event loop.
// `synchronous = FULL` in WAL mode means one thing: the WAL file is synced after
// each commit. SQLite does that inside COMMIT, on the one thread that also parses
// requests and sends webhooks, so every group commit stalled everything for the
// length of an fdatasync (~0.4 ms here, often more on real disks). Instead the
// connection runs with `synchronous = NORMAL` (commits write the WAL but do not
// sync it; still always consistent) and this class syncs the WAL on Bun's I/O
// thread pool; the group commit settles its writes only after that sync, so an
// acknowledged write is on disk exactly as with FULL. Checkpoints still sync the
// WAL before copying it and the database after, as they do in every mode, and a
// WAL restart only ever overwrites frames a checkpoint has already made durable.
import { closeSync, fdatasync, openSync } from "node:fs";

export class WalSync {
  private readonly fd: number;
  private running = 0;
  private closing = false;

  /** `walPath` is the database path plus `-wal`; it is created if SQLite has not created it yet. */
  constructor(walPath: string) {
    // The same inode SQLite writes: it truncates and rewrites the WAL in place and
    // deletes it only when the last connection closes, which is our own close().
    this.fd = openSync(walPath, "a");
  }

  /** Resolves once everything committed before this call is on disk. */
  sync(): Promise<void> {
    this.running++;
    return new Promise<void>((resolve, reject) =>
      fdatasync(this.fd, (error) => {
        this.running--;
        if (this.closing && this.running === 0) closeSync(this.fd);
        if (error) reject(error);
        else resolve();
      }),
    );
  }

  /** Closes the file once the syncs under way are done (closing under them would fail them). */
  close(): void {
    this.closing = true;
    if (this.running === 0) closeSync(this.fd);
  }
}
