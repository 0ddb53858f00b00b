// The container files, checked without a Docker engine: the Dockerfile's
// HEALTHCHECK runs `herald healthcheck`, which is ready against a running Herald
// and not against a stopped one; the image's built-in config is valid;
// .dockerignore keeps databases and keys out of the build context; the compose
// example has the services, volume and PostgreSQL wiring it promises.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { loadConfig } from "../src/config/load.ts";
import { isIgnored, parseDockerignore } from "./support/dockerignore.ts";
import { spawnHerald, type HeraldProcess } from "./support/process.ts";
import { ADMIN_TOKEN, removeDir, tempDir } from "./support/herald.ts";
import { startReceiver } from "./support/receiver.ts";

const ROOT = join(import.meta.dir, "..");
const MAIN = join(ROOT, "src/main.ts");
const dockerfile = readFileSync(join(ROOT, "Dockerfile"), "utf8");
const IMAGE_BINARY = "/usr/local/bin/herald";
const IMAGE_CONFIG = "/etc/herald/config.yaml";

/** The exec form of the Dockerfile's HEALTHCHECK CMD, e.g. ["/usr/local/bin/herald", "healthcheck", …]. */
function healthcheckCommand(): string[] {
  const line = dockerfile.split("\n").find((l) => l.startsWith("HEALTHCHECK"));
  const json = line?.match(/\sCMD\s+(\[.*\])\s*$/)?.[1];
  if (!json) throw new Error(`no exec-form HEALTHCHECK CMD in the Dockerfile: ${line}`);
  return JSON.parse(json);
}

/** Runs an image command from source: the binary becomes `bun src/main.ts`, the image's config path `config`. */
function runAsInImage(command: string[], config: string, env: Record<string, string> = {}) {
  expect(command[0]).toBe(IMAGE_BINARY);
  const args = command.slice(1).map((arg) => (arg === IMAGE_CONFIG ? config : arg));
  const out = Bun.spawnSync([process.execPath, MAIN, ...args], { env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: out.exitCode, stdout: out.stdout.toString(), stderr: out.stderr.toString() };
}

/** A port nothing listens on right now (the OS picks it; the listener is closed again). */
async function freePort(): Promise<number> {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  await server.stop(true);
  return port;
}

describe("the Dockerfile's HEALTHCHECK", () => {
  const dir = tempDir("herald-container-");
  const config = join(dir, "config.yaml");
  let herald: HeraldProcess;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    // The port is in the config only: the probe must find it there, as it does in the image.
    writeFileSync(config, `server: { port: ${port} }\nstorage: { path: ./herald.db }\nauth: { tokens: [ { name: ops, token: "${ADMIN_TOKEN}", role: admin } ] }\n`);
    herald = await spawnHerald([process.execPath, MAIN, "serve", "--config", "config.yaml"], dir);
  });
  afterAll(async () => {
    if (herald?.proc.exitCode === null) herald.proc.kill("SIGKILL");
    removeDir(dir);
  });

  it("runs `herald healthcheck` with the image's config", () => {
    expect(healthcheckCommand()).toEqual([IMAGE_BINARY, "healthcheck", "--config", IMAGE_CONFIG]);
    // The binary the image ships is the one the build stage copies there.
    expect(dockerfile).toContain(`COPY --from=build /src/dist/herald ${IMAGE_BINARY}`);
  });

  it("says ready and exits 0 while Herald runs, and exits 1 with the reason once it is stopped", async () => {
    const up = runAsInImage(healthcheckCommand(), config);
    expect(up.stdout.trim()).toBe(`ready (http://127.0.0.1:${port}/readyz)`);
    expect(up.code).toBe(0);

    herald.proc.kill("SIGTERM");
    expect(await herald.proc.exited).toBe(0);
    const down = runAsInImage(healthcheckCommand(), config);
    expect(down.code).toBe(1);
    expect(down.stdout).toStartWith(`not ready: cannot reach http://127.0.0.1:${port}/readyz (`);
    expect(down.stdout.trim().split("\n")).toHaveLength(1);
  }, 30_000);
});

