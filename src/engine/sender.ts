// Sends one delivery over HTTP exactly as DESIGN §3 says and describes what
// happened as a value (never an exception): status, kept body, error, Retry-After.
import { SIGNATURE_HEADERS } from "../config/fields.ts";
import type { Attempt, Destination, EventForDelivery } from "../store/types.ts";
import type { AddressGuard } from "./address-guard.ts";
import { HeaderBlock } from "./http-client/header-block.ts";
import { networkError } from "./http-client/network-error.ts";
import type { ClientTls, HttpAnswer, WebhookClient } from "./http-client/request-and-answer.ts";
import { signatureHeader } from "./signing.ts";

export interface SendResult {
  ok: boolean;
  /** False when trying again cannot help (the address is forbidden by policy). */
  retryable: boolean;
  status: number | null;
  retry_after_ms: number | null;
  attempt: Omit<Attempt, "id" | "delivery_id" | "number">;
}

export interface SendOptions {
  fetch: typeof fetch;
  now: () => number;
  /** Resolves and checks the destination's address (SSRF guard). */
  guard: AddressGuard;
  timeout_ms: number;
  keep_response_bytes: number;
  user_agent: string;
  /** delivery.proxy: every request goes through it (CONNECT for https); the guard then leaves host names unpinned. */
  proxy?: string;
  /** Certificate authorities trusted for receivers: the system's plus delivery.tls_ca; unset when there is no tls_ca. */
  ca?: string[];
  /**
   * The keep-alive client for direct sends (http-client.ts); unset: fetch.
   * Sends through `proxy` always use fetch, which speaks CONNECT and the
   * proxy's own authentication; the client connects only directly.
   */
  client?: WebhookClient;
}

const REDACTED = "[redacted]";

/**
 * What the attempt log keeps of the response headers: at most 8 KiB of names
 * and values in all, each value cut at 1 KiB. A receiver answering 250 headers
 * of 4 KiB once made each attempt record ~1 MB. Headers over the budget are
 * dropped and counted under DROPPED_KEY (not a valid header name, so it cannot
 * be mistaken for one the receiver sent).
 */
export const KEEP_HEADER_BYTES = 8192;
export const KEEP_HEADER_VALUE_BYTES = 1024;
export const DROPPED_KEY = "(dropped)";

/** Bodies already built, per event object: a fan-out to many destinations builds one. */
const bodies = new WeakMap<EventForDelivery, string>();

/** The body every destination receives: the event envelope, with `data` spliced in as stored. */
export function envelope(e: EventForDelivery): string {
  let body = bodies.get(e);
  if (body === undefined) {
    body = `{"type":${JSON.stringify(e.type)},"timestamp":"${new Date(e.created_at).toISOString()}","data":${e.data_json}}`;
    bodies.set(e, body);
  }
  return body;
}

/**
 * What a send to one destination repeats every time, built once per
 * destination object (the catalogue replaces the object when the destination
 * changes, so a change is never missed) and per engine's options: the static
 * headers as sent and as logged, the TLS settings when no address is pinned,
 * and the secrets when none of them expires.
 */
interface Prepared {
  options: SendOptions;
  /** The destination's static headers, then content-type and user-agent: the head of every request's headers. */
  fixed: Record<string, string>;
  /** `fixed` as the keep-alive client writes it, checked once (the per-send headers below override theirs, as in fetch's spread). */
  block: HeaderBlock;
  /** The same as the attempt log keeps them: the static headers' values redacted (they often carry credentials). */
  loggedFixed: Record<string, string>;
  /** TLS settings for a target without a pinned server name; null when unset. */
  tls: ReturnType<typeof tlsOptions> | null;
  /** The signing secrets when none has an expiry; null: filtered per send. */
  secrets: string[] | null;
  /** The client's TLS settings per pinned server name ("" for none): one object each, so the client's pool key is cut once. */
  clientTls: Map<string, ClientTls>;
}

const prepared = new WeakMap<Destination, Prepared>();
/**
 * Headers Herald sets on every send: a static header of the same name, in any
 * case (one stored before the API refused it), gives way, never written twice.
 */
const SET_BY_HERALD = new Set([...SIGNATURE_HEADERS, "content-type"]);

