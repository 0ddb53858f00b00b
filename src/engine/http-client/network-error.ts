// The words the attempt log uses for a failed connection, on both send paths
// (the keep-alive client and fetch).

/**
 * Network failures the attempt log names in its own words (this client's and
 * fetch's, src/engine/sender.ts): Bun's messages end with advice to the
 * programmer ("pass `verbose: true` … to fetch()") that means nothing to
 * someone reading why a delivery failed.
 */
const NETWORK_ERRORS: Record<string, string> = {
  ECONNRESET: "the receiver closed the connection before answering in full (ECONNRESET)",
  ECONNREFUSED: "connection refused (ECONNREFUSED)",
};

/** A network error as the attempt log says it: in the words above, else Bun's message with its code. */
export function networkError(error: unknown): string {
  const { code, message } = (error as { code?: unknown; message?: unknown } | null) ?? {};
  if (typeof code === "string" && NETWORK_ERRORS[code]) return NETWORK_ERRORS[code];
  const text = typeof message === "string" ? message : String(error);
  return typeof code === "string" && !text.includes(code) ? `${text} (${code})` : text;
}
