// Request headers checked before they are written: one header (headerProblem),
// and a destination's static headers checked and written out once (HeaderBlock).
import { FRAMING_HEADERS, HEADER_NAME } from "../../rules/http-headers.ts";

/** What would end a header line early (or the Host line). */
export const BAD_VALUE = /[\r\n\0]/;
/** Names the client writes itself or that would frame the request out of step with its content-length. */
const REFUSED_HEADERS = new Set(FRAMING_HEADERS);

/**
 * Why a request header cannot be written, or null: a name that is not a token,
 * a value that would end the line, or a header the client writes itself or
 * that frames the request (destinations stored before the config and the API
 * refused these still carry them).
 */
export function headerProblem(name: string, value: string): string | null {
  if (!HEADER_NAME.test(name) || BAD_VALUE.test(value)) return `invalid request header ${JSON.stringify(name)}`;
  if (REFUSED_HEADERS.has(name.toLowerCase())) return `the request header ${JSON.stringify(name)} is set by Herald or frames the request, and cannot be sent as a static header`;
  return null;
}

/**
 * Headers checked and written out once, for the many requests that send them
 * (HttpRequest.fixed). Made only by HeaderBlock.of: a string cannot change after
 * it was checked, so a request carrying a block is not checked again (a
 * destination's static headers were ~1 µs of every send's checks,
 * bench/README.md); the private constructor keeps unchecked text out.
 */
export class HeaderBlock {
  private constructor(
    /** `name: value\r\n` per header; empty when refused. */
    readonly text: string,
    /** Why the headers cannot be written (the first refused one's headerProblem), or null. */
    readonly problem: string | null,
  ) {}

  /** Checks and writes out `headers`. */
  static of(headers: Record<string, string>): HeaderBlock {
    let text = "";
    for (const name in headers) {
      const value = headers[name]!;
      const problem = headerProblem(name, value);
      if (problem !== null) return new HeaderBlock("", problem);
      text += `${name}: ${value}\r\n`;
    }
    return new HeaderBlock(text, null);
  }
}
