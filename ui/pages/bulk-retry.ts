// Retrying many failed deliveries at once from the event log: a checkbox per
// failed delivery (kept across auto-refreshes), and a bar that retries the
// selected ones, or every one matching the log's filter, through
// POST /v1/deliveries/retry, then says how many were queued.
import { post } from "../api.ts";
import { fill, h } from "../dom.ts";
import { badge, errorBox } from "../format.ts";
import type { Delivery } from "../types.ts";

/** What "all matching" sends: the log's filters, limited to failed deliveries. */
export interface FailedFilter {
  destination_id?: string;
  event_type?: string;
  tenant?: string;
  since?: string;
  until?: string;
}

export class BulkRetry {
  readonly selected = new Set<string>();
  private readonly count = h("span", { id: "bulk-count" }, "0 selected");
  private readonly retrySelected = h("button", { type: "button", "data-action": "retry-selected", disabled: true }, "Retry selected");
  private readonly retryAll = h("button", { type: "button", class: "secondary", "data-action": "retry-matching" }, "Retry all matching the filter");
  private readonly out = h("div", { id: "bulk-result", "aria-live": "polite" });
  readonly bar: HTMLElement;

  constructor(filter: FailedFilter, reload: () => Promise<void>) {
    this.bar = h("div", { class: "toolbar bulk", role: "group", "aria-label": "Retry failed deliveries" }, this.count, " ", this.retrySelected, " ", this.retryAll, this.out);
    const run = async (button: HTMLButtonElement, body: unknown) => {
      button.disabled = true;
      try {
        const r = await post<{ queued: number; skipped: number }>("/v1/deliveries/retry", body);
        fill(this.out, h("p", { role: "status" }, badge("ok", "queued"), ` ${r.queued} ${r.queued === 1 ? "delivery" : "deliveries"} queued for another attempt` + (r.skipped ? `, ${r.skipped} skipped (no longer failed)` : "") + "."));
        this.selected.clear();
        this.update();
        await reload();
      } catch (error) {
        fill(this.out, errorBox(error));
      } finally {
        button.disabled = button === this.retrySelected && this.selected.size === 0;
      }
    };
    this.retrySelected.addEventListener("click", () => run(this.retrySelected, { ids: [...this.selected] }));
    this.retryAll.addEventListener("click", () => run(this.retryAll, { filter: { status: "failed", ...dropEmpty(filter) } }));
  }

  /** The checkbox cell of one failed delivery; a native checkbox, so Space toggles it. */
  cell(d: Delivery): HTMLTableCellElement {
    const box = h("input", { type: "checkbox", "data-select": d.id, "aria-label": `Select delivery ${d.id} to retry`, checked: this.selected.has(d.id) });
    box.addEventListener("change", () => {
      if (box.checked) this.selected.add(d.id);
      else this.selected.delete(d.id);
      this.update();
    });
    return h("td", { "data-label": "Select" }, box);
  }

  private update(): void {
    this.count.textContent = `${this.selected.size} selected`;
    this.retrySelected.disabled = this.selected.size === 0;
  }
}

function dropEmpty(filter: FailedFilter): FailedFilter {
  return Object.fromEntries(Object.entries(filter).filter(([, v]) => v !== undefined && v !== "")) as FailedFilter;
}
