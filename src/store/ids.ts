// Resource ids: a type prefix and a UUIDv7 in hex, so ids sort by creation time
// and cursors can page by id alone.
export type IdPrefix = "evt" | "dst" | "sub" | "dlv" | "att" | "ins" | "bkf" | "aud" | "key" | "plk";

export function newId(prefix: IdPrefix, now: number): string {
  return `${prefix}_${Bun.randomUUIDv7("hex", now).replaceAll("-", "")}`;
}

/**
 * The smallest id with this prefix made at or after `ms`: ids made at `ms` or
 * later sort at or above it, earlier ones below (the UUIDv7 starts with the
 * time in milliseconds as 12 hex digits).
 */
export function idFloor(prefix: IdPrefix, ms: number): string {
  return `${prefix}_${Math.max(0, Math.ceil(ms)).toString(16).padStart(12, "0")}`;
}
