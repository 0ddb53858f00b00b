// The keep-alive client's own thread (WorkerHttpClient's worker): it owns the
// sockets, writes the requests planned on the main thread and reads their
// answers, so the kernel's work for each send and the answer's parse leave the
// thread that runs the store and the API. Requests come in batches, answers go
// back in batches, as flat arrays of plain values (worker-messages.ts).
import { HttpClient } from "../http-client.ts";
import { planAt, pushAnswer, READY, REQUEST_FIELDS, type WorkerCommand } from "./worker-messages.ts";
import type { HttpAnswer } from "./request-and-answer.ts";

declare const self: Worker;
const client = new HttpClient();
let answers: unknown[] = [];
let scheduled = false;

/** Sends the answers gathered in this turn of the event loop in one message. */
function flush(): void {
  scheduled = false;
  const batch = answers;
  answers = [];
  self.postMessage(batch);
}

function answered(id: number, answer: HttpAnswer): void {
  pushAnswer(answers, id, answer);
  if (!scheduled) {
    scheduled = true;
    // Once per turn of this thread's event loop: the answers of every socket read in it go together.
    setImmediate(flush);
  }
}

self.onmessage = (event: MessageEvent<WorkerCommand>) => {
  const message = event.data;
  for (let i = 0; i < message.length; i += REQUEST_FIELDS) {
    const id = message[i] as number;
    client.run(planAt(message, i), (answer) => answered(id, answer));
  }
};
self.postMessage(READY);