function prepare(destination: Destination, options: SendOptions): Prepared {
  const known = prepared.get(destination);
  if (known && known.options === options) return known;
  const fixed: Record<string, string> = {};
  const loggedFixed: Record<string, string> = {};
  for (const name in destination.headers) {
    if (SET_BY_HERALD.has(name.toLowerCase())) continue;
    fixed[name] = destination.headers[name]!;
    loggedFixed[name] = REDACTED;
  }
  // A destination may name its own user-agent (not reserved); Herald's goes otherwise.
  const common: Record<string, string> = { "content-type": "application/json" };
  if (!Object.keys(fixed).some((name) => name.toLowerCase() === "user-agent")) common["user-agent"] = options.user_agent;
  Object.assign(fixed, common);
  Object.assign(loggedFixed, common);
  const block = HeaderBlock.of(fixed);
  const made: Prepared = {
    options,
    fixed,
    block,
    loggedFixed,
    tls: tlsOptions(undefined, destination, options.ca) ?? null,
    secrets: destination.secrets.every((s) => s.expires_at === null) ? destination.secrets.map((s) => s.secret) : null,
    clientTls: new Map(),
  };
  prepared.set(destination, made);
  return made;
}

type Answer = Pick<SendResult["attempt"], "response_status" | "response_headers" | "response_body" | "error">;

/** The attempt as logged: `started` is performance.now() at the start, for the duration. */
function attemptOf(startedAt: number, started: number, url: string, logged: Record<string, string>, answer: Answer): SendResult["attempt"] {
  return {
    started_at: startedAt, duration_ms: Math.round(performance.now() - started), request_url: url, request_headers: logged,
    response_status: answer.response_status, response_headers: answer.response_headers, response_body: answer.response_body, error: answer.error,
  };
}

export async function send(event: EventForDelivery, destination: Destination, options: SendOptions): Promise<SendResult> {
  const startedAt = options.now();
  const timestamp = String(Math.floor(startedAt / 1000));
  const body = envelope(event);
  const p = prepare(destination, options);
  const secrets = p.secrets ?? destination.secrets.filter((s) => s.expires_at === null || s.expires_at > startedAt).map((s) => s.secret);
  const signature = signatureHeader(secrets, event.id, Number(timestamp), body);
  // The log keeps header names but never the signature or the static headers' values.
  const logged: Record<string, string> = { ...p.loggedFixed, "webhook-id": event.id, "webhook-timestamp": timestamp, "webhook-signature": REDACTED };

  const started = performance.now();
  const failure = (error: string, retryable: boolean): SendResult => ({
    ok: false,
    retryable,
    status: null,
    retry_after_ms: null,
    attempt: attemptOf(startedAt, started, destination.url, logged, { response_status: null, response_headers: null, response_body: null, error }),
  });

  // Checked once per destination, on both paths: trying again cannot help until its headers change.
  if (p.block.problem !== null) return failure(p.block.problem, false);
  // Most verdicts come back at once (no DNS answer needed, or one cached): no promise to wait for.
  const found = options.guard.target(destination.url);
  const target = found instanceof Promise ? await found : found;
  if (!target.ok) return failure(target.message, target.retryable);
  const timeout = destination.timeout_ms ?? options.timeout_ms;
  if (options.client && options.proxy === undefined) {
    const headers = { "webhook-id": event.id, "webhook-timestamp": timestamp, "webhook-signature": signature };
    const servername = target.servername ?? "";
    let tls = p.clientTls.get(servername);
    if (tls === undefined) {
      tls = { ...(servername ? { servername } : {}), ...(destination.client_tls ? { cert: destination.client_tls.cert, key: destination.client_tls.key } : {}), ...(options.ca ? { ca: options.ca } : {}) };
      // Bounded: a host name's pinned addresses change, its server name does not.
      if (p.clientTls.size < 16) p.clientTls.set(servername, tls);
    }
    const answer = await options.client.post({ url: target.url, host: target.host, fixed: p.block, headers, body, timeout_ms: timeout, keep_response_bytes: options.keep_response_bytes, tls });
    return resultOf(answer, startedAt, started, destination.url, logged, failure);
  }
  // One timer for the whole exchange, headers and body: an answer that drips
  // its body a byte at a time, or never ends, is cut off at the timeout too
  // (the signal aborts the body stream as well as the request).
  const signal = AbortSignal.timeout(timeout);
  const init: RequestInit & { proxy?: string; tls?: ReturnType<typeof tlsOptions> } = {
    method: "POST",
    headers: { ...p.fixed, "webhook-id": event.id, "webhook-timestamp": timestamp, "webhook-signature": signature, host: target.host },
    body,
    redirect: "manual",
    signal,
  };
  if (options.proxy !== undefined) init.proxy = options.proxy;
  const tls = target.servername ? tlsOptions(target.servername, destination, options.ca) : p.tls;
  if (tls) init.tls = tls;
  let response: Response;
  try {
    response = await options.fetch(target.url, init);
  } catch (error) {
    return failure(describeFetchError(error, timeout), true);
  }
  // fetch's answer in the client's terms, so both are told by one resultOf.
  const answer: HttpAnswer = { status: response.status, headers: [...response.headers], body: null, error: null };
  try {
    answer.body = await readPrefix(response, options.keep_response_bytes);
  } catch (error) {
    answer.error = describeFetchError(error, timeout);
  }
  return resultOf(answer, startedAt, started, destination.url, logged, failure);
}

