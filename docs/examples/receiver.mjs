// A webhook receiver for Herald's messages, in plain Node (18+; Bun runs it too):
// it verifies each message with the official Standard Webhooks library, drops
// repeats by webhook-id, answers 204 at once and does the work afterwards.
// docs/receiving.md explains each step.
//
//   npm install standardwebhooks
//   WEBHOOK_SECRET=whsec_… PORT=9000 node receiver.mjs
import { createServer } from "node:http";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

// The destination's signing secret: GET /v1/destinations/{id}/secret on Herald.
if (!process.env.WEBHOOK_SECRET?.startsWith("whsec_")) {
  console.error("set WEBHOOK_SECRET to the destination's secret (whsec_…)");
  process.exit(1);
}
const webhook = new Webhook(process.env.WEBHOOK_SECRET);
const port = Number(process.env.PORT ?? 9000);
const MAX_BODY = 1024 * 1024;

// Ids of messages already taken. Herald delivers at least once, so the same
// webhook-id can come again (a retry after a timeout, a manual resend). Here
// it is memory with a bound; a real service keeps it where its work is
// recorded (a unique key in its database), so a restart remembers it too.
const seen = new Set();
const SEEN_MAX = 100_000;

// The work itself runs after the answer: Herald waits at most its timeout
// (15 s by default) and counts a slow answer as a failure to retry.
const queue = [];
async function work() {
  for (let job; (job = queue.shift()); ) {
    // Your handling goes here: update an order, send an email, …
    console.log(`processed ${job.id} ${job.type} ${JSON.stringify(job.data)}`);
  }
}

const server = createServer((request, response) => {
  if (request.method !== "POST") return answer(response, 405);
  const chunks = [];
  let size = 0;
  request.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) request.destroy();
    else chunks.push(chunk);
  });
  request.on("end", () => {
    // Verify the raw bytes as they came: parsed and re-serialized JSON would
    // not match the signature.
    const body = Buffer.concat(chunks).toString("utf8");
    let message;
    try {
      // Checks the HMAC over "id.timestamp.body" against every signature in
      // the header (two during a secret rotation) and refuses a timestamp more
      // than 5 minutes from now, so a captured request cannot be replayed later.
      message = webhook.verify(body, request.headers);
    } catch (error) {
      // Not from Herald (or altered on the way): refuse it. Anything else
      // (a signed body that is not JSON) is a bad request.
      const status = error instanceof WebhookVerificationError ? 401 : 400;
      console.log(`refused (${status}): ${error.message}`);
      return answer(response, status);
    }
    const id = request.headers["webhook-id"];
    if (seen.has(id)) {
      // Already taken: say yes again, or Herald would keep retrying it.
      console.log(`duplicate ${id}`);
      return answer(response, 204);
    }
    if (seen.size >= SEEN_MAX) seen.delete(seen.values().next().value);
    seen.add(id);
    queue.push({ id, type: message.type, timestamp: message.timestamp, data: message.data });
    answer(response, 204);
    setImmediate(work);
  });
});

function answer(response, status) {
  response.writeHead(status).end();
}

server.listen(port, "127.0.0.1", () => {
  console.log(`receiver listening on http://127.0.0.1:${server.address().port}/`);
});
