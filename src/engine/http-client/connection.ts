// A pooled connection (a Bun socket and the call using it), the idle ones of
// one origin and TLS identity, and the socket events handed to the call.
import type { Socket } from "bun";
import { networkError } from "./network-error.ts";

/** What a connection's socket events are handed to: the call using it (Call in call.ts, which imports this file). */
export interface ConnectionCall {
  write(): void;
  received(chunk: Buffer): void;
  closed(error: unknown): void;
  fail(error: string): void;
}

/** One connection; `socket.data` of its Bun socket. */
export class Connection {
  socket: Socket<Connection> | null = null;
  idleSince = 0;
  closed = false;
  call: ConnectionCall | null = null;
  /** The pool holding it while idle; null while a call has it. */
  pool: Pool | null = null;
  /** Its origin and TLS identity (`https:` first over TLS). */
  constructor(readonly key: string) {}

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    this.pool?.forget(this);
    this.socket?.terminate();
  }
}

/** Idle connections of one origin and TLS identity; made when the first one goes idle. */
export class Pool {
  readonly idle: Connection[] = [];
  forget(connection: Connection): void {
    connection.pool = null;
    const i = this.idle.indexOf(connection);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

export const handlers = {
  open(socket: Socket<Connection>) {
    const c = socket.data;
    c.socket = socket;
    if (c.closed) return void socket.terminate();
    // Over TLS the request waits for a verified handshake.
    if (!c.key.startsWith("https:")) c.call?.write();
  },
  handshake(socket: Socket<Connection>, success: boolean, error: Error | null) {
    const c = socket.data;
    if (!success || error) return c.call ? c.call.fail(`TLS: ${networkError(error)}`) : c.destroy();
    c.call?.write();
  },
  data(socket: Socket<Connection>, chunk: Buffer) {
    const c = socket.data;
    // Bytes on an idle connection answer nothing: it cannot be trusted again.
    if (!c.call) return c.destroy();
    c.call.received(chunk);
  },
  drain(socket: Socket<Connection>) {
    socket.data.call?.write();
  },
  error(socket: Socket<Connection>, error: Error) {
    socket.data.call?.closed(error);
  },
  end(socket: Socket<Connection>) {
    socket.data.call?.closed(null);
  },
  close(socket: Socket<Connection>, error?: Error) {
    const c = socket.data;
    c.call?.closed(error ?? null);
    c.closed = true;
    c.pool?.forget(c);
  },
  connectError(socket: Socket<Connection>, error: Error) {
    socket.data.call?.closed(error);
  },
};
