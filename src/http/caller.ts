// Who a request's changes are recorded under (the engine's Caller): the
// principal's name and kind of credential, and the request's id — the one the
// answer carries in `x-request-id` (request-id.ts): the client's own when it is
// a short plain token, else the one Herald made.
import type { Caller } from "../engine/audit.ts";
import type { Principal } from "./auth.ts";
import { requestIdOf } from "./request-id.ts";

export function callerOf(principal: Principal, request: Request): Caller {
  return {
    // A portal link is recorded as a token (the audit log's actor types), named `portal:<tenant>`.
    actor: { type: principal.kind === "portal" ? "token" : principal.kind, name: principal.name },
    request_id: requestIdOf(request),
  };
}
