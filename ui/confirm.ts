// A button that acts only on its second press: the first arms it (a new label,
// and a warning saying what will happen), so a stray click or key press changes
// nothing. Deleting a resource and revoking a key or a portal link use it.
import { fill, h } from "./dom.ts";
import { errorBox } from "./format.ts";

export interface Confirm {
  label: string;
  /** Its label once armed: says what the next press does. */
  confirmLabel: string;
  /** The button's class, data-action and aria-label. */
  attrs: Record<string, string>;
  /** Where the warning (when armed) and the API's refusal are shown. */
  out: HTMLElement;
  warning?: string;
  /** The change; a refusal it throws is shown in `out` and the button works again. */
  act: () => Promise<void>;
}

export function confirmButton(c: Confirm): HTMLButtonElement {
  const button = h("button", { type: "button", ...c.attrs }, c.label);
  let armed = false;
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = c.confirmLabel;
      if (c.warning) fill(c.out, h("p", { class: "warn inline" }, c.warning));
      return;
    }
    button.disabled = true;
    try {
      await c.act();
    } catch (error) {
      fill(c.out, errorBox(error));
      button.disabled = false;
    }
  });
  return button;
}
