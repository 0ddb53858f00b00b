// The yardstick every ratio is measured against: a plain Bun fetch of a
// webhook-sized request, as Herald would send it, to the bench receiver. The
// `baseline` scenario and bench/send-ab.ts both use this one request, so they
// always measure the same thing.

/**
 * How many requests the yardstick keeps in flight: issue 17 states its ratios
 * against 64 (until then it ran at Herald's default delivery.concurrency, 256,
 * which the loop serves no faster).
 */
export const BASELINE_CONCURRENCY = 64;

const HEADERS = {
  "content-type": "application/json", "user-agent": "Herald/bench", "webhook-timestamp": "1700000000",
  "webhook-signature": "v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=",
};

/** The body Herald sends for an event of `type` carrying `data` (a JSON text). */
export const webhookBody = (type: string, data: string, at = Date.now()): string =>
  `{"type":${JSON.stringify(type)},"timestamp":"${new Date(at).toISOString()}","data":${data}}`;

/** One yardstick request, message `i`; throws unless the receiver answered 200. */
export async function plainSend(url: string, body: string, i: number): Promise<void> {
  const response = await fetch(url, { method: "POST", headers: { ...HEADERS, "webhook-id": `msg_${i}` }, body });
  await response.arrayBuffer();
  if (response.status !== 200) throw new Error(`the receiver answered ${response.status}`);
}
