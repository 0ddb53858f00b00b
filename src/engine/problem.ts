// A request the engine refuses, described for whoever asked: invalid input,
// a missing resource, a conflict (a config-owned resource, a duplicate id), or
// a request Herald cannot serve now (its store cannot write: `unavailable`).
// The HTTP layer maps `kind` to a status; the engine never speaks HTTP.
import { isStorageFailure } from "../store/unavailable.ts";

export type ProblemKind = "invalid" | "not_found" | "conflict" | "unavailable";

export class Problem extends Error {
  constructor(
    readonly kind: ProblemKind,
    message: string,
    readonly details?: { path: string; message: string }[],
    readonly code?: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string, id: string) => new Problem("not_found", `${what} ${id} does not exist`);

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
