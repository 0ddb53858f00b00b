// The single executable: built as `npm run build` builds it, started from an
// empty temporary directory (nothing from the source tree), it delivers an event
// and serves its embedded assets.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { spawnHerald, type HeraldProcess } from "./support/process.ts";
import { ADMIN_TOKEN, removeDir, tempDir } from "./support/herald.ts";

const buildDir = tempDir("herald-build-");
const runDir = tempDir("herald-run-");
const binary = join(buildDir, "herald");
let receiver: Receiver;
let herald: HeraldProcess;

beforeAll(async () => {
  // package.json's "build", flags and all, writing to the temporary directory instead of dist/.
  const root = join(import.meta.dir, "..");
  const script: string = (await Bun.file(join(root, "package.json")).json()).scripts.build;
  const [tool, ...args] = script.split(" ");
  expect(tool).toBe("bun");
  const build = Bun.spawnSync([process.execPath, ...args.map((arg) => (arg === "dist/herald" ? binary : arg))], { cwd: root, stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(build.stderr.toString());
  receiver = startReceiver();
  writeFileSync(
    join(runDir, "config.yaml"),
    `server: { port: 0 }
auth: { tokens: [ { name: ops, token: "\${HERALD_TOKEN}", role: admin } ] }
delivery: { https_only: false, allow_hosts: ["127.0.0.1"] }
event_types: [ { name: ping } ]
destinations: [ { id: r, url: "${receiver.url}" } ]
subscriptions: [ { id: s, destination: r, event_types: ["ping"] } ]
`,
  );
  herald = await spawnHerald([binary, "serve"], runDir, { HERALD_TOKEN: ADMIN_TOKEN });
}, 60_000);

afterAll(async () => {
  herald?.proc.kill("SIGTERM");
  await herald?.proc.exited;
  await receiver?.stop();
  removeDir(buildDir);
  removeDir(runDir);
});

it("prints its version", () => {
  const out = Bun.spawnSync([binary, "version"], { cwd: runDir });
  expect(out.stdout.toString().trim()).toMatch(/^\d+\.\d+\.\d+/);
});

it("delivers one event from a temporary directory", async () => {
  const res = await fetch(`${herald.url}/v1/events`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ type: "ping", data: { hello: "world" } }),
  });
  expect(res.status).toBe(202);
  const { id } = await res.json();
  const [request] = await receiver.waitFor(1);
  expect(request!.headers["webhook-id"]).toBe(id);
  expect(JSON.parse(request!.body).data).toEqual({ hello: "world" });
});

it("serves its health probe, OpenAPI document and Swagger UI assets from the binary", async () => {
  expect((await fetch(`${herald.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${herald.url}/readyz`)).status).toBe(200);
  const doc = await (await fetch(`${herald.url}/openapi.json`)).json();
  expect(doc.paths["/v1/events"]).toBeDefined();
  const css = await fetch(`${herald.url}/docs/assets/swagger-ui.css`);
  expect(css.status).toBe(200);
  expect((await css.text()).length).toBeGreaterThan(10_000);
});

it("serves the console, its script and its stylesheet from the binary", async () => {
  const page = await fetch(`${herald.url}/ui/`);
  expect(page.status).toBe(200);
  expect(page.headers.get("content-type")).toContain("text/html");
  const html = await page.text();
  const script = html.match(/<script[^>]+src="(\/ui\/[^"]+\.js)"/)?.[1];
  const style = html.match(/<link[^>]+href="(\/ui\/[^"]+\.css)"/)?.[1];
  expect(script).toBeDefined();
  expect(style).toBeDefined();
  const js = await fetch(herald.url + script);
  expect(js.headers.get("content-type")).toContain("javascript");
  // The bundled TypeScript, not the source: it talks to /v1 and has no import of a .ts file left.
  const code = await js.text();
  expect(code).toContain("/v1/events");
  expect(code).not.toMatch(/from\s*["'][^"']+\.ts["']/);
  const css = await fetch(herald.url + style);
  expect(css.headers.get("content-type")).toContain("text/css");
  expect(await css.text()).toContain(".badge");
  expect((await fetch(`${herald.url}/`, { redirect: "manual" })).headers.get("location")).toBe("/ui/");
});

it("has the health check the container runs: ready while it serves", () => {
  const out = Bun.spawnSync([binary, "healthcheck", "--url", herald.url], { cwd: runDir, stdout: "pipe" });
  expect(out.stdout.toString().trim()).toBe(`ready (${herald.url}/readyz)`);
  expect(out.exitCode).toBe(0);
});

it("answers SIGTERM by draining and exiting 0", async () => {
  herald.proc.kill("SIGTERM");
  expect(await herald.proc.exited).toBe(0);
});
