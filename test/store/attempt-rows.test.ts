// Store contract: an attempt's log row reads back exactly as it was recorded,
// whatever its text holds, also when many records share one gathered write (on
// PostgreSQL the batch's rows travel as one JSON document: a quote, backslash,
// line break, escape-looking text or non-ASCII character must survive it).
import { expect, it } from "bun:test";
import type { AttemptRecord } from "../../src/store/types.ts";
import { describeEachStore } from "./stores.ts";
import { attemptRecord, lease, newEvent, T0, withDestinations } from "./records.ts";

/** Text a JSON encoding could get wrong, one kind per entry. */
const AWKWARD = [
  `say "hi"`, "back\\slash \\u0041 \\n", "line\nbreak\r\ttab", "é ß 漢字 \u{1F600}", `{"looks":"like json"}`, "", "null", "'single' -- quote;",
];

describeEachStore("attempt rows", (current) => {
  it("reads every field of attempts recorded together back as recorded: awkward text, nulls, large numbers", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    const items = AWKWARD.map((_, i) => newEvent({ at: T0 + i, to: ["a"] }));
    for (const item of items) await store.queue.publish(item);
    const jobs = await store.queue.claimDue(T0 + 100, lease(T0 + 60_000), AWKWARD.length);
    expect(jobs).toHaveLength(AWKWARD.length);
    const records: AttemptRecord[] = jobs.map((job, i) => {
      const text = AWKWARD[i]!;
      const base = attemptRecord(job, i % 2 === 0 ? { status: "succeeded" } : { status: "pending", next_attempt_at: T0 + 9_000 }, T0 + 1_000);
      return {
        ...base,
        attempt: {
          // A time far past 2^32 ms and a long duration: BIGINT columns, not INTEGER.
          started_at: T0 + 1_000 + i, duration_ms: 5_000_000_000 + i, request_url: `https://hooks.example.com/x?q=${encodeURIComponent(text)}`,
          request_headers: { "content-type": "application/json", "x-note": text },
          response_status: i % 3 === 0 ? null : 200 + i,
          response_headers: i % 4 === 1 ? null : { "x-answer": text, "retry-after": "5" },
          response_body: i % 4 === 2 ? null : text,
          error: i % 2 === 0 ? null : `HTTP 50${i}: ${text}`,
        },
      };
    });
    // Submitted in one turn: one gathered write on PostgreSQL, one transaction on SQLite.
    const results = await Promise.all(records.map((r) => store.queue.recordAttempt(r, T0 + 2_000)));
    expect(results.every((r) => r.applied)).toBe(true);
    for (const [i, record] of records.entries()) {
      const [logged] = await store.log.attemptsOf(record.delivery_id);
      expect(logged).toEqual({ id: expect.any(String), delivery_id: record.delivery_id, number: 1, ...record.attempt });
      expect(await store.log.getDelivery(record.delivery_id)).toMatchObject({
        attempts: 1, last_status: record.attempt.response_status, last_error: record.attempt.error, status: i % 2 === 0 ? "succeeded" : "pending",
      });
    }
  });

  it("records an answer whose body holds a NUL character: kept on SQLite, as U+FFFD on PostgreSQL (its text cannot keep one)", async () => {
    const { store } = current;
    await withDestinations(store, "a");
    await store.queue.publish(newEvent({ at: T0, to: ["a"] }));
    const [job] = await store.queue.claimDue(T0 + 1, lease(T0 + 60_000), 1);
    const record = attemptRecord(job!, { status: "failed" }, T0 + 10);
    record.attempt.response_body = "binary\u0000answer";
    record.attempt.error = "HTTP 500: \u0000";
    // Before: PostgreSQL refused the whole record, so the lease ran out and the delivery was sent again, without end.
    expect(await store.queue.recordAttempt(record, T0 + 20)).toMatchObject({ applied: true });
    const [logged] = await store.log.attemptsOf(job!.delivery.id);
    // What each store documents (postgres/attempts.ts: storable): SQLite keeps the NUL, PostgreSQL writes U+FFFD for it.
    const nul = current.name === "postgres" ? "\uFFFD" : "\u0000";
    expect(logged!.response_body).toBe(`binary${nul}answer`);
    expect(logged!.error).toBe(`HTTP 500: ${nul}`);
    expect(await store.log.getDelivery(job!.delivery.id)).toMatchObject({ status: "failed", attempts: 1, last_error: logged!.error });
  });
});
