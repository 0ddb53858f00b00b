// The shapes of one webhook POST through the keep-alive client (HttpClient.post)
// and of what came back: the request, its TLS settings, the answer.
import type { HeaderBlock } from "./header-block.ts";

/** TLS settings of a request: SNI/certificate name, the client certificate, the trusted CAs (unset: the system's). */
export interface ClientTls {
  servername?: string;
  cert?: string;
  key?: string;
  ca?: string[];
}

/** A client that sends webhook POSTs: HttpClient on this thread, or WorkerHttpClient through a thread of its own. */
export interface WebhookClient {
  /** Never throws, never outlives the request's `timeout_ms`. */
  post(request: HttpRequest): Promise<HttpAnswer>;
  /** Closes its connections; it stays usable. */
  close(): void;
}

export interface HttpRequest {
  /** http: or https:; the host may be a pinned IP address (IPv6 in brackets). */
  url: string;
  /** Sent as the Host header: the destination's own host[:port]. */
  host: string;
  /** Header names and values (none of FRAMING_HEADERS: the client writes Host and Content-Length, and refuses the rest). */
  headers: Record<string, string>;
  /** Headers sent before `headers`, checked and written out once (HeaderBlock.of): a destination's static ones. */
  fixed?: HeaderBlock;
  body: string;
  timeout_ms: number;
  /** At most this much of the body is kept; past it the client stops reading and closes the connection. */
  keep_response_bytes: number;
  tls?: ClientTls;
}

/** What came back. No status: nothing usable arrived (`error` says why); a status with an error: the body did not arrive in full. */
export interface HttpAnswer {
  status: number | null;
  /** Names in lower case, in the order received. */
  headers: [string, string][] | null;
  /** The kept prefix of the body as UTF-8; null when the answer has no body or nothing is kept. */
  body: string | null;
  error: string | null;
}

/** An answer with nothing usable: `error` says why (the request was refused, or its connection lost). */
export function noAnswer(error: string): HttpAnswer {
  return { status: null, headers: null, body: null, error };
}

/**
 * A request written out and checked (HttpClient.plan), ready to be sent by any
 * client's pool: plain data, so it can cross to the client's worker.
 */
export interface RequestPlan {
  /** The pool key: origin and TLS identity. */
  key: string;
  hostname: string;
  port: number;
  tls: ClientTls | null;
  /** The whole request: head and body. */
  text: string;
  /** Its length in bytes. */
  bytes: number;
  timeout_ms: number;
  keep_response_bytes: number;
}
