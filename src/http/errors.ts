// One error shape for every answer that is not a success (DESIGN §4):
// {error: code, message, details?: [{path, message}]}. Handlers throw ApiError;
// the central handler in app.ts turns anything thrown into this shape.
export interface ErrorDetail {
  path: string;
  message: string;
}

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
    return { error: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

export const notFound = (what: string, id: string) => new ApiError(404, "not_found", `${what} ${id} does not exist`);
export const invalid = (message: string, details?: ErrorDetail[]) => new ApiError(400, "invalid_request", message, details);
export const forbidden = (message: string) => new ApiError(403, "forbidden", message);
export const conflict = (message: string, code = "conflict") => new ApiError(409, code, message);

/** Elysia's validation error carries arktype's issues; make them {path, message}. */
export function validationDetails(error: unknown): ErrorDetail[] {
  const all = (error as { all?: { path?: unknown; message?: string; summary?: string }[] }).all ?? [];
  return all.map((issue) => {
    const path = Array.isArray(issue.path) ? issue.path.join(".") : String(issue.path ?? "").replace(/^\//, "").replace(/\//g, ".");
    const message = issue.message ?? issue.summary ?? "is invalid";
    return { path, message: message.endsWith(" must be removed") ? `${path} is not a known field` : message };
  });
}

export function errorBody(code: string, message: string, details?: ErrorDetail[]) {
  return { error: code, message, ...(details ? { details } : {}) };
}
