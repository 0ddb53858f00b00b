// Who the signed-in token is (GET /v1/me): the forms offer only what the API
// will allow it (no event-type editing for a tenant, no managing for a reader).
// Asked once per token; the API still decides every request.
import { get, getToken } from "./api.ts";

export interface Me {
  name: string;
  role: "admin" | "tenant" | "publisher" | "reader";
  tenant: string | null;
  event_types: string[] | null;
}

let cached: { token: string; me: Promise<Me | null> } | null = null;

/** The token's role and tenant; null when Herald does not say (an older Herald): offer everything and let the API refuse. */
export function whoAmI(): Promise<Me | null> {
  const token = getToken() ?? "";
  if (cached?.token !== token) cached = { token, me: get<Me>("/v1/me").catch(() => null) };
  return cached.me;
}

export const mayManage = (me: Me | null) => me === null || me.role === "admin" || me.role === "tenant";
export const isAdmin = (me: Me | null) => me === null || me.role === "admin";
