// Who a request's changes are recorded under (the engine's Caller): the
// principal's name and kind of credential, and the request's id when the client
// sent one in `x-request-id` (kept only when it is a short plain token, so the
// audit log never stores whatever a header may carry).
import type { Caller } from "../engine/audit.ts";
import type { Principal } from "./auth.ts";

const REQUEST_ID = /^[A-Za-z0-9._:\-]{1,128}$/;

export function callerOf(principal: Principal, request: Request): Caller {
  const id = request.headers.get("x-request-id");
  return {
    // A portal link is recorded as a token (the audit log's actor types), named `portal:<tenant>`.
    actor: { type: principal.kind === "portal" ? "token" : (principal.kind ?? "token"), name: principal.name },
    request_id: id !== null && REQUEST_ID.test(id) ? id : null,
  };
}
