// A floor under Herald's figures: a minimal durable webhook dispatcher, as a
// stand-in server that bench/floor.ts drives exactly as the `deliver` and
// `ingest` scenarios drive Herald (same load generator, same receiver, same
// machine). Not Herald and not a design to ship: no tenants, catalogue, retries,
// limits, breaker, idempotency, metrics or API beyond two routes.
//
// What it keeps, because no durable dispatcher can drop it:
// - a publish answers only once its events are on disk: one SQLite row each
//   (a primary key, no other index) in group-committed transactions with
//   `synchronous = FULL` in WAL mode;
// - each event is sent once to the one destination, signed (HMAC-SHA256 over
//   id, timestamp and body, as Standard Webhooks does), 64 at once with
//   Bun's fetch (the yardstick's client), from memory: no delivery row before
//   the send, no claim;
// - each answer is on disk before it counts: one row per delivery, group-committed.
// A crash would lose no accepted event (a restart would resend the events without
// a delivery row); it keeps none of Herald's other promises.
//
// With ROWS=herald it writes what Herald writes, in Herald's own schema (its
// migrations, every index) and with its own writer of publishes' rows
// (PublishRows: a group commit's rows in multi-row INSERTs): the event row and
// its delivery row, leased when it is sent (`deliver`) or pending and parked
// when it is not (SEND=0: `ingest`'s destination is disabled); at the answer,
// the delivery's success and an attempt row with its request and answer
// headers. What is left between it and Herald is then Herald's work beyond
// those rows.
// ROWS_WITHOUT (with ROWS=herald, a comma-separated list) leaves parts out, to
// weigh each against the whole (none of them is a state Herald could ship):
// - `delivery-at-publish`: no delivery row at publish; it is written once, at the
//   answer, already succeeded (what deliveries derived from their event until
//   their first attempt would write);
// - `delivery-at-publish-narrow`: the same, with a narrow entry in its place from
//   publish to answer (destination, due time, id and event: one B-tree, where the
//   delivery row is in five or seven), what a delivery waiting to be sent would
//   cost at the least in such a design;
// - `delivery-at-publish-findable`: the same with the narrow entry findable as a
//   delivery must be before it is sent: by its id (the table's key), by its
//   destination in due order and by its event (two indexes: three B-trees);
//   the entries, like the rows, in multi-row INSERTs;
// - `update`: no UPDATE of the delivery at the answer (it stays leased);
// - `attempt`: no attempt row;
// - `headers`: the attempt's request and answer headers written as `{}`.
//
// Env: PORT (0 = any), DB (file path), TARGET (the receiver's URL), SEND=0 to
// accept without sending (the ingest floor), ROWS=herald, ROWS_WITHOUT. Prints {"listening": port} first.
import { Database } from "bun:sqlite";
import { createHmac } from "node:crypto";
import { newId } from "../src/store/ids.ts";
import { openDatabase } from "../src/store/sqlite/database.ts";
import { PublishRows } from "../src/store/sqlite/publish-rows.ts";
import { publishedEvent } from "./published-event.ts";
import { WaitingEntries } from "./waiting-entries.ts";

const heraldRows = process.env.ROWS === "herald";
const WITHOUT_PARTS = ["delivery-at-publish", "delivery-at-publish-narrow", "delivery-at-publish-findable", "update", "attempt", "headers"];
const without = new Set((process.env.ROWS_WITHOUT ?? "").split(",").filter((part) => part !== ""));
for (const part of without) if (!WITHOUT_PARTS.includes(part)) throw new Error(`ROWS_WITHOUT: unknown part ${part} (${WITHOUT_PARTS.join(", ")})`);
if (without.size > 0 && !heraldRows) throw new Error("ROWS_WITHOUT leaves out parts of Herald's rows: set ROWS=herald too");
const db = heraldRows ? openDatabase(process.env.DB!, "full") : new Database(process.env.DB!, { create: true });
const sending = process.env.SEND !== "0";
// Ids as long as Herald's (a prefix and 32 hex digits): they are in most of the index entries written.
const DESTINATION = newId("dst", Date.now());
const SUBSCRIPTION = newId("sub", Date.now());
const OWNER = newId("ins", Date.now());
const { atPublish, beforeCommit, atAnswer } = heraldRows ? heraldStatements() : ownStatements();

