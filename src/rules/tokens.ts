// The shape of the API tokens Herald makes: at a first start with none
// configured (auth.ts), and for `herald token` (the config then keeps only its SHA-256).
import { randomBytes } from "node:crypto";

export function newToken(): string {
  return "hrld_" + randomBytes(32).toString("base64url");
}
