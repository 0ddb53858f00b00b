// The destinations a page names (id → record), read once per page render, so
// lists of deliveries can show names instead of ids. A failed read names nothing:
// ids are shown instead, never an error for what is only a label.
import { get } from "./api.ts";
import type { Destination, ListPage } from "./types.ts";

export async function knownDestinations(signal?: AbortSignal): Promise<Map<string, Destination>> {
  const known = new Map<string, Destination>();
  try {
    let cursor: string | null = null;
    do {
      const page: ListPage<Destination> = await get<ListPage<Destination>>("/v1/destinations", { limit: 1000, cursor }, signal);
      for (const d of page.data) known.set(d.id, d);
      cursor = page.next_cursor;
    } while (cursor);
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
  }
  return known;
}
