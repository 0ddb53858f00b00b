// Labelled form fields that can show the API's validation errors beside
// themselves: an answer's details[].path ("url", "headers.x-token",
// "event_types.0", "filter.data.total") goes to the field registered for its
// first segment; anything no field claims is shown at the top of the form. The
// form is never redrawn on an error, so what the user typed stays.
import { ApiError } from "./api.ts";
import { fill, h, type Child } from "./dom.ts";
import { errorBox } from "./format.ts";

interface Slot {
  control: HTMLElement;
  error: HTMLElement;
}

export class FormFields {
  private readonly slots = new Map<string, Slot>();
  private readonly aliases = new Map<string, string>();
  /** Problems no field claims, and the answer's own message. */
  readonly summary = h("div", { class: "form-summary", "aria-live": "polite" });

  /** A labelled field whose errors are those at `path`; `control` keeps the id given. */
  field(path: string, label: string, control: HTMLElement, hint?: Child): HTMLElement {
    const id = control.id || `f-${path}`;
    control.id = id;
    const error = h("p", { class: "field-error", id: `${id}-error`, "data-error-for": path, hidden: true });
    const hintEl = hint ? h("p", { class: "hint", id: `${id}-hint` }, hint) : null;
    control.setAttribute("aria-describedby", [hintEl ? `${id}-hint` : "", `${id}-error`].filter(Boolean).join(" "));
    this.slots.set(path, { control, error });
    return h("div", { class: "field", "data-field": path }, h("label", { for: id }, label), control, hintEl, error);
  }

  /** Errors at `from` (another name the API uses for the same input) go to the field at `to`. */
  alias(from: string, to: string): void {
    this.aliases.set(from, to);
  }

  clear(): void {
    fill(this.summary);
    for (const { control, error } of this.slots.values()) {
      error.hidden = true;
      error.textContent = "";
      control.removeAttribute("aria-invalid");
    }
  }

  /** Shows one message beside a field (a check the console makes itself, before asking). */
  fieldError(path: string, message: string): void {
    const slot = this.slots.get(path);
    if (!slot) {
      fill(this.summary, h("p", { class: "alert", role: "alert" }, message));
      return;
    }
    slot.error.hidden = false;
    slot.error.textContent = slot.error.textContent ? `${slot.error.textContent} ${message}` : message;
    slot.control.setAttribute("aria-invalid", "true");
  }

  /** Places an API error's details beside their fields; focus goes to the first field in error. */
  show(error: unknown): void {
    this.clear();
    const details = error instanceof ApiError ? error.details : [];
    const unplaced: { path: string; message: string }[] = [];
    for (const d of details) {
      const path = this.pathFor(d.path);
      if (path === null) unplaced.push(d);
      // The field's own name is its label already: "url: must be …" reads as "must be …" beside it.
      else {
        const head = d.path.split(".")[0]!;
        const rest = d.path.slice(head.length + 1);
        const message = d.message.startsWith(`${d.path} `) ? d.message.slice(d.path.length + 1) : d.message;
        this.fieldError(path, rest ? `${rest}: ${message}` : message);
      }
    }
    const placed = details.length - unplaced.length;
    const shown = error instanceof ApiError ? new ApiError(error.status, error.code, error.message, unplaced) : error;
    fill(
      this.summary,
      errorBox(shown),
      placed ? h("p", { class: "muted small" }, `${placed === 1 ? "The problem is" : "The problems are"} shown beside ${placed === 1 ? "its field" : "their fields"}.`) : null,
    );
    const first = [...this.slots.values()].find((s) => s.control.getAttribute("aria-invalid") === "true");
    first?.control.focus();
  }

  /**
   * Sends a form: `button` is disabled while `work` runs (no double submit), and
   * an error it throws is shown beside the fields it names.
   */
  async submit(button: HTMLButtonElement, work: () => Promise<void>): Promise<void> {
    button.disabled = true;
    try {
      await work();
    } catch (error) {
      this.show(error);
    } finally {
      button.disabled = false;
    }
  }

  private pathFor(path: string): string | null {
    if (this.slots.has(path)) return path;
    // "tenants[1]" belongs to the field "tenants", as "event_types.0" to "event_types".
    const head = path.split(".")[0]!.replace(/\[\d+\]$/, "");
    if (this.slots.has(head)) return head;
    const aliased = this.aliases.get(head);
    return aliased && this.slots.has(aliased) ? aliased : null;
  }
}

/** A number input's value for the API: empty is null ("no limit"), otherwise the number typed. */
export function numberOrNull(input: HTMLInputElement): number | null {
  const text = input.value.trim();
  return text === "" ? null : Number(text);
}

/** JSON typed into a textarea: undefined when empty, the value, or a SyntaxError for the field. */
export function parseJsonField(text: string): { value: unknown } | { error: string } | undefined {
  if (!text.trim()) return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: `is not valid JSON: ${(error as Error).message}` };
  }
}

/** The reason a config-declared resource cannot be changed here. */
export function configReadOnly(what: string): HTMLElement {
  return h("p", { class: "warn inline read-only", "data-read-only": "config" }, h("strong", null, "Read-only: "), `this ${what} is declared in the config file; change it there.`);
}
