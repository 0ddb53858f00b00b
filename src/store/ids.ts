// Resource ids: a type prefix and a UUIDv7 in hex, so ids sort by creation time
// and cursors can page by id alone.
export type IdPrefix = "evt" | "dst" | "sub" | "dlv" | "att";

export function newId(prefix: IdPrefix, now: number): string {
  return `${prefix}_${Bun.randomUUIDv7("hex", now).replaceAll("-", "")}`;
}
