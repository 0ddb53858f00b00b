// The destinations a page names (id → record), read once per page render, so
// lists of deliveries can show names instead of ids. A failed read names nothing:
// ids are shown instead, never an error for what is only a label.
import { getAll } from "./api.ts";
import type { Destination } from "./types.ts";

export async function knownDestinations(signal?: AbortSignal): Promise<Map<string, Destination>> {
  const known = new Map<string, Destination>();
  try {
    for (const d of await getAll<Destination>("/v1/destinations", {}, signal)) known.set(d.id, d);
  } catch (error) {
    if ((error as Error).name === "AbortError") throw error;
  }
  return known;
}
