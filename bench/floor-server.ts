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
// Env: PORT (0 = any), DB (file path), TARGET (the receiver's URL), SEND=0 to
// accept without sending (the ingest floor). Prints {"listening": port} first.
import { Database } from "bun:sqlite";
import { createHmac } from "node:crypto";

const db = new Database(process.env.DB!, { create: true });
db.run("PRAGMA journal_mode = WAL");
db.run("PRAGMA synchronous = FULL");
db.run("CREATE TABLE events (id TEXT PRIMARY KEY, type TEXT NOT NULL, data TEXT NOT NULL, created_at INTEGER NOT NULL) WITHOUT ROWID");
db.run("CREATE TABLE deliveries (event_id TEXT PRIMARY KEY, status INTEGER NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID");
const insertEvent = db.prepare("INSERT INTO events (id, type, data, created_at) VALUES (?1, ?2, ?3, ?4)");
const insertDelivery = db.prepare("INSERT INTO deliveries (event_id, status, at) VALUES (?1, ?2, ?3)");

const target = process.env.TARGET ?? "";
const sending = process.env.SEND !== "0";
const SECRET = Buffer.from("floor-secret-0123456789abcdef0123");
const CONCURRENCY = 64;

interface Job {
  id: string;
  type: string;
  data: string;
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
  try {
    const response = await fetch(`${target}/hooks`, {
      method: "POST",
      headers: { "content-type": "application/json", "webhook-id": job.id, "webhook-timestamp": timestamp, "webhook-signature": `v1,${signature}` },
      body,
    });
    await response.arrayBuffer();
    status = response.status;
  } catch {
    status = 0;
  }
  await write(() => insertDelivery.run(job.id, status, Date.now()));
  inFlight--;
  pump();
}

// ── publishing: the events on disk, then the answer ──
let sequence = 0;
async function accept(events: { type: string; data?: unknown }[]): Promise<string[]> {
  const now = Date.now();
  const jobs = events.map((e) => ({ id: `evt_${now.toString(36)}_${(sequence++).toString(36)}`, type: e.type, data: JSON.stringify(e.data ?? null) }));
  await write(() => {
    for (const j of jobs) insertEvent.run(j.id, j.type, j.data, now);
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
