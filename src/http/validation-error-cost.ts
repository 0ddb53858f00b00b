// Keeps Elysia's validation errors cheap to build, whatever the body held.
//
// For a body that fails its schema, Elysia writes a message (which Herald never
// reads: errors.ts builds the answer from the issues) by JSON-stringifying, with
// two-space indentation, the whole body and every arktype issue, and each issue
// serializes the value it was about: for an unknown key, the whole object. So n
// bad keys cost n copies of the body (10,000 keys: 13 s and gigabytes before the
// 400), and the indentation of a 1 MiB body nested 64 deep is 65 MB (~200 ms).
// With both made cheap, that message costs well under a millisecond.
import { ArkError } from "arktype";

// An issue serializes as what it says, not as the value it was given.
ArkError.prototype.toJSON = function (this: ArkError) {
  return { path: this.path, code: this.code, message: this.message } as never;
};

/** What a request body serializes as: only Elysia's unused error message serializes it. */
class RequestBody {
  toJSON() {
    return "[request body]";
  }
}

/** The parsed body, made cheap to serialize. */
export function withCheapSerialization<T extends object>(body: T): T {
  // On the prototype, not the object: schemas, spreads and Object.keys never see
  // it, and JSON.stringify answers at once (with an own toJSON, JavaScriptCore
  // still walks the whole value first: ~200 ms for 1 MiB nested 64 deep).
  return Object.setPrototypeOf(body, RequestBody.prototype) as T;
}
