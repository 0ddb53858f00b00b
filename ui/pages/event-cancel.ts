// The event page's "Cancel pending deliveries": a button, an in-page confirmation
// (keyboard-usable, Escape backs out; no window.confirm), then the cancel route's
// answer. Whether a token may cancel is the API's call: a refusal is shown as is.
import { post } from "../api.ts";
import { fill, h } from "../dom.ts";
import { badge, errorBox } from "../format.ts";
import type { Delivery, HeraldEvent } from "../types.ts";

/** POST /v1/events/{id}/cancel: the event, all its deliveries, and how many this request cancelled. */
export type CancelAnswer = HeraldEvent & { deliveries: Delivery[]; cancelled: number };

export interface CancelControl {
  /** Goes in the deliveries' section head; hidden while nothing is pending. */
  button: HTMLButtonElement;
  /** The confirmation and the outcome, under the head. */
  panel: HTMLElement;
  /** Called after each read of the deliveries with how many are pending now. */
  show(pending: number): void;
}

const deliveries = (n: number) => `${n} ${n === 1 ? "delivery" : "deliveries"}`;

export function cancelControl(eventId: string, afterCancel: (answer: CancelAnswer) => Promise<void>): CancelControl {
  let pending = 0;
  let confirming = false;
  let busy = false;

  const button = h(
    "button",
    { type: "button", class: "secondary danger", id: "cancel-pending", hidden: true, "aria-expanded": "false", "aria-controls": "cancel-confirm" },
    "Cancel pending deliveries",
  );
  const question = h("p", { id: "cancel-question" });
  const yes = h("button", { type: "button", class: "danger", id: "cancel-yes" });
  const no = h("button", { type: "button", class: "secondary", id: "cancel-no" });
  const confirm = h("div", { class: "confirm", id: "cancel-confirm", role: "group", "aria-labelledby": "cancel-question", hidden: true }, question, h("div", { class: "row" }, yes, no));
  // Focus moves here once the cancel is done, so a keyboard user hears the count.
  const result = h("div", { id: "cancel-result", "aria-live": "polite", tabindex: "-1" });
  const panel = h("div", { class: "cancel-area" }, confirm, result);

  const word = () => {
    question.textContent =
      `Cancel the ${pending} pending ${pending === 1 ? "delivery" : "deliveries"} of this event? ${pending === 1 ? "It" : "They"} will not be sent, and this cannot be undone. ` +
      "A delivery being sent right now is left to finish.";
    yes.textContent = pending === 1 ? "Yes, cancel it" : "Yes, cancel them";
    no.textContent = pending === 1 ? "No, keep it" : "No, keep them";
  };

  const open = () => {
    confirming = true;
    word();
    fill(result);
    confirm.hidden = false;
    button.hidden = true;
    button.setAttribute("aria-expanded", "true");
    // The choice that changes nothing takes focus first, as in a confirmation dialog.
    no.focus();
  };

  const close = (returnFocus: boolean) => {
    confirming = false;
    confirm.hidden = true;
    button.hidden = pending === 0;
    button.setAttribute("aria-expanded", "false");
    if (returnFocus && !button.hidden) button.focus();
  };

  const cancel = async () => {
    busy = true;
    yes.disabled = no.disabled = true;
    yes.textContent = "Cancelling…";
    try {
      const answer = await post<CancelAnswer>(`/v1/events/${encodeURIComponent(eventId)}/cancel`);
      close(false);
      fill(
        result,
        h(
          "p",
          { role: "status", class: "result result-ok" },
          badge("cancelled", "cancelled"),
          " ",
          answer.cancelled === 0
            ? "Nothing was left to cancel: every delivery had been made or cancelled meanwhile."
            : `Cancelled ${deliveries(answer.cancelled)}; ${answer.cancelled === 1 ? "it" : "they"} will not be sent.`,
        ),
      );
      await afterCancel(answer).catch((error) => result.append(errorBox(error)));
      result.focus();
    } catch (error) {
      close(false);
      fill(result, errorBox(error));
      button.hidden = false;
      button.focus();
    } finally {
      busy = false;
      yes.disabled = no.disabled = false;
    }
  };

  button.addEventListener("click", open);
  no.addEventListener("click", () => close(true));
  yes.addEventListener("click", () => void cancel());
  confirm.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !busy) {
      event.preventDefault();
      close(true);
    }
  });

  return {
    button,
    panel,
    show(n) {
      pending = n;
      // While the question is open it follows the count (a refresh may bring one in
      // or take one away); once the request is out, its answer decides what shows.
      if (!confirming) button.hidden = n === 0;
      else if (busy) return;
      else if (n === 0) close(false);
      else word();
    },
  };
}
