// WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside
// the COMMIT that crosses the WAL's size limit, on the writer's thread: with
// `synchronous=full` that is the copy of every changed page into the database
// file plus an fsync of it, all while Herald's one JavaScript thread waits. A
// worker thread with its own connection runs a PASSIVE checkpoint (it never
// blocks the writer) a few times a second instead; the writer's own automatic
// checkpoint stays as a backstop at a larger size (database.ts).
import type { Synchronous } from "./database.ts";

/** How often the worker copies the WAL back; at ~5 commits/s under load it keeps up between commits. */
export const CHECKPOINT_EVERY_MS = 250;

// The worker's code travels as text (a Blob URL), so the compiled binary needs no
// second entry point. It is plain JavaScript: the worker gets no TypeScript transpiler.
const SOURCE = `
import { Database } from "bun:sqlite";
let db = null;
let timer = null;
self.onmessage = ({ data }) => {
  if (data.type === "start") {
    db = new Database(data.path);
    db.run("PRAGMA synchronous = " + data.synchronous);
    // Never wait for a lock: a checkpoint that cannot run now runs at the next tick.
    db.run("PRAGMA busy_timeout = 0");
    timer = setInterval(() => {
      try { db.run("PRAGMA wal_checkpoint(PASSIVE)"); } catch {}
    }, data.every);
  } else if (data.type === "stop") {
    clearInterval(timer);
    try { db?.close(); } catch {}
    Atomics.store(data.closed, 0, 1);
    Atomics.notify(data.closed, 0);
    self.close();
  }
};
`;

let sourceUrl: string | null = null;

export class Checkpointer {
  private readonly worker: Worker;

  constructor(path: string, synchronous: Synchronous, every = CHECKPOINT_EVERY_MS) {
    sourceUrl ??= URL.createObjectURL(new Blob([SOURCE], { type: "application/javascript" }));
    // A small heap (it holds one connection), and it never keeps the process alive on its own.
    this.worker = new Worker(sourceUrl, { smol: true, ref: false } as WorkerOptions);
    this.worker.postMessage({ type: "start", path, synchronous: synchronous.toUpperCase(), every });
  }

  /**
   * Waits (a few ms, at most 5 s) for the worker to close its connection, so the
   * writer's close is the last one and does the final checkpoint and removes the
   * WAL as before; a worker closing last would hold the file while the next open
   * (a restart, a test) sets journal_mode.
   */
  stop(): void {
    const closed = new Int32Array(new SharedArrayBuffer(4));
    this.worker.postMessage({ type: "stop", closed });
    Atomics.wait(closed, 0, 0, 5_000);
  }
}
