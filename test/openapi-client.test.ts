// A typed client generated from Herald's own /openapi.json with openapi-typescript,
// as a user of the API would: a small program publishes an event and lists events
// through typed fetch wrappers, TypeScript checks it (a wrong call must not
// type-check), then it runs against the same real Herald.
import { afterAll, beforeAll, expect, it } from "bun:test";
import { join } from "node:path";
import openapiTS from "openapi-typescript";
import { ADMIN_TOKEN, removeDir, startHerald, tempDir, testConfig, type TestHerald } from "./support/herald.ts";

const ROOT = join(import.meta.dir, "..");
const TSC = join(ROOT, "node_modules/.bin/tsc");
const BUN = join(ROOT, "node_modules/.bin/bun");

let herald: TestHerald;
let dir: string;
beforeAll(async () => {
  herald = await startHerald(testConfig({ event_types: [{ name: "order.created", description: "An order was placed." }] }));
  dir = tempDir("herald-openapi-client-");
});
afterAll(async () => {
  await herald?.stop();
  if (dir) removeDir(dir);
});

// The program a user would write. Its types come only from the generated file.
const PROGRAM = `
import type { components, paths } from "./api.ts";

// Only what this program uses of the runtime: no Node or Bun types are installed here.
declare const process: { env: Record<string, string | undefined> };

type PublishInput = paths["/v1/events"]["post"]["requestBody"]["content"]["application/json"];
type Published = paths["/v1/events"]["post"]["responses"]["202"]["content"]["application/json"];
type ListQuery = NonNullable<paths["/v1/events"]["get"]["parameters"]["query"]>;
type EventList = components["schemas"]["EventList"];
type HeraldEvent = components["schemas"]["Event"];
type ApiError = components["schemas"]["Error"];

const base = process.env.HERALD_URL!;
const headers = { authorization: "Bearer " + process.env.HERALD_TOKEN, "content-type": "application/json" };

async function answer<T>(response: Response): Promise<T> {
  if (!response.ok) {
    const error = (await response.json()) as ApiError;
    throw new Error(response.status + " " + error.error + ": " + error.message);
  }
  return (await response.json()) as T;
}

async function publishEvent(input: PublishInput, idempotencyKey: string): Promise<Published> {
  const response = await fetch(base + "/v1/events", { method: "POST", headers: { ...headers, "idempotency-key": idempotencyKey }, body: JSON.stringify(input) });
  return answer<Published>(response);
}

async function listEvents(query: ListQuery): Promise<EventList> {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) search.set(name, String(value));
  return answer<EventList>(await fetch(base + "/v1/events?" + search, { headers }));
}

// @ts-expect-error limit is an integer parameter, not text
const wrong: ListQuery = { limit: "10" };
void wrong;

const published = await publishEvent({ type: "order.created", data: { order_id: "ord_1042", total: 129.5 } }, "client-order-1042");
const page = await listEvents({ type: "order.created", limit: 10 });
const found: HeraldEvent | undefined = page.data.find((event) => event.id === published.id);
console.log(JSON.stringify({ published, found: found ?? null, next_cursor: page.next_cursor }));
`;

const TSCONFIG = {
  compilerOptions: {
    strict: true, noEmit: true, target: "ES2022", module: "ESNext", moduleResolution: "bundler", allowImportingTsExtensions: true,
    lib: ["ES2022", "DOM", "DOM.Iterable"], types: [], skipLibCheck: false,
  },
  include: ["*.ts"],
};

async function run(command: string[], env: Record<string, string> = {}) {
  const child = Bun.spawn(command, { cwd: dir, stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const [stdout, stderr, exit] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { stdout, stderr, exit };
}

it("generates a typed client from /openapi.json that type-checks and publishes and lists through it", async () => {
  const document = await (await fetch(herald.url + "/openapi.json")).json();
  await Bun.write(join(dir, "api.ts"), await openapiTS(document));
  await Bun.write(join(dir, "client.ts"), PROGRAM);
  await Bun.write(join(dir, "tsconfig.json"), JSON.stringify(TSCONFIG, null, 2));

  const tsc = await run([TSC, "--noEmit", "-p", dir]);
  expect({ exit: tsc.exit, report: tsc.stdout + tsc.stderr }).toEqual({ exit: 0, report: "" });

  // Spawned, not spawnSync: this Herald runs in the test's own process and must keep answering.
  const client = await run([BUN, join(dir, "client.ts")], { HERALD_URL: herald.url, HERALD_TOKEN: ADMIN_TOKEN });
  expect({ exit: client.exit, stderr: client.stderr }).toEqual({ exit: 0, stderr: "" });
  const output = JSON.parse(client.stdout.trim().split("\n").at(-1)!);
  const id: string = output.published.id;
  expect(id).toMatch(/^evt_/);
  expect(output.published).toEqual({ id, deliveries: 0, deliver_at: null });
  expect(output.found).toMatchObject({ id, type: "order.created", data: { order_id: "ord_1042", total: 129.5 } });
  // Herald itself has it, as the program said.
  const read = await herald.api("GET", `/v1/events/${id}`);
  expect({ status: read.status, type: read.body.type }).toEqual({ status: 200, type: "order.created" });
}, 60_000);