describe("herald healthcheck", () => {
  const cwd = tempDir("herald-healthcheck-");
  afterAll(() => removeDir(cwd));
  // Asynchronous: the receivers below answer from this very process.
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const proc = Bun.spawn([process.execPath, MAIN, "healthcheck", ...args], { cwd, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    return { code, stdout, stderr };
  };

  it("passes on Herald's own reason when /readyz answers 503", async () => {
    const draining = startReceiver([], { status: 503, body: JSON.stringify({ error: "not_ready", message: "Herald is starting or draining" }) });
    try {
      const base = new URL(draining.url).origin;
      const result = await run(["--url", base]);
      expect(result.code).toBe(1);
      expect(result.stdout.trim()).toBe(`not ready: ${base}/readyz answered 503: Herald is starting or draining`);
      expect(draining.requests.map((r) => `${r.method} ${r.path}`)).toEqual(["GET /readyz"]);
    } finally {
      await draining.stop();
    }
  });

  it("probes the port HERALD_PORT names when no --url is given", async () => {
    const ready = startReceiver([], { status: 200, body: '{"status":"ready"}' });
    try {
      const result = await run([], { HERALD_PORT: String(ready.port) });
      expect(result.stdout.trim()).toBe(`ready (http://127.0.0.1:${ready.port}/readyz)`);
      expect(result.code).toBe(0);
      expect(ready.requests).toHaveLength(1);
    } finally {
      await ready.stop();
    }
  });

  it("prints its usage for --help and exits 0 without probing", async () => {
    const result = await run(["--help", "--url", "http://127.0.0.1:9"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toStartWith("Usage: herald healthcheck");
  });

  it("refuses an unknown argument or a --url that is not one, with exit 2", async () => {
    expect((await run(["--port", "8080"])).code).toBe(2);
    expect((await run(["--url", "localhost:8080"])).code).toBe(2);
    expect((await run(["--url"])).code).toBe(2);
  });
});

describe("the image's built-in config", () => {
  it("is a valid config listening on all interfaces with the database on the volume", () => {
    const printf = dockerfile.match(/printf '([^']*)' > \/etc\/herald\/config\.yaml/)?.[1];
    expect(printf).toBeDefined();
    const dir = tempDir("herald-image-config-");
    try {
      writeFileSync(join(dir, "config.yaml"), printf!.replaceAll("\\n", "\n"));
      const result = loadConfig({ path: "config.yaml", env: {}, cwd: dir });
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      expect(result.config.server).toMatchObject({ host: "0.0.0.0", port: 8080 });
      expect(result.config.storage).toMatchObject({ driver: "sqlite", path: "/var/lib/herald/herald.db" });
      expect(dockerfile).toContain("VOLUME /var/lib/herald");
    } finally {
      removeDir(dir);
    }
  });
});

describe(".dockerignore", () => {
  const rules = parseDockerignore(readFileSync(join(ROOT, ".dockerignore"), "utf8"));

  it("keeps databases, keys, secrets, modules, history and test leftovers out of the build context", () => {
    const secret = [
      "data/herald.db",
      "data/herald.db-wal",
      "data/herald.db-shm",
      "data/herald.db-instances/abc.lock",
      "herald.db",
      "bench/tmp/bench.db-wal",
      "copy.db",
      "somewhere/deep/herald.db-shm",
      "master.key",
      "keys/herald.key",
      ".env",
      "config.yaml",
      "node_modules/elysia/package.json",
      ".git/HEAD",
      "dist/herald",
      "test-artifacts/ui/console-1280.png",
      "bench/results.json",
    ];
    expect(secret.filter((path) => !isIgnored(rules, path))).toEqual([]);
  });

  it("keeps everything the Dockerfile copies", () => {
    // Every COPY source of the build stage, and a file inside each folder.
    const sources = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1]!.split(/\s+/));
    expect(sources).toEqual(expect.arrayContaining(["package.json", "package-lock.json", "src", "ui"]));
    const kept = [...sources, "src/main.ts", "src/store/sqlite/migrations.ts", "ui/index.html", "config.example.yaml"];
    expect(kept.filter((path) => isIgnored(rules, path))).toEqual([]);
  });

  it("reads patterns as Docker does", () => {
    const made = parseDockerignore("*.db\n**/*.key\ndata\n!data/keep.txt\n");
    expect(isIgnored(made, "a.db")).toBe(true);
    expect(isIgnored(made, "sub/a.db")).toBe(false); // a bare * matches at the root only
    expect(isIgnored(made, "sub/deep/a.key")).toBe(true);
    expect(isIgnored(made, "data/x")).toBe(true);
    expect(isIgnored(made, "data/keep.txt")).toBe(false);
  });
});

describe("docker-compose.example.yml", () => {
  const compose = parse(readFileSync(join(ROOT, "docker-compose.example.yml"), "utf8"));

  it("runs Herald with its database on a named volume and the image's health check", () => {
    const herald = compose.services.herald;
    expect(herald.build).toBe(".");
    expect(herald.volumes).toContain("herald-data:/var/lib/herald");
    expect(Object.keys(compose.volumes)).toContain("herald-data");
    expect(herald.healthcheck.test.slice(0, 3)).toEqual(["CMD", IMAGE_BINARY, "healthcheck"]);
    expect(herald.profiles).toBeUndefined();
  });

  it("has an optional PostgreSQL service, wired to Herald through HERALD_DATABASE_URL", () => {
    const { herald, postgres } = compose.services;
    expect(postgres.profiles).toEqual(["postgres"]);
    expect(postgres.volumes).toContain("postgres-data:/var/lib/postgresql/data");
    // Herald waits for it only when the profile is on.
    expect(herald.depends_on.postgres).toEqual({ condition: "service_healthy", required: false });
    const url = new URL(herald.environment.HERALD_DATABASE_URL.replace(/\$\{POSTGRES_PASSWORD:-[^}]*\}/, "pw"));
    expect(url.protocol).toBe("postgres:");
    expect(url.hostname).toBe("postgres");
    expect(url.username).toBe(postgres.environment.POSTGRES_USER);
    expect(url.pathname).toBe(`/${postgres.environment.POSTGRES_DB}`);
  });

  it("mounts a PostgreSQL config that Herald accepts and that reads the URL from HERALD_DATABASE_URL", () => {
    const mount = compose.services.herald.configs.find((c: { source: string }) => c.source === "herald-postgres");
    expect(mount.target).toBe("/etc/herald/postgres.yaml");
    // Compose turns $$ into $ before the file reaches the container.
    const content = compose.configs["herald-postgres"].content.replaceAll("$$", "$");
    const dir = tempDir("herald-compose-config-");
    try {
      writeFileSync(join(dir, "postgres.yaml"), content);
      const env = { HERALD_DATABASE_URL: "postgres://herald:pw@postgres:5432/herald" };
      const result = loadConfig({ path: "postgres.yaml", env, cwd: dir });
      if (!result.ok) throw new Error(JSON.stringify(result.errors));
      expect(result.config.storage).toMatchObject({ driver: "postgres", url: env.HERALD_DATABASE_URL });
      expect(result.config.server.host).toBe("0.0.0.0");
      expect(content).not.toContain("pw@");
    } finally {
      removeDir(dir);
    }
  });
});
