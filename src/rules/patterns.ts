// Subscription patterns: an exact event type name, `prefix.*` (any depth below
// the prefix) or `*` (every event type of the product). Herald's own
// operational events (`herald.*`) are only matched by patterns that name them,
// so a catch-all endpoint does not start receiving Herald's internals.

export function matchesPattern(pattern: string, type: string): boolean {
  if (pattern === "*") return !type.startsWith("herald.");
  if (pattern.endsWith(".*")) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/** `herald` and `herald.*`, in any case (Herald.x reads as Herald's too), are Herald's own. */
export function isReservedEventType(name: string): boolean {
  return /^herald(\.|$)/i.test(name);
}
export const RESERVED_EVENT_TYPE = "is reserved: herald and herald.* name Herald's own operational events";
