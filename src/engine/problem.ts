// The one error model from the engine up: a request the engine refuses,
// described for whoever asked: invalid input, a missing resource (or another
// tenant's: its existence is not revealed), a request outside the caller's
// scope, a conflict (a config-owned resource, a duplicate id, a delivery being
// sent), or a request Herald cannot serve now (its store cannot write). The HTTP
// layer maps `kind` to a status in its one error handler; the engine never speaks HTTP.
import { isStorageFailure } from "../store/unavailable.ts";

export type ProblemKind = "invalid" | "not_found" | "forbidden" | "conflict" | "unavailable";

export interface ProblemDetail {
  path: string;
  message: string;
}

/** The code a problem answers with when it names none of its own. */
const DEFAULT_CODE: Record<ProblemKind, string> = {
  invalid: "invalid_request",
  not_found: "not_found",
  forbidden: "forbidden",
  conflict: "conflict",
  unavailable: "unavailable",
};

export class Problem extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly details?: ProblemDetail[],
    readonly code?: string,
  ) {
    super(message);
  }

  /** Its own code, else its kind's (`invalid_request`, `not_found` …). */
  get answerCode(): string {
    return this.code ?? DEFAULT_CODE[this.kind];
  }
}

/**
 * What an operation that may be refused one item at a time gives back (a batch
 * publish answers each event on its own): the value, or the problem.
 */
export type Outcome<T> = ({ ok: true } & T) | { ok: false; problem: Problem };

export const notFound = (what: string, id: string) => new Problem("not_found", `${what} ${id} does not exist`);
export const invalid = (message: string, details?: ProblemDetail[]) => new Problem("invalid", message, details);
export const forbidden = (message: string) => new Problem("forbidden", message);

/** Resources declared in the config file change only through the file. */
export function assertApiManaged(resource: { managed_by: string }, what: string, id: string): void {
  if (resource.managed_by === "config") {
    throw new Problem("conflict", `${what} ${id} is declared in the config file; change it there`, undefined, "managed_by_config");
  }
}

/** Nothing was written: the caller should try again later (a publish with the same id or key, to be safe). */
export function storageUnavailable(): Problem {
  return new Problem(
    "unavailable",
    "Herald cannot write to its store right now (disk full, I/O error or locked); nothing was changed, try again later",
    undefined,
    "storage_unavailable",
  );
}

/** The 503 problem for an error that says the store cannot write (any write, not only a publish), else null. */
export function asStorageProblem(error: unknown): Problem | null {
  return isStorageFailure(error) ? storageUnavailable() : null;
}