/** One row an event, one an answer, each under a primary key alone. */
function ownStatements() {
  db.run("PRAGMA journal_mode = WAL");
  db.run("PRAGMA synchronous = FULL");
  db.run("CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID");
  db.run("CREATE TABLE deliveries (event_id TEXT PRIMARY KEY, status INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID");
  const insertEvent = db.prepare("INSERT INTO events (id, type, data, created_at) VALUES (?1, ?2, ?3, ?4)");
  const insertDelivery = db.prepare("INSERT INTO deliveries (event_id, status, at) VALUES (?1, ?2, ?3)");
  return {
    atPublish: (job: Job, now: number) => insertEvent.run(job.id, job.type, job.data, now),
    beforeCommit: null,
    atAnswer: (job: Job, status: number) => insertDelivery.run(job.id, status, Date.now()),
  };
}

/** Herald's rows (ROWS=herald): its events, deliveries and attempts tables, as its store writes them. */
function heraldStatements() {
  // A group commit's events and deliveries, written before its COMMIT in multi-row INSERTs, as Herald's write batcher has them.
  const rows = new PublishRows(db);
  // The delivery row written once, at its answer, already succeeded (ROWS_WITHOUT=delivery-at-publish and the narrow entries).
  const insertDelivery = db.prepare(
    `INSERT INTO deliveries (id, event_id, destination_id, subscription_id, tenant, event_type, status, attempts, schedule_start,
       next_attempt_at, lease_until, lease_owner, last_status, last_error, created_at, updated_at, finalized_at, parked)
     VALUES (?1, ?2, '${DESTINATION}', '${SUBSCRIPTION}', 'default', ?3, 'succeeded', 1, 0, NULL, NULL, NULL, ?4, NULL, ?5, ?6, ?6, 0)`,
  );
  const answered = (job: Job, status: number, now: number) => insertDelivery.run(job.delivery, job.id, job.type, status, job.at, now);
  const succeeded = db.prepare(
    `UPDATE deliveries SET attempts = attempts + 1, status = 'succeeded', next_attempt_at = NULL, lease_until = NULL, lease_owner = NULL,
       last_status = ?2, last_error = NULL, updated_at = ?3, finalized_at = ?3
     WHERE id = ?1 AND status = 'delivering' AND lease_owner = '${OWNER}' AND attempts = 0`,
  );
  const insertAttempt = db.prepare(
    `INSERT INTO attempts (id, delivery_id, destination_id, number, started_at, duration_ms, request_url, request_headers,
       response_status, response_headers, response_body, error)
     VALUES (?1, ?2, '${DESTINATION}', 1, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL)`,
  );
  // ROWS_WITHOUT=delivery-at-publish-narrow (or -findable): a narrow entry from publish to answer, in the delivery row's place.
  let entries: WaitingEntries | null = null;
  if (without.has("delivery-at-publish-findable")) entries = new WaitingEntries(db, "findable");
  else if (without.has("delivery-at-publish-narrow")) entries = new WaitingEntries(db, "narrow");
  // Whether the delivery row is written at publish (and updated at the answer) or once, at the answer.
  const atPublishToo = !without.has("delivery-at-publish") && !entries;
  return {
    atPublish: (job: Job, now: number) => {
      const { item, delivery } = published(job, now);
      rows.addEvent(item, job.id);
      if (atPublishToo) rows.addDelivery(delivery, !sending);
      entries?.add(DESTINATION, now, job.delivery, job.id);
    },
    beforeCommit: () => {
      rows.flush();
      entries?.flush();
    },
    atAnswer: (job: Job, status: number, sent?: Sent) => {
      const now = Date.now();
      if (!atPublishToo) {
        answered(job, status, now);
        if (entries && !entries.delete(DESTINATION, job.at, job.delivery)) throw new Error(`delivery ${job.delivery} had no entry waiting`);
      } else if (!without.has("update") && succeeded.run(job.delivery, status, now).changes !== 1) throw new Error(`delivery ${job.delivery} was not leased`);
      if (without.has("attempt")) return;
      const headers = without.has("headers");
      insertAttempt.run(
        newId("att", now), job.delivery, sent!.at, now - sent!.at, `${target}/hooks`,
        headers ? "{}" : JSON.stringify(sent!.headers), status, headers ? "{}" : JSON.stringify(sent!.answerHeaders), sent!.answerBody,
      );
    },
  };
}

/** A job's event and delivery as Herald's publisher makes them (ROWS=herald): leased to this stand-in when it is sent, else pending (written parked: its destination is held). */
function published(job: Job, now: number) {
  return publishedEvent(now, !sending, {
    eventId: job.id, deliveryId: job.delivery, type: job.type, dataJson: job.data, requestHash: String(Bun.hash(job.data)),
    destinationId: DESTINATION, subscriptionId: SUBSCRIPTION, owner: OWNER,
  });
}

