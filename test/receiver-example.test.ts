// docs/examples/receiver.mjs, the receiver docs/receiving.md walks through, run
// as a person would: under Node, as its own process, with the secret read from
// a real Herald's API. Herald's messages are verified and taken once; a
// tampered body, a wrong secret and a stale timestamp are refused.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import type { Subprocess } from "bun";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";
import { spawnSourceHerald, type HeraldProcess } from "./support/process.ts";
import { eventually } from "./support/eventually.ts";
import { ADMIN_TOKEN, removeDir, tempDir } from "./support/herald.ts";

const EXAMPLE = join(import.meta.dir, "../docs/examples/receiver.mjs");
const NODE = Bun.which("node");

let dir: string;
let herald: HeraldProcess;
let receiver: { proc: Subprocess<"ignore", "pipe", "pipe">; url: string; output: () => string };
let secret: string;
let destinationId: string;

const api = async (method: string, path: string, body?: unknown) => {
  const response = await fetch(herald.url + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as any };
};

/** Starts the example under Node with the destination's secret, on a port of its choosing. */
async function startExample(env: Record<string, string>) {
  if (!NODE) throw new Error("node is not on PATH: the receiver example is a Node program (Node comes with npm)");
  const proc = Bun.spawn([NODE, EXAMPLE], { env: { ...process.env, PORT: "0", ...env }, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
  let output = "";
  const collect = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) output += new TextDecoder().decode(chunk);
  };
  void collect(proc.stdout);
  void collect(proc.stderr);
  const url = await eventually(() => output.match(/receiver listening on (http:\/\/\S+)/)?.[1] ?? (proc.exitCode !== null ? "exited" : undefined), "the example to listen");
  if (url === "exited") throw new Error(`the example exited:\n${output}`);
  return { proc, url, output: () => output };
}

beforeAll(async () => {
  dir = tempDir("herald-receiver-example-");
  herald = await spawnSourceHerald(dir, ADMIN_TOKEN, { resources: "event_types: [ { name: order.created } ]\n" });
  // As the guide says: the receiver gets its secret from Herald, then Herald gets the receiver's URL.
  const created = await api("POST", "/v1/destinations", { url: "http://127.0.0.1:9/not-yet" });
  expect(created.status).toBe(201);
  destinationId = created.body.id;
  const read = await api("GET", `/v1/destinations/${destinationId}/secret`);
  expect(read.status).toBe(200);
  secret = read.body.secret;
  receiver = await startExample({ WEBHOOK_SECRET: secret });
  expect((await api("PATCH", `/v1/destinations/${destinationId}`, { url: receiver.url })).status).toBe(200);
  expect((await api("POST", "/v1/subscriptions", { destination_id: destinationId, event_types: ["order.*"] })).status).toBe(201);
}, 30_000);

afterAll(async () => {
  receiver?.proc.kill("SIGKILL");
  herald?.proc.kill("SIGKILL");
  await Promise.all([receiver?.proc.exited, herald?.proc.exited]);
  removeDir(dir);
});

describe("the Node receiver example against a real Herald", () => {
  it("verifies a published event, answers 2xx and processes it once, also when Herald sends it again", async () => {
    const published = await api("POST", "/v1/events", { type: "order.created", data: { order_id: 42 } });
    expect(published.status).toBe(202);
    const id: string = published.body.id;
    const delivery = await eventually(async () => {
      const event = await api("GET", `/v1/events/${id}`);
      const d = event.body.deliveries?.[0];
      return d?.status === "succeeded" ? d : undefined;
    }, "the delivery to succeed");
    expect(receiver.output()).toContain(`processed ${id} order.created {"order_id":42}`);
    const attempts = (await api("GET", `/v1/deliveries/${delivery.id}`)).body.attempts;
    expect(attempts.map((a: any) => a.response?.status)).toEqual([204]);

    // A resend carries the same webhook-id: accepted, not processed twice.
    expect((await api("POST", `/v1/deliveries/${delivery.id}/retry`)).status).toBeLessThan(300);
    await eventually(() => (receiver.output().includes(`duplicate ${id}`) ? true : undefined), "the repeat to be seen");
    expect(receiver.output().split(`processed ${id} `)).toHaveLength(2);
  }, 30_000);

  it("refuses a tampered body, a wrong secret and a stale timestamp with 401", async () => {
    const body = JSON.stringify({ type: "order.created", timestamp: new Date().toISOString(), data: { order_id: 7 } });
    const send = (headers: Record<string, string>, payload = body) =>
      fetch(receiver.url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: payload }).then((r) => r.status);
    const signed = (key: string, id: string, at: Date) => ({
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": new Webhook(key).sign(id, at, body),
    });

    // The control: signed with the destination's secret, it is taken.
    expect(await send(signed(secret, "msg_control", new Date()))).toBe(204);
    expect(await send(signed(secret, "msg_tampered", new Date()), body.replace('"order_id":7', '"order_id":8'))).toBe(401);
    expect(await send(signed("whsec_" + Buffer.from("another secret, 24 bytes!").toString("base64"), "msg_other_key", new Date()))).toBe(401);
    expect(await send(signed(secret, "msg_stale", new Date(Date.now() - 10 * 60_000)))).toBe(401);
    expect(await send({ "webhook-id": "msg_unsigned" })).toBe(401);
    const output = receiver.output();
    expect(output).toContain("processed msg_control");
    for (const id of ["msg_tampered", "msg_other_key", "msg_stale", "msg_unsigned"]) expect(output).not.toContain(id);
  });
});
