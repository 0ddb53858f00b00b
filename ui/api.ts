// The console's only way to Herald: the public /v1 API with the bearer token the
// user signed in with, kept in sessionStorage (gone when the tab closes).
import type { ListPage } from "./types.ts";

const TOKEN_KEY = "herald.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export const getToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export const setToken = (token: string): void => sessionStorage.setItem(TOKEN_KEY, token);
export const clearToken = (): void => sessionStorage.removeItem(TOKEN_KEY);

/** Called when Herald answers 401 to the stored token: the app goes back to sign-in. */
let onUnauthorized: (message: string) => void = () => {};
export const whenUnauthorized = (handler: (message: string) => void) => (onUnauthorized = handler);

export type Query = Record<string, string | number | null | undefined>;

export function withQuery(path: string, query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== null && value !== undefined && value !== "") params.set(key, String(value));
  const qs = params.toString();
  return qs ? `${path}?${qs}` : path;
}

export async function request<T>(method: string, path: string, body?: unknown, options: { token?: string; signal?: AbortSignal } = {}): Promise<T> {
  const token = options.token ?? getToken() ?? "";
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: options.signal });
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "Herald could not be reached. Is it running?");
  }
  const text = await response.text();
  let parsed: any = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (!response.ok) {
    const error = new ApiError(response.status, parsed?.error ?? "http_error", parsed?.message ?? `Herald answered ${response.status}`, parsed?.details);
    // Only a token that was stored and is now refused ends the session; sign-in handles its own 401.
    if (response.status === 401 && options.token === undefined) onUnauthorized(error.message);
    throw error;
  }
  return parsed as T;
}

export const get = <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>("GET", withQuery(path, query), undefined, { signal });

/** Every item of a list route: its pages of 1000 (the API's most), following next_cursor to the end. */
export async function getAll<T>(path: string, query: Query = {}, signal?: AbortSignal): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page: ListPage<T> = await get<ListPage<T>>(path, { ...query, limit: 1000, cursor }, signal);
    items.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}
export const post = <T>(path: string, body: unknown = {}) => request<T>("POST", path, body);
