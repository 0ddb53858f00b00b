// The cost of signing one message: `v1` HMAC-SHA256 against `v1a` ed25519, through
// Herald's own signatureHeader (keys cached as in a running Herald), and what
// building the ed25519 key object each time would add. Run:
//   npx bun bench/signing.ts
import { createPrivateKey, sign } from "node:crypto";
import { signatureHeader } from "../src/engine/signing.ts";
import { generateSecret } from "../src/rules/secrets.ts";
import { generatePrivateKey } from "../src/rules/signing-keys.ts";

const N = 20_000;
// A typical small event, as the sender's envelope writes it.
const body = JSON.stringify({ type: "order.paid", timestamp: new Date().toISOString(), data: { id: "ord_123", amount: 4200, currency: "EUR", customer: "cus_9" } });
const id = "evt_0199a1c2-7d3e-7000-8000-000000000000";

function perMessage(label: string, fn: (i: number) => unknown): number {
  for (let i = 0; i < 1000; i++) fn(i); // warm-up
  const start = performance.now();
  for (let i = 0; i < N; i++) fn(i);
  const us = ((performance.now() - start) * 1000) / N;
  console.log(`${label.padEnd(52)} ${us.toFixed(2).padStart(7)} µs/message`);
  return us;
}

const hmac = [generateSecret()];
const ed = [generatePrivateKey()];
const hmacUs = perMessage("v1  HMAC-SHA256 (one secret)", (i) => signatureHeader(hmac, id, 1_700_000_000 + i, body));
const edUs = perMessage("v1a ed25519 (one key, key object cached)", (i) => signatureHeader(ed, id, 1_700_000_000 + i, body));
perMessage("v1a ed25519 (two keys: a rotation's grace)", (i) => signatureHeader([...ed, generatePrivateKeyOnce()], id, 1_700_000_000 + i, body));
const seed = Buffer.from(ed[0]!.slice(5), "base64");
const der = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
perMessage("v1a ed25519 building the key object every time", (i) => sign(null, Buffer.from(`${id}.${i}.${body}`), createPrivateKey({ key: der, format: "der", type: "pkcs8" })));
console.log(`ed25519 / HMAC: ${(edUs / hmacUs).toFixed(1)}x`);

function generatePrivateKeyOnce(): string {
  return (generatePrivateKeyOnce as any).key ??= generatePrivateKey();
}