const target = process.env.TARGET ?? "";
const SECRET = Buffer.from("floor-secret-0123456789abcdef0123");
const CONCURRENCY = 64;

interface Job {
  id: string;
  /** The delivery row's id (ROWS=herald). */
  delivery: string;
  /** When it was published. */
  at: number;
  type: string;
  data: string;
}

/** What the attempt row keeps of a send (ROWS=herald). */
interface Sent {
  at: number;
  headers: Record<string, string>;
  answerHeaders: Record<string, string>;
  answerBody: string;
}

// ── group commit: every write queued in one turn of the event loop, one transaction ──
let writes: { run: () => void; done: () => void }[] = [];
let scheduled = false;
function write(run: () => void): Promise<void> {
  return new Promise((done) => {
    writes.push({ run, done });
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  });
}
function flush(): void {
  scheduled = false;
  const batch = writes;
  writes = [];
  try {
    db.run("BEGIN IMMEDIATE");
    for (const w of batch) w.run();
    beforeCommit?.();
    db.run("COMMIT");
  } catch (error) {
    // A stand-in has no failure path to offer: its driver must not wait for answers that never come.
    console.error(`the floor server could not write: ${error}`);
    process.exit(1);
  }
  for (const w of batch) w.done();
}

// ── sending: from memory, CONCURRENCY at once ──
const ready: Job[] = [];
let head = 0;
let inFlight = 0;
function pump(): void {
  while (inFlight < CONCURRENCY && head < ready.length) {
    const job = ready[head]!;
    ready[head++] = undefined as unknown as Job;
    inFlight++;
    void deliver(job);
  }
  if (head > 4096 && head * 2 > ready.length) {
    ready.splice(0, head);
    head = 0;
  }
}
async function deliver(job: Job): Promise<void> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const body = `{"type":${JSON.stringify(job.type)},"timestamp":"${new Date().toISOString()}","data":${job.data}}`;
  const signature = createHmac("sha256", SECRET).update(`${job.id}.${timestamp}.${body}`).digest("base64");
  let status = 0;
  const headers = { "content-type": "application/json", "webhook-id": job.id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` };
  const sent: Sent = { at: Date.now(), headers, answerHeaders: {}, answerBody: "" };
  try {
    const response = await fetch(`${target}/hooks`, { method: "POST", headers, body });
    sent.answerBody = await response.text();
    if (heraldRows) sent.answerHeaders = Object.fromEntries(response.headers);
    status = response.status;
  } catch {
    status = 0;
  }
  await write(() => atAnswer(job, status, sent));
  inFlight--;
  pump();
}

// ── publishing: the events on disk, then the answer ──
let sequence = 0;
async function accept(events: { type: string; data?: unknown }[]): Promise<string[]> {
  const now = Date.now();
  const jobs = events.map((e) => {
    const n = (sequence++).toString(36);
    // Herald's ids where its rows are written: their length is in every index entry.
    const [id, delivery] = heraldRows ? [newId("evt", now), newId("dlv", now)] : [`evt_${now.toString(36)}_${n}`, ""];
    return { id, delivery, at: now, type: e.type, data: JSON.stringify(e.data ?? null) };
  });
  await write(() => {
    for (const j of jobs) atPublish(j, now);
  });
  if (sending) {
    for (const j of jobs) ready.push(j);
    pump();
  }
  return jobs.map((j) => j.id);
}

const isEvent = (e: unknown): e is { type: string; data?: unknown } => typeof e === "object" && e !== null && typeof (e as { type?: unknown }).type === "string";

const server = Bun.serve({
  port: Number(process.env.PORT ?? 0),
  hostname: "127.0.0.1",
  async fetch(request) {
    const path = new URL(request.url).pathname;
    if (request.method !== "POST") return new Response("not found", { status: 404 });
    const body = (await request.json()) as { events?: unknown[] } & Record<string, unknown>;
    if (path === "/v1/events/batch") {
      const events = body.events;
      if (!Array.isArray(events) || !events.every(isEvent)) return Response.json({ error: "invalid_request" }, { status: 400 });
      const ids = await accept(events);
      return Response.json({ data: ids.map((id) => ({ id, deliveries: 1 })) }, { status: 202 });
    }
    if (path === "/v1/events") {
      if (!isEvent(body)) return Response.json({ error: "invalid_request" }, { status: 400 });
      const [id] = await accept([body]);
      return Response.json({ id, deliveries: 1 }, { status: 202 });
    }
    return new Response("not found", { status: 404 });
  },
});
console.log(JSON.stringify({ listening: server.port }));
