// A button that acts only on its second press: the first arms it (a new label,
// and a warning saying what will happen), so a stray click or key press changes
// nothing. Deleting a resource and revoking a key or a portal link use it.
import { fill, h } from "./dom.ts";
import { request } from "./api.ts";
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

/**
 * The "Delete" section at the foot of a resource's form: a two-step danger
 * button that sends DELETE `path` and then goes to `after` (the list, with its
 * notice); the API's refusal is shown beside the button.
 */
export function deleteSection(d: { label: string; confirmLabel: string; warning: string; path: string; after: string }): HTMLElement {
  const out = h("div", { class: "action-output", "aria-live": "polite" });
  const button = confirmButton({
    label: d.label, confirmLabel: d.confirmLabel, attrs: { class: "danger", "data-action": "delete" }, out, warning: d.warning,
    act: async () => {
      await request("DELETE", d.path);
      location.hash = d.after;
    },
  });
  return h("section", { class: "card danger-zone", "aria-labelledby": "h-delete" }, h("h2", { id: "h-delete" }, "Delete"), button, out);
}
