// `herald token`: makes a new random API token and the auth.tokens line that admits it,
// which holds only the token's SHA-256, so the config file never holds the token itself.
import { randomBytes } from "node:crypto";
import { ID } from "../config/fields.ts";
import { sha256Hex } from "../rules/hashing.ts";
import { newToken } from "../rules/tokens.ts";
import { flag, UsageError, type ParsedArgs } from "./flags.ts";

export async function run(args: ParsedArgs): Promise<void> {
  const tenant = flag(args, "tenant");
  const name = flag(args, "name") ?? `${tenant ?? "admin"}-${randomBytes(3).toString("hex")}`;
  if (!ID.test(name)) throw new UsageError("herald token: --name must be 1 to 64 letters, digits, _ or -");
  if (tenant !== undefined && !ID.test(tenant)) throw new UsageError("herald token: --tenant must be 1 to 64 letters, digits, _ or -");
  const token = newToken();
  const role = tenant === undefined ? "role: admin" : `role: tenant, tenant: ${tenant}`;
  console.log(
    [
      token,
      "# The token above is shown only this once. Put this line under auth.tokens in the config",
      "# (auth: { tokens: [ … ] }); Herald keeps only its SHA-256:",
      `- { name: ${name}, ${role}, token_sha256: ${sha256Hex(token)} }`,
    ].join("\n"),
  );
}
