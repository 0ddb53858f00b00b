// Herald's log as an operator reads it: JSON lines on stdout from a real child
// process, one per failed attempt at info (destination, status, error, next
// attempt) and one per API request at debug (with the id the answer carries in
// x-request-id), and never a secret, token or static header value, whatever the
// requests carried or revealed. Plus the readable form a terminal gets.
import { afterEach, describe, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../src/engine/logger.ts";
import { removeDir, tempDir } from "./support/herald.ts";
import { SOURCE_SERVE } from "./support/process.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";

const ADMIN = "log-test-admin-token-7f3a9c1e5b";
const SECRET = "whsec_" + Buffer.from("a signing secret of 32 bytes!!!!").toString("base64");
const ROTATED = "whsec_" + Buffer.from("the rotated secret, 32 bytes...!").toString("base64");
const API_SECRET = "whsec_" + Buffer.from("an api-made secret of 32 bytes!!").toString("base64");
const HEADER_VALUE = "static-header-value-5d1e8b2f";
const API_HEADER_VALUE = "api-header-value-9c4a7e31";

async function waitFor(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}

describe("Herald's log in a real process", () => {
  let dir: string | null = null;
  let receiver: Receiver | null = null;
  let proc: ReturnType<typeof Bun.spawn> | null = null;
  afterEach(async () => {
    proc?.kill("SIGKILL");
    await proc?.exited;
    await receiver?.stop();
    if (dir) removeDir(dir);
  });

  it("logs failed attempts at info and requests at debug on stdout, and never a secret, token or header value", async () => {
    dir = tempDir("herald-logs-");
    receiver = startReceiver([], { status: 500, body: "down for maintenance" });
    writeFileSync(
      join(dir, "config.yaml"),
      `server: { port: 0 }
storage: { path: ./herald.db }
auth: { tokens: [ { name: ops, token: "${ADMIN}", role: admin } ] }
delivery: { https_only: false, allow_private_networks: true, retry_schedule: [100ms, 100ms], jitter: 0 }
log: { level: debug }
event_types: [ { name: order.paid } ]
destinations: [ { id: crm, url: "${receiver.url}", secret: "${SECRET}", headers: { x-auth-token: "${HEADER_VALUE}" } } ]
subscriptions: [ { id: crm-all, destination: crm, event_types: ["*"] } ]
`,
    );
    const p = Bun.spawn(SOURCE_SERVE, { cwd: dir, stdout: "pipe", stderr: "pipe", stdin: "ignore" });
    proc = p;
    let stdout = "";
    let stderr = "";
    void (async () => { for await (const c of p.stdout) stdout += new TextDecoder().decode(c); })();
    void (async () => { for await (const c of p.stderr) stderr += new TextDecoder().decode(c); })();
    await waitFor("herald started", () => /"message":"herald started"/.test(stdout), 15_000);
    const url = JSON.parse(stdout.split("\n").find((l) => l.includes('"herald started"'))!).url as string;

    const answers: Response[] = [];
    const call = async (method: string, path: string, body?: unknown, token = ADMIN, headers: Record<string, string> = {}) => {
      const res = await fetch(url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      answers.push(res);
      return { status: res.status, body: await res.json().catch(() => null) };
    };
    await call("POST", "/v1/events", { type: "order.paid", data: { total: 12 } }, ADMIN, { "x-request-id": "client-id-1" });
    const key = (await call("POST", "/v1/api-keys", { name: "reader", role: "reader" })).body.key as string;
    expect(key.length).toBeGreaterThan(16);
    expect((await call("GET", "/v1/events", undefined, key)).status).toBe(200);
    expect((await call("GET", "/v1/destinations/crm/secret")).body.secret).toBe(SECRET);
    await call("POST", "/v1/destinations", { id: "api-made", url: receiver.url, secret: API_SECRET, headers: { "x-api-key": API_HEADER_VALUE } });
    expect((await call("GET", "/v1/destinations/api-made/headers")).status).toBe(200);
    expect((await call("POST", "/v1/destinations/api-made/rotate-secret", { secret: ROTATED })).status).toBe(200);
    await call("GET", "/v1/events", undefined, "a-wrong-token-0123456789abc");

    // The first try and two retries, 100 ms apart, all answered 500.
    const failures = () => stdout.split("\n").filter((l) => l.includes('"message":"attempt failed"'));
    await waitFor("three failed attempts in the log", () => failures().length >= 3);
    p.kill("SIGTERM");
    await p.exited;

    // Every line on stdout is JSON; nothing of the log on stderr.
    const lines = stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
    expect(stderr).not.toContain('"level"');

    const failed = lines.filter((l) => l.message === "attempt failed");
    expect(failed.map((l) => [l.level, l.destination, l.status, l.error, l.attempt, l.outcome])).toEqual([
      ["info", "crm", 500, "HTTP 500", 1, "pending"],
      ["info", "crm", 500, "HTTP 500", 2, "pending"],
      ["info", "crm", 500, "HTTP 500", 3, "failed"],
    ]);
    expect(failed[0].next_attempt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(Date.parse(failed[0].next_attempt) - Date.parse(failed[0].time)).toBeLessThan(1000);
    expect(failed[2].next_attempt).toBeNull();

    // One debug line per request, naming the route pattern and the id its answer carried.
    const requests = lines.filter((l) => l.message === "request");
    expect(requests.every((l) => l.level === "debug")).toBe(true);
    for (const answer of answers) {
      const id = answer.headers.get("x-request-id");
      expect(id).not.toBeNull();
      expect(requests.filter((l) => l.request_id === id)).toHaveLength(1);
    }
    expect(answers[0]!.headers.get("x-request-id")).toBe("client-id-1");
    const reveal = requests.find((l) => l.path === "/v1/destinations/crm/secret");
    expect(reveal).toMatchObject({ method: "GET", route: "/v1/destinations/:id/secret", status: 200 });
    expect(requests.find((l) => l.status === 401)).toMatchObject({ route: "/v1/events", method: "GET" });

    // Nothing that grants access or signs, in any form Herald was given or gave out.
    const everything = stdout + stderr;
    for (const secret of [ADMIN, key, SECRET, SECRET.slice(6), ROTATED, API_SECRET, HEADER_VALUE, API_HEADER_VALUE, "a-wrong-token-0123456789abc"]) {
      expect(everything).not.toContain(secret);
    }
    expect(everything.toLowerCase()).not.toContain("bearer");
  }, 40_000);
});

describe("createLogger", () => {
  it("writes readable lines to a terminal and drops what is below its level", () => {
    const written: string[] = [];
    const log = createLogger("info", { write: (line: string) => written.push(line), isTTY: true });
    log.debug("dropped", { a: 1 });
    log.info("attempt failed", { destination: "crm", status: 500, error: "HTTP 500", next_attempt: null });
    expect(written).toHaveLength(1);
    expect(written[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  attempt failed destination=crm status=500 error="HTTP 500" next_attempt=null\n$/);
    const json: string[] = [];
    createLogger("warn", { write: (line: string) => json.push(line) }).info("dropped too");
    expect(json).toEqual([]);
  });
});
