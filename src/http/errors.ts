// One error shape for every answer that is not a success (DESIGN §4):
// {error: code, message, details?: [{path, message}]}. Routes throw the engine's
// Problem (invalid, not_found, forbidden …); ApiError is only for what is purely
// HTTP (no token, a body too large, unparsable or out of bounds). The central
// handler in server.ts turns anything thrown into this shape.
import type { ProblemDetail } from "../engine/problem.ts";

/** One detail of an answer: the same shape as the engine's problem details. */
export type ErrorDetail = ProblemDetail;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: ErrorDetail[],
  ) {
    super(message);
  }

  toJSON() {
    return errorBody(this.code, this.message, this.details);
  }
}

/** Elysia's validation error carries arktype's issues; make them {path, message}. */
export function validationDetails(error: unknown): ErrorDetail[] {
  // `all` validates again and keeps Elysia's first 64 issues; only MAX_DETAILS are answered.
  const all = (error as { all?: { path?: unknown; message?: string; summary?: string }[] }).all ?? [];
  return all.slice(0, MAX_DETAILS).map((issue) => {
    const path = Array.isArray(issue.path) ? issue.path.join(".") : String(issue.path ?? "").replace(/^\//, "").replace(/\//g, ".");
    const message = issue.message ?? issue.summary ?? "is invalid";
    return { path, message: message.endsWith(" must be removed") ? `${path} is not a known field` : withoutEcho(message) };
  });
}

// arktype ends a message with what it found: "(was a number)", "(was 1200)", but
// also the value itself for a literal mismatch ("must be boolean (was \"hunter2\")"),
// which may be a secret or kilobytes of input. Only a kind or a number is kept.
const SAFE_ACTUAL = /^(an? [a-z ]+|null|undefined|true|false|missing|-?[0-9][0-9.e+-]*)$/;
function withoutEcho(message: string): string {
  const found = / \(was (.*)\)$/s.exec(message);
  if (!found || (found[1]!.length <= 40 && SAFE_ACTUAL.test(found[1]!))) return message;
  return message.slice(0, found.index);
}

// An error answer stays small whatever the request held: at most MAX_DETAILS
// details, and no message or path longer than MAX_TEXT characters.
const MAX_DETAILS = 20;
const MAX_TEXT = 300;
const clip = (text: string) => (text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text);

export function errorBody(code: string, message: string, details?: ErrorDetail[]) {
  const kept = details?.slice(0, MAX_DETAILS).map((d) => ({ path: clip(d.path), message: clip(d.message) }));
  return { error: code, message: clip(message), ...(kept ? { details: kept } : {}) };
}
