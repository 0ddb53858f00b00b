// The one rule for Standard Webhooks secrets (src/rules/secrets.ts), which the
// config file and the management API both apply: what is accepted, and that
// every secret Herald generates passes it.
import { describe, expect, it } from "bun:test";
import { randomBytes } from "node:crypto";
import { generateSecret, isValidSecret } from "../src/rules/secrets.ts";

const secretOf = (bytes: number) => "whsec_" + randomBytes(bytes).toString("base64");

describe("secrets", () => {
  it("accepts every secret Herald generates", () => {
    for (let i = 0; i < 50; i++) expect(isValidSecret(generateSecret())).toBe(true);
  });

  it("accepts 24 to 64 bytes and refuses fewer or more", async () => {
    expect([23, 24, 64, 65].map((n) => isValidSecret(secretOf(n)))).toEqual([false, true, true, false]);
  });

  it("refuses base64 that lost its padding or its prefix", async () => {
    const padded = await secretOf(32); // 32 bytes: 44 characters ending in "="
    expect(padded.endsWith("=")).toBe(true);
    expect(isValidSecret(padded.slice(0, -1))).toBe(false);
    expect(isValidSecret(padded.slice("whsec_".length))).toBe(false);
    expect(isValidSecret("whsec_" + "!".repeat(44))).toBe(false);
  });
});
