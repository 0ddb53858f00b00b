// Durations ("500ms", "5s", "10m", "2h", "5d") and byte sizes ("512KiB", "1MiB", "4096")
// as the config file writes them, parsed into milliseconds and bytes, and back for messages.

const DURATION_UNITS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

// KB/MB/GB are decimal (SI) and KiB/MiB/GiB binary, as the names promise.
const SIZE_UNITS = {
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
} as const;

/**
 * Milliseconds for a duration such as "500ms", "5s", "1.5h" or "5d"; undefined if the text is
 * not one. A bare number is refused on purpose: "30" could mean seconds or milliseconds.
 */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text);
  if (!match) return undefined;
  const ms = Math.round(Number(match[1]) * DURATION_UNITS[match[2] as keyof typeof DURATION_UNITS]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/**
 * Bytes for a size such as "512KiB", "1MiB" or "10MB"; a bare integer (4096 or "4096") is
 * bytes. Undefined if the value is not a size.
 */
export function parseSize(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  const match = /^(\d+(?:\.\d+)?)(B|KB|MB|GB|KiB|MiB|GiB)?$/.exec(value);
  if (!match) return undefined;
  // "1.5" without a unit would be a fraction of a byte.
  if (match[2] === undefined && match[1]!.includes(".")) return undefined;
  const bytes = Math.round(Number(match[1]) * SIZE_UNITS[(match[2] ?? "B") as keyof typeof SIZE_UNITS]);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** "15s", "1h30m", "1s500ms", "0ms": the largest units first, zero parts left out. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return "0ms";
  const parts: string[] = [];
  for (const unit of ["d", "h", "m", "s", "ms"] as const) {
    const count = Math.floor(rest / DURATION_UNITS[unit]);
    if (count > 0) parts.push(`${count}${unit}`);
    rest -= count * DURATION_UNITS[unit];
  }
  return (ms < 0 ? "-" : "") + parts.join("");
}

/** "1MiB", "4KiB", "1500B": the largest binary unit that divides the size exactly. */
export function formatSize(bytes: number): string {
  for (const unit of ["GiB", "MiB", "KiB"] as const) {
    if (bytes !== 0 && bytes % SIZE_UNITS[unit] === 0) return `${bytes / SIZE_UNITS[unit]}${unit}`;
  }
  return `${bytes}B`;
}
