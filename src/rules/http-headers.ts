// HTTP header rules shared by the config, the API and the webhook client: what a
// header name may be, and which headers frame a request. No imports: the client
// loads this on its own thread (src/engine/http-client/client-worker.ts).
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/; // RFC 9110 "token"
/**
 * Headers that frame the message or govern the connection rather than the
 * request (RFC 9110 §7.6.1, plus those Herald writes itself). The webhook
 * client writes its own content-length on kept-alive connections: a
 * destination's `transfer-encoding: chunked` or `connection: upgrade` would
 * make the receiver read the next request's bytes out of step (request
 * smuggling). The config and the API refuse them; the client's header checks
 * (src/engine/http-client/header-block.ts) refuse them too, for destinations
 * stored before that check.
 */
export const FRAMING_HEADERS = [
  "content-length",
  "host",
  "transfer-encoding",
  "connection",
  "upgrade",
  "te",
  "keep-alive",
  "trailer",
  "proxy-connection",
];
