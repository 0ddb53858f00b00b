// The command line as a user runs it: `check` reports config errors with their
// paths, `serve` makes and prints an admin token once, `backup` copies the
// database online, config resources are reconciled at every start; every
// command's flags are strict; `token`, `publish` and `config-schema` work as the
// README shows.
import { afterAll, describe, expect, it } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnHerald } from "./support/process.ts";
import { until } from "./support/eventually.ts";
import { removeDir, tempDir } from "./support/herald.ts";
import { startReceiver } from "./support/receiver.ts";
import { Validator } from "@cfworker/json-schema";
import { parse as parseYaml } from "yaml";
import { configJsonSchema, FREE_FORM, untypedPaths } from "../src/config/json-schema.ts";

const MAIN = join(import.meta.dir, "../src/main.ts");
const dirs: string[] = [];
const dir = () => {
  const d = tempDir("herald-cli-");
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach(removeDir));

function run(args: string[], cwd: string, env: Record<string, string> = {}) {
  const out = Bun.spawnSync([process.execPath, MAIN, ...args], { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: out.exitCode, stdout: out.stdout.toString(), stderr: out.stderr.toString() };
}

describe("herald check", () => {
  it("exits 1 and prints one path: message line per problem", () => {
    const cwd = dir();
    writeFileSync(
      join(cwd, "config.yaml"),
      `server: { port: "eighty", colour: blue }
delivery: { retry_schedule: [5s, soon] }
destinations: [ { id: crm, url: "https://crm.example.com/hooks", secret: "\${CRM_SECRET}" } ]
subscriptions: [ { id: s, destination: nowhere, event_types: ["*"] } ]
`,
    );
    const result = run(["check"], cwd, { CRM_SECRET: "" });
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    const paths = lines.map((l) => l.split(":")[0]);
    expect(paths).toEqual(expect.arrayContaining(["server.port", "server.colour", "delivery.retry_schedule[1]", "subscriptions[0].destination"]));
  });

  it("reports a missing environment variable with its path", () => {
    const cwd = dir();
    writeFileSync(join(cwd, "herald.yaml"), `auth: { tokens: [ { name: ops, role: admin, token: "\${NOT_SET_ANYWHERE}" } ] }\n`);
    const result = run(["check", "--config", "herald.yaml"], cwd);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("auth.tokens[0].token: ");
    expect(result.stderr).toContain("NOT_SET_ANYWHERE");
  });

  it("exits 0 on a good file and on built-in defaults", () => {
    const cwd = dir();
    expect(run(["check"], cwd).code).toBe(0);
    writeFileSync(join(cwd, "config.yaml"), "delivery: { timeout: 5s }\n");
    const result = run(["check"], cwd);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("ok");
  });

  it("herald version prints the version", () => {
    expect(run(["version"], dir()).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe("herald serve without configured tokens", () => {
  it("prints a generated admin token once and stores only its hash", async () => {
    const cwd = dir();
    writeFileSync(join(cwd, "config.yaml"), "server: { port: 0 }\n");
    const first = await spawnHerald([process.execPath, MAIN, "serve"], cwd);
    const token = first.output().match(/\b(hrld_[A-Za-z0-9_-]{20,})\b/)?.[1];
    expect(token).toBeDefined();
    const ok = await fetch(`${first.url}/v1/events`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    first.proc.kill("SIGTERM");
    await first.proc.exited;

    const second = await spawnHerald([process.execPath, MAIN, "serve"], cwd);
    expect(second.output()).not.toContain("hrld_");
    expect((await fetch(`${second.url}/v1/events`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    second.proc.kill("SIGTERM");
    await second.proc.exited;
    const stored = readFileSync(join(cwd, "data/herald.db"));
    expect(stored.includes(Buffer.from(token!))).toBe(false);
  }, 30_000);
});

describe("herald backup", () => {
  it("writes a consistent copy while Herald runs", async () => {
    const cwd = dir();
    writeFileSync(join(cwd, "config.yaml"), `server: { port: 0 }\nauth: { tokens: [ { name: ops, role: admin, token: "backup-token-0123456789" } ] }\nevent_types: [ { name: a.b } ]\n`);
    const herald = await spawnHerald([process.execPath, MAIN, "serve"], cwd);
    const res = await fetch(`${herald.url}/v1/events`, {
      method: "POST",
      headers: { authorization: "Bearer backup-token-0123456789", "content-type": "application/json" },
      body: JSON.stringify({ type: "a.b", data: { kept: true } }),
    });
    const { id } = await res.json();
    const result = run(["backup", "copy.db"], cwd);
    herald.proc.kill("SIGTERM");
    await herald.proc.exited;
    expect(result.code).toBe(0);
    const copy = new Database(join(cwd, "copy.db"), { readonly: true });
    expect(copy.query("SELECT data FROM events WHERE id = ?").get(id)).toEqual({ data: '{"kept":true}' });
    copy.close();
  }, 30_000);
});

describe("reconciling the config at start", () => {
  it("updates and removes config resources without losing queued deliveries", async () => {
    const cwd = dir();
    const down = startReceiver([], { status: 503 });
    const up = startReceiver();
    const write = (url: string, extra = "") =>
      writeFileSync(
        join(cwd, "config.yaml"),
        `server: { port: 0 }
auth: { tokens: [ { name: ops, role: admin, token: "reconcile-token-0123456789" } ] }
delivery: { https_only: false, allow_private_networks: true, retry_schedule: [1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s, 1s] }
sweep: { schedule: "* * * * * *" }
event_types: [ { name: a.b } ]
destinations: [ { id: crm, url: "${url}" }${extra} ]
subscriptions: [ { id: crm-all, destination: crm, event_types: ["*"] } ]
`,
      );
    const api = (url: string, path: string, init: RequestInit = {}) =>
      fetch(url + path, { ...init, headers: { authorization: "Bearer reconcile-token-0123456789", "content-type": "application/json" } }).then((r) => r.json());

    write(down.url, `, { id: old, url: "${down.url}" }`);
    let herald = await spawnHerald([process.execPath, MAIN, "serve"], cwd);
    const { id } = await api(herald.url, "/v1/events", { method: "POST", body: JSON.stringify({ type: "a.b", data: { n: 1 } }) });
    await down.waitFor(1);
    herald.proc.kill("SIGTERM");
    await herald.proc.exited;

    // The URL changes and "old" leaves the file: the queued delivery goes to the new URL.
    write(up.url);
    herald = await spawnHerald([process.execPath, MAIN, "serve"], cwd);
    try {
      const [request] = await up.waitFor(1, 10_000);
      expect(request!.headers["webhook-id"]).toBe(id);
      const destinations = await api(herald.url, "/v1/destinations");
      expect(destinations.data.map((d: any) => d.id)).toEqual(["crm"]);
      expect(destinations.data[0].managed_by).toBe("config");
    } finally {
      herald.proc.kill("SIGTERM");
      await herald.proc.exited;
      await down.stop();
      await up.stop();
    }
  }, 30_000);
});

describe("SIGHUP", () => {
  it("reloads the resources of a changed config file, and ignores a broken one", async () => {
    const cwd = dir();
    const head = `server: { port: 0 }\nauth: { tokens: [ { name: ops, role: admin, token: "reload-token-0123456789" } ] }\n`;
    writeFileSync(join(cwd, "config.yaml"), head + "event_types: [ { name: first.type } ]\n");
    const herald = await spawnHerald([process.execPath, MAIN, "serve"], cwd);
    const names = async () =>
      (await (await fetch(`${herald.url}/v1/event-types`, { headers: { authorization: "Bearer reload-token-0123456789" } })).json()).data
        .map((t: any) => t.name)
        .filter((n: string) => !n.startsWith("herald."));
    try {
      expect(await names()).toEqual(["first.type"]);
      writeFileSync(join(cwd, "config.yaml"), head + "event_types: [ { name: second.type } ]\n");
      herald.proc.kill("SIGHUP");
      await until(() => herald.output().includes("config reloaded"), "the reload to be logged");
      expect(await names()).toEqual(["second.type"]);
      writeFileSync(join(cwd, "config.yaml"), head + "event_types: [ { name: 42 } ]\n");
      herald.proc.kill("SIGHUP");
      await until(() => herald.output().includes("config reload refused"), "the refusal to be logged");
      expect(await names()).toEqual(["second.type"]);
    } finally {
      herald.proc.kill("SIGTERM");
      await herald.proc.exited;
    }
  }, 30_000);
});


// ---- strict flags: every command's --help, unknown flags, serve's --port/--host ----------------

const COMMAND_NAMES = ["serve", "check", "backup", "copy-store", "rekey", "healthcheck", "token", "publish", "config-schema", "version"];

/** A port nothing listens on now: the kernel's pick for a socket closed at once. */
function freePort(): number {
  const socket = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = socket.port;
  socket.stop(true);
  return port;
}

describe("strict flags", () => {
  it("--help and -h print each command's usage and exit 0", () => {
    const cwd = dir();
    for (const name of COMMAND_NAMES) {
      for (const help of ["--help", "-h"]) {
        const result = run([name, help], cwd);
        expect({ name, code: result.code, stderr: result.stderr }).toEqual({ name, code: 0, stderr: "" });
        expect(result.stdout).toContain(`Usage: herald ${name}`);
        expect(result.stdout).toContain("--help");
      }
    }
  });

  it("serve --help starts nothing: no port opened, no token minted, no database made", async () => {
    const cwd = dir();
    const port = freePort();
    writeFileSync(join(cwd, "config.yaml"), `server: { port: ${port} }\n`);
    const result = run(["serve", "--help"], cwd);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("hrld_");
    expect(result.stdout + result.stderr).not.toContain("herald started");
    expect(existsSync(join(cwd, "data"))).toBe(false);
    // The process has exited; had it listened, it would have printed "herald started" first.
    expect(await fetch(`http://127.0.0.1:${port}/readyz`).then(() => "answered", () => "refused")).toBe("refused");
  });

  it("check --help does not check: a broken config.yaml is not even read", () => {
    const cwd = dir();
    writeFileSync(join(cwd, "config.yaml"), "server: { port: eighty }\n");
    expect(run(["check"], cwd).code).toBe(1);
    const help = run(["check", "--help"], cwd);
    expect(help.code).toBe(0);
    expect(help.stdout).not.toContain("server.port");
  });

  it("an unknown flag exits 2 and names it, for every command", () => {
    const cwd = dir();
    for (const name of COMMAND_NAMES) {
      const result = run([name, "--prot", "1"], cwd);
      expect({ name, code: result.code }).toEqual({ name, code: 2 });
      expect(result.stderr).toContain(`herald ${name}: unknown flag --prot`);
    }
    const short = run(["serve", "-x"], cwd);
    expect(short.code).toBe(2);
    expect(short.stderr).toContain("herald serve: unknown flag -x");
    // A flag's value is never echoed: it may be a token.
    const valued = run(["check", "--token=secret-value-123"], cwd);
    expect(valued.stderr).toContain("unknown flag --token");
    expect(valued.stderr).not.toContain("secret-value-123");
  });

  it("a stray argument or a flag without its value exits 2", () => {
    const cwd = dir();
    expect(run(["check", "extra"], cwd).code).toBe(2);
    const noValue = run(["serve", "--port"], cwd);
    expect(noValue.code).toBe(2);
    expect(noValue.stderr).toContain("--port needs a value");
    const badPort = run(["serve", "--port", "eighty"], cwd);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain("--port must be a port number");
  });
});

describe("where herald serve listens", () => {
  const config = (cwd: string) =>
    writeFileSync(join(cwd, "config.yaml"), `server: { port: 1 }\nauth: { tokens: [ { name: ops, role: admin, token: "listen-token-0123456789" } ] }\n`);

  it("serve --port and --host override the config", async () => {
    const cwd = dir();
    config(cwd);
    const port = freePort();
    const herald = await spawnHerald([process.execPath, MAIN, "serve", "--port", String(port), "--host", "127.0.0.1"], cwd);
    try {
      expect(new URL(herald.url).port).toBe(String(port));
      expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    } finally {
      herald.proc.kill("SIGKILL");
      await herald.proc.exited;
    }
  }, 30_000);

  it("HERALD_PORT overrides the config, and --port overrides HERALD_PORT", async () => {
    const cwd = dir();
    config(cwd);
    const fromEnv = freePort();
    const herald = await spawnHerald([process.execPath, MAIN, "serve"], cwd, { HERALD_PORT: String(fromEnv), HERALD_HOST: "127.0.0.1" });
    try {
      expect(new URL(herald.url).port).toBe(String(fromEnv));
    } finally {
      herald.proc.kill("SIGKILL");
      await herald.proc.exited;
    }
    const fromFlag = freePort();
    const second = await spawnHerald([process.execPath, MAIN, "serve", "-p", String(fromFlag)], cwd, { HERALD_PORT: "1" });
    try {
      expect(new URL(second.url).port).toBe(String(fromFlag));
    } finally {
      second.proc.kill("SIGKILL");
      await second.proc.exited;
    }
  }, 30_000);
});

describe("herald token", () => {
  /** `herald token …`'s token (line 1) and the line for auth.tokens (the last). */
  function mint(args: string[], cwd: string) {
    const result = run(["token", ...args], cwd);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n");
    return { token: lines[0]!, line: lines.at(-1)! };
  }

  it("prints a token whose config line herald check accepts and Herald then admits, as admin or tenant", async () => {
    const cwd = dir();
    const admin = mint(["--name", "ops"], cwd);
    const tenant = mint(["--tenant", "acme"], cwd);
    expect(admin.token).toMatch(/^hrld_[A-Za-z0-9_-]{40,}$/);
    expect(admin.line).toContain("role: admin");
    expect(admin.line).not.toContain(admin.token);
    expect(tenant.line).toContain("role: tenant, tenant: acme");
    expect(mint([], cwd).token).not.toBe(admin.token);
    writeFileSync(join(cwd, "config.yaml"), `server: { port: 0 }\nauth:\n  tokens:\n    ${admin.line}\n    ${tenant.line}\n`);
    const check = run(["check"], cwd);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    const herald = await spawnHerald([process.execPath, MAIN, "serve"], cwd);
    try {
      expect((await fetch(`${herald.url}/v1/events`, { headers: { authorization: `Bearer ${admin.token}` } })).status).toBe(200);
      // A tenant token reads its own tenant's destinations, and may not manage API keys.
      expect((await fetch(`${herald.url}/v1/destinations`, { headers: { authorization: `Bearer ${tenant.token}` } })).status).toBe(200);
      expect((await fetch(`${herald.url}/v1/events`, { headers: { authorization: "Bearer hrld_not-a-token-at-all-0000000000" } })).status).toBe(401);
    } finally {
      herald.proc.kill("SIGKILL");
      await herald.proc.exited;
    }
  }, 30_000);

  it("refuses a name or tenant the config would refuse", () => {
    expect(run(["token", "--tenant", "no spaces"], dir()).code).toBe(2);
    expect(run(["token", "--name", "a/b"], dir()).code).toBe(2);
  });
});

describe("herald publish", () => {
  /** Runs the command without blocking this process, whose receiver must keep answering. */
  async function runAsync(args: string[], cwd: string, env: Record<string, string> = {}) {
    const proc = Bun.spawn([process.execPath, MAIN, ...args], { cwd, env: { ...process.env, HERALD_URL: "", HERALD_TOKEN: "", ...env }, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  }

  it("publishes to a running Herald, which delivers; the API's refusal exits 1 with its message", async () => {
    const cwd = dir();
    const receiver = startReceiver();
    writeFileSync(
      join(cwd, "config.yaml"),
      `server: { port: 0 }
auth: { tokens: [ { name: ops, role: admin, token: "publish-token-0123456789" } ] }
delivery: { https_only: false, allow_private_networks: true }
event_types: [ { name: order.paid, schema: { type: object, required: [total] } } ]
destinations: [ { id: shop, url: "${receiver.url}", tenant: acme } ]
subscriptions: [ { id: shop-all, destination: shop, event_types: ["*"] } ]
`,
    );
    writeFileSync(join(cwd, "event.json"), `{ "total": 42 }`);
    const herald = await spawnHerald([process.execPath, MAIN, "serve"], cwd);
    try {
      const env = { HERALD_URL: herald.url, HERALD_TOKEN: "publish-token-0123456789" };
      const published = await runAsync(["publish", "order.paid", "--data", "@event.json", "--tenant", "acme", "--id", "evt-cli-1"], cwd, env);
      expect(published.stderr).toBe("");
      expect(published.code).toBe(0);
      expect(JSON.parse(published.stdout)).toMatchObject({ id: "evt-cli-1", deliveries: 1 });
      const [request] = await receiver.waitFor(1, 10_000);
      expect(request!.headers["webhook-id"]).toBe("evt-cli-1");
      expect(JSON.parse(request!.body)).toMatchObject({ type: "order.paid", data: { total: 42 } });

      // --url and --token on the command line work as well as the environment.
      const inline = await runAsync(["publish", "order.paid", "-d", '{"total":1}', "--url", herald.url, "--token", "publish-token-0123456789"], cwd);
      expect(inline.code).toBe(0);

      // Refusals: the schema's, and a wrong token's; both exit 1 with the API's message.
      const invalid = await runAsync(["publish", "order.paid", "--data", "{}"], cwd, env);
      expect(invalid.code).toBe(1);
      expect(invalid.stderr).toContain("herald publish: 400 data does not match the schema");
      expect(invalid.stderr).toContain("total");
      const wrong = await runAsync(["publish", "order.paid"], cwd, { ...env, HERALD_TOKEN: "hrld_wrong-token-000000000000000" });
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toContain("herald publish: 401");
      expect(wrong.stderr).not.toContain("hrld_wrong");
    } finally {
      herald.proc.kill("SIGKILL");
      await herald.proc.exited;
      await receiver.stop();
    }
  }, 30_000);

  it("exits 2 without a token or with --data that is not JSON, and 1 when nothing answers", async () => {
    const cwd = dir();
    const none = await runAsync(["publish", "a.b"], cwd);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain("HERALD_TOKEN");
    const env = { HERALD_TOKEN: "t0123456789abcdef", HERALD_URL: `http://127.0.0.1:${freePort()}` };
    expect((await runAsync(["publish", "a.b", "--data", "{nope"], cwd, env)).code).toBe(2);
    expect((await runAsync(["publish"], cwd, env)).code).toBe(2);
    const down = await runAsync(["publish", "a.b"], cwd, env);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain("cannot reach");
  });
});

describe("herald config-schema", () => {
  const ROOT = join(import.meta.dir, "..");

  it("prints the committed config.schema.json (regenerate: herald config-schema > config.schema.json)", () => {
    const result = run(["config-schema"], dir());
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(readFileSync(join(ROOT, "config.schema.json"), "utf8"));
    expect(readFileSync(join(ROOT, "config.example.yaml"), "utf8").split("\n")[0]).toBe("# yaml-language-server: $schema=./config.schema.json");
  });

  it("types every value but the free-form ones: a new duration or size must be named in src/config/json-schema.ts", () => {
    expect(untypedPaths(configJsonSchema())).toEqual(FREE_FORM);
  });

  it("accepts config.example.yaml and refuses what herald check refuses: an unknown key, a bad duration, a port too high", () => {
    const validator = new Validator(JSON.parse(readFileSync(join(ROOT, "config.schema.json"), "utf8")), "2020-12", false);
    const example = parseYaml(readFileSync(join(ROOT, "config.example.yaml"), "utf8"), { merge: true });
    expect(validator.validate(example).errors).toEqual([]);
    expect(validator.validate({ server: { port: 8080, max_body: "2MiB" }, delivery: { timeout: "1.5h", retry_schedule: ["5s", "1m"], keep_response_bytes: 10 } }).valid).toBe(true);
    for (const wrong of [{ server: { prot: 1 } }, { delivery: { timeout: "soon" } }, { server: { port: 70000 } }, { server: { max_body: "1 MiB" } }, { destinations: [{ url: "https://x" }] }]) {
      expect({ wrong, valid: validator.validate(wrong).valid }).toEqual({ wrong, valid: false });
    }
  });
});