/**
 * An answer as the attempt log tells it: nothing usable (a network failure);
 * a status whose body did not finish within the timeout (a failure, retried
 * like a network error whatever the status said, the log keeping what did
 * arrive); or the status, the kept body and what it means.
 */
function resultOf(answer: HttpAnswer, startedAt: number, started: number, url: string, logged: Record<string, string>, failure: (error: string, retryable: boolean) => SendResult): SendResult {
  const { status, headers } = answer;
  if (status === null || headers === null) return failure(answer.error ?? "no answer", true);
  const location = headerOf(headers, "location");
  if (answer.error !== null) {
    return {
      ok: false,
      retryable: true,
      status: null,
      retry_after_ms: null,
      attempt: attemptOf(startedAt, started, url, logged, {
        response_status: status, response_headers: keptHeaders(headers), response_body: null,
        error: `${status >= 200 && status < 300 ? `HTTP ${status}` : statusError(status, location)}, body not received in full: ${answer.error}`,
      }),
    };
  }
  const ok = status >= 200 && status < 300;
  return {
    ok,
    retryable: !ok,
    status,
    retry_after_ms: status === 429 || status === 503 ? parseRetryAfter(headerOf(headers, "retry-after"), startedAt) : null,
    attempt: attemptOf(startedAt, started, url, logged, {
      response_status: status, response_headers: keptHeaders(headers), response_body: answer.body,
      error: ok ? null : statusError(status, location),
    }),
  };
}

/** The first value of a header among the client's pairs (names already lower case). */
function headerOf(headers: [string, string][], name: string): string | null {
  for (const [n, v] of headers) if (n === name) return v;
  return null;
}

/** TLS settings for one request: SNI when the address was pinned, the destination's client certificate, extra CAs. */
function tlsOptions(servername: string | undefined, destination: Destination, ca: string[] | undefined) {
  if (!servername && !destination.client_tls && !ca) return undefined;
  return {
    ...(servername ? { serverName: servername } : {}),
    ...(destination.client_tls ? { cert: destination.client_tls.cert, key: destination.client_tls.key } : {}),
    ...(ca ? { ca } : {}),
  };
}

/**
 * The response headers the attempt log keeps, in the order received, within
 * the budget above: fetch's Headers, or the client's name/value pairs (a
 * repeated name joined with ", " as Headers does).
 */
export function keptHeaders(headers: Iterable<[string, string]>): Record<string, string> {
  // No prototype: a receiver's header named __proto__ is kept as a header, not taken for the object's prototype.
  const kept: Record<string, string> = Object.create(null);
  let used = 0;
  let dropped = 0;
  let total = 0;
  for (const [name, received] of headers) {
    total++;
    const before = Object.hasOwn(kept, name) ? kept[name]! : null;
    const full = before === null ? received : `${before}, ${received}`;
    const value = full.length > KEEP_HEADER_VALUE_BYTES ? `${full.slice(0, KEEP_HEADER_VALUE_BYTES - 1)}…` : full;
    const size = (before === null ? name.length : -before.length) + value.length;
    if (used + size > KEEP_HEADER_BYTES) {
      dropped++;
      continue;
    }
    used += size;
    kept[name] = value;
  }
  if (dropped) kept[DROPPED_KEY] = `${dropped} headers of ${total}, over the ${KEEP_HEADER_BYTES}-byte limit of the attempt log`;
  return kept;
}

function statusError(status: number, location: string | null): string {
  if (status >= 300 && status < 400) return `redirect ${status} to ${location ?? "(no location)"} not followed`;
  return `HTTP ${status}`;
}

/** fetch's failure in the attempt log's words: its timeout as the client says it, the rest as the client names network errors. */
function describeFetchError(error: unknown, timeout: number): string {
  const { name } = (error as { name?: unknown } | null) ?? {};
  if (name === "TimeoutError" || name === "AbortError") return `timed out after ${timeout} ms`;
  return networkError(error);
}

/** Reads at most `limit` bytes of the body, then stops reading: a huge answer costs nothing. */
async function readPrefix(response: Response, limit: number): Promise<string | null> {
  if (!response.body) return null;
  if (limit === 0) {
    await response.body.cancel();
    return null;
  }
  // The common case, a short answer of known length, skips the stream reader
  // (getReader/read/releaseLock were ~4 % of the deliver bench's CPU).
  const length = Number(response.headers.get("content-length") ?? NaN);
  if (length <= limit) return await response.text();
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    if (size >= limit) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
  const bytes = Buffer.concat(chunks).subarray(0, limit);
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes);
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
