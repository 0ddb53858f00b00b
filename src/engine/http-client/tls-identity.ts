// The pool key's TLS part: connections are reused only by requests with the
// same SNI name, client certificate and trusted CAs.
import type { ClientTls } from "./request-and-answer.ts";

/** Settings cut into a pool key once per TLS settings object (the sender keeps them per destination). */
const identities = new WeakMap<ClientTls, string>();
export const NO_TLS: ClientTls = Object.freeze({});
const caIds = new WeakMap<string[], number>();
let nextCaId = 1;

export function identity(tls: ClientTls): string {
  let id = identities.get(tls);
  if (id === undefined) {
    let ca = 0;
    if (tls.ca) {
      ca = caIds.get(tls.ca) ?? nextCaId++;
      caIds.set(tls.ca, ca);
    }
    // The whole certificate and key, not a hash of them: two identities never share a key.
    id = JSON.stringify([tls.servername ?? null, tls.cert ?? null, tls.key ?? null, ca]);
    identities.set(tls, id);
  }
  return id;
}
