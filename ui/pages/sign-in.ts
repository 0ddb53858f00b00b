// Sign-in: the token is checked against Herald (one small read) before it is
// kept; a refused token says so plainly.
import { ApiError, request, setToken } from "../api.ts";
import { fill, h } from "../dom.ts";
import { errorBox } from "../format.ts";
import type { PageContext } from "../page.ts";

export function signInPage(ctx: PageContext, reason: string | null, signedIn: () => Promise<void>): void {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "current-password", required: true, spellcheck: "false", "aria-describedby": "token-help" });
  const message = h("div", { id: "sign-in-message", "aria-live": "polite" }, reason ? h("p", { class: "alert", role: "alert" }, reason) : null);
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "sign-in card", novalidate: true },
    h("h1", null, "Herald"),
    h("p", { class: "muted" }, "Sign in with an API token to see events, deliveries and attempts."),
    h("label", { for: "token" }, "API token"),
    input,
    h("p", { id: "token-help", class: "hint" }, "An admin token sees everything; a tenant token sees only its tenant. The token is kept in this tab's session storage until you sign out or close the tab."),
    button,
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = input.value.trim();
    if (!token) {
      fill(message, h("p", { class: "alert", role: "alert" }, "Enter a token."));
      input.focus();
      return;
    }
    button.disabled = true;
    button.textContent = "Checking…";
    try {
      await request("GET", "/v1/events?limit=1", undefined, { token });
      setToken(token);
      await signedIn();
    } catch (error) {
      const refused = error instanceof ApiError && error.status === 401;
      fill(message, refused ? h("p", { class: "alert", role: "alert" }, "Herald did not accept this token (401 Unauthorized). Check it and try again.") : errorBox(error));
      button.disabled = false;
      button.textContent = "Sign in";
      input.select();
    }
  });
  fill(ctx.main, h("div", { class: "center" }, form));
  input.focus();
}
