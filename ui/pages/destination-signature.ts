// A destination card's line about how it signs: for ed25519 (`v1a`), the public key
// receivers verify with, and a button to copy it. HMAC destinations show nothing:
// their secret is revealed through the API only, never on a card.
import { h } from "../dom.ts";
import { copyButton } from "../format.ts";
import type { Destination } from "../types.ts";

export function signatureLine(d: Destination): HTMLElement | null {
  if (d.signature !== "ed25519" || d.public_key === null) return null;
  const key = d.public_key;
  return h(
    "div",
    { class: "row signature-key" },
    h("span", { class: "muted" }, "Signs v1a (ed25519). Public key: "),
    h("code", { class: "mono break", "aria-label": `public key of ${d.id}` }, key),
    copyButton("Copy public key", () => key),
  );
}
