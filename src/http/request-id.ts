// Each request's id: the client's `x-request-id` when it is a short plain
// token (1–128 of A-Z a-z 0-9 . _ : -), else one Herald makes. The answer
// carries it back as `x-request-id`, the debug log line names it, and the audit
// log records it (caller.ts): one id ties the three together. Anything else a
// client sends there is dropped, so neither log stores what a header may carry.

const REQUEST_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

const ids = new WeakMap<Request, string>();

/** Gives the request its id (the server's outermost wrapper does, before any hook runs). */
export function assignRequestId(request: Request): string {
  const sent = request.headers.get("x-request-id");
  const id = sent !== null && REQUEST_ID.test(sent) ? sent : `req_${crypto.randomUUID()}`;
  ids.set(request, id);
  return id;
}

/** The request's id; one is made now for a request that never passed the wrapper (an in-process test's). */
export function requestIdOf(request: Request): string {
  return ids.get(request) ?? assignRequestId(request);
}
