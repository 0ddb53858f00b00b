// Client input that must be refused with a 400 naming the field (never a 500 or a
// stored oddity): numbers out of range, unusable event-type schemas, arrays where
// maps belong, reserved names, URLs the address guard would refuse, test-send names.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { validateConfig } from "../src/config/schema.ts";
import { startReceiver, type Receiver } from "./support/receiver.ts";
import { startHerald, testConfig, type TestHerald } from "./support/herald.ts";

let herald: TestHerald;
let receiver: Receiver;

beforeAll(async () => {
  receiver = startReceiver();
  herald = await startHerald(testConfig());
});
afterAll(async () => {
  await herald.stop();
  await receiver.stop();
});

/** Nests `leaf` n levels deep: {properties: {a: …}} for schemas, [[…]] for data. */
const deepSchema = (n: number): object => {
  let schema: object = { type: "string" };
  for (let i = 0; i < n; i++) schema = { type: "object", properties: { a: schema } };
  return schema;
};
const deepArray = (n: number): string => "[".repeat(n) + "]".repeat(n);

/** The paths a 400 names. */
const paths = (body: any): string[] => (body.details ?? []).map((d: { path: string }) => d.path);

function configErrors(input: Record<string, unknown>): string[] {
  const result = validateConfig(input);
  return result.ok ? [] : result.errors.map((e) => `${e.path}: ${e.message}`);
}

describe("numbers have an upper bound", () => {
  for (const rate_limit of [1e20, 100_001, 1.5, 0]) {
    it(`refuses rate_limit ${rate_limit} with a 400 at rate_limit`, async () => {
      const created = await herald.api("POST", "/v1/destinations", { url: receiver.url, rate_limit });
      expect(created.status).toBe(400);
      expect(paths(created.body)).toEqual(["rate_limit"]);
    });
  }

  it("refuses rate_limit 1e20 on a patch too, and keeps 100,000/s", async () => {
    const created = await herald.api("POST", "/v1/destinations", { url: receiver.url, rate_limit: 100_000 });
    expect(created.status).toBe(201);
    const patched = await herald.api("PATCH", `/v1/destinations/${created.body.id}`, { rate_limit: 1e20 });
    expect(patched.status).toBe(400);
    expect(paths(patched.body)).toEqual(["rate_limit"]);
  });

  it("refuses rate_limit 1e20, NaN and infinity in the config file", () => {
    for (const rate_limit of [1e20, Number.NaN, Number.POSITIVE_INFINITY]) {
      const errors = configErrors({ destinations: [{ id: "d", url: "https://d.example", rate_limit }] });
      expect(errors.map((e) => e.split(":")[0])).toEqual(["destinations[0].rate_limit"]);
    }
  });

  it("bounds the config's concurrency and retry waits so they fit what stores them", () => {
    const errors = configErrors({ delivery: { concurrency: 1e20, retry_schedule: ["5s", "100000000d"], disable_after: "100000000d" } });
    expect(errors.map((e) => e.split(":")[0])).toEqual(["delivery.concurrency", "delivery.retry_schedule[1]", "delivery.disable_after"]);
  });
});

describe("event-type schemas are checked when they are stored", () => {
  it("refuses a schema with a pattern that is not a regular expression (400 at schema…)", async () => {
    const schema = { type: "object", properties: { code: { type: "string", pattern: "([a-z" } } };
    const created = await herald.api("POST", "/v1/event-types", { name: "bad.pattern", schema });
    expect(created.status).toBe(400);
    expect(paths(created.body)).toEqual(["schema.properties.code.pattern"]);
    expect((await herald.api("GET", "/v1/event-types/bad.pattern")).status).toBe(404);
  });

  it("refuses an invalid pattern on a patch, and in patternProperties", async () => {
    expect((await herald.api("POST", "/v1/event-types", { name: "good.pattern", schema: { type: "object" } })).status).toBe(201);
    const patched = await herald.api("PATCH", "/v1/event-types/good.pattern", { schema: { patternProperties: { "(": { type: "string" } } } });
    expect(patched.status).toBe(400);
    expect(paths(patched.body)).toEqual(["schema.patternProperties"]);
    // Publishing still works against the schema that was kept.
    expect((await herald.api("POST", "/v1/events", { type: "good.pattern", data: { a: 1 } })).status).toBe(202);
  });

  it("refuses a deeply nested schema (400: the body's depth bound comes first)", async () => {
    // Through the API, server.max_depth (64) refuses the body before the schema
    // check's own depth bound can: the config file path below meets that one.
    for (const depth of [40, 10_000]) {
      const started = performance.now();
      const created = await herald.api("POST", "/v1/event-types", { name: "deep.schema", schema: deepSchema(depth) });
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(created.status).toBe(400);
      expect(created.body.error).toBe("body_too_complex");
      expect(created.body.message).toContain("server.max_depth");
    }
    expect((await herald.api("GET", "/v1/event-types/deep.schema")).status).toBe(404);
  });

  it("refuses a schema over 64 KiB", async () => {
    const properties = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`field_${i}`, { type: "string", description: "x".repeat(250) }]));
    const created = await herald.api("POST", "/v1/event-types", { name: "big.schema", schema: { type: "object", properties } });
    expect(created.status).toBe(400);
    expect(paths(created.body)).toEqual(["schema"]);
  });

  it("refuses the same schemas in the config file, a 10,000-deep one fast", () => {
    const started = performance.now();
    const errors = configErrors({
      event_types: [
        { name: "a.b", schema: { type: "string", pattern: "(" } },
        { name: "c.d", schema: deepSchema(10_000) },
        { name: "e.f", schema: deepSchema(5) },
      ],
    });
    expect(errors.map((e) => e.split(":")[0])).toEqual(["event_types[0].schema.pattern", "event_types[1].schema"]);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("answers deep data against a recursive schema fast with a 400, never a 500", async () => {
    const schema = { type: "array", items: { $ref: "#" } };
    expect((await herald.api("POST", "/v1/event-types", { name: "recursive.list", schema })).status).toBe(201);
    // 60 levels fit server.max_depth (64) and are checked against the schema;
    // 5,000 are refused by that bound before the schema is consulted.
    for (const depth of [60, 5_000]) {
      const started = performance.now();
      const published = await herald.api("POST", "/v1/events", `{"type":"recursive.list","data":${deepArray(depth)}}`);
      expect(performance.now() - started).toBeLessThan(2_000);
      if (depth === 60) expect(published.status).toBe(202);
      else {
        expect(published.status).toBe(400);
        expect(published.body.error).toBe("body_too_complex");
      }
    }
  });
});

describe("maps are objects of strings", () => {
  for (const [field, value] of [["headers", []], ["metadata", ["a"]], ["headers", { "x-a": 1 }], ["metadata", null]] as const) {
    it(`refuses ${field}: ${JSON.stringify(value)} with a 400 at ${field}`, async () => {
      const created = await herald.api("POST", "/v1/destinations", { url: receiver.url, [field]: value });
      expect(created.status).toBe(400);
      expect(paths(created.body)[0]).toStartWith(field);
    });
  }

  it("refuses array headers and metadata on a patch", async () => {
    const created = await herald.api("POST", "/v1/destinations", { url: receiver.url });
    for (const field of ["headers", "metadata"]) {
      const patched = await herald.api("PATCH", `/v1/destinations/${created.body.id}`, { [field]: ["a"] });
      expect(patched.status).toBe(400);
      expect(paths(patched.body)).toEqual([field]);
    }
  });

  it("refuses array headers and metadata in the config file", () => {
    const errors = configErrors({ destinations: [{ id: "d", url: "https://d.example", headers: [], metadata: ["a"] }] });
    expect(errors.map((e) => e.split(":")[0])).toEqual(["destinations[0].headers", "destinations[0].metadata"]);
  });
});

describe("destination URLs are checked by the address guard's rules before they are stored", () => {
  const strict = { https_only: true, allow_private_networks: false, allow_hosts: ["10.1.2.0/24", "receiver.internal"] };
  const urlErrors = (url: string, delivery: object = strict) => configErrors({ delivery, destinations: [{ id: "d", url }] });

  it("refuses a config URL with credentials, without echoing the password", () => {
    const errors = urlErrors("https://user:hunter2-pass@crm.example/hook");
    expect(errors.length).toBe(1);
    expect(errors[0]).toStartWith("destinations[0].url: ");
    expect(errors[0]).toContain("credentials");
    expect(errors.join()).not.toContain("hunter2-pass");
  });

  it("refuses config URLs that the guard refuses at send time: http, loopback, private ranges", () => {
    for (const url of ["http://crm.example/hook", "https://127.0.0.1/hook", "https://localhost/hook", "https://[::1]/x", "https://192.168.1.5/x", "https://169.254.169.254/latest"]) {
      expect(urlErrors(url).map((e) => e.split(":")[0])).toEqual(["destinations[0].url"]);
    }
  });

  it("accepts what delivery.allow_hosts and allow_private_networks open", () => {
    expect(urlErrors("https://10.1.2.3/hook")).toEqual([]);
    expect(urlErrors("http://receiver.internal/hook")).toEqual([]);
    expect(urlErrors("https://crm.example/hook")).toEqual([]);
    expect(urlErrors("http://127.0.0.1:9000/hook", { https_only: false, allow_private_networks: true })).toEqual([]);
  });

  it("refuses a URL with credentials through the API, without echoing the password", async () => {
    const created = await herald.api("POST", "/v1/destinations", { url: "http://user:hunter2-pass@127.0.0.1:9/x" });
    expect(created.status).toBe(400);
    expect(paths(created.body)).toEqual(["url"]);
    expect(JSON.stringify(created.body)).not.toContain("hunter2-pass");
  });
});

describe("herald names are reserved", () => {
  for (const name of ["herald", "herald.custom", "Herald.custom"]) {
    it(`refuses to create the event type ${name} (400 at name)`, async () => {
      const created = await herald.api("POST", "/v1/event-types", { name });
      expect(created.status).toBe(400);
      expect(paths(created.body)).toEqual(["name"]);
      expect(created.body.details[0].message).toContain("reserved");
    });
  }

  it("refuses herald and herald.* event types in the config file", () => {
    const errors = configErrors({ event_types: [{ name: "herald" }, { name: "herald.destination.created" }, { name: "heraldry.ok" }] });
    expect(errors.map((e) => e.split(":")[0])).toEqual(["event_types[0].name", "event_types[1].name"]);
  });

  it("refuses a client's publish of an operational event type", async () => {
    const published = await herald.api("POST", "/v1/events", { type: "herald.destination.disabled", data: { destination_id: "x" } });
    expect(published.status).toBe(400);
    expect(paths(published.body)).toEqual(["type"]);
  });
});

describe("test sends", () => {
  it("refuses an event_type that is not an event type name (400 at event_type)", async () => {
    const created = await herald.api("POST", "/v1/destinations", { url: receiver.url });
    const before = receiver.requests.length;
    for (const event_type of ["not a name", "a..b", "x".repeat(200), ""]) {
      const sent = await herald.api("POST", `/v1/destinations/${created.body.id}/test`, { event_type });
      expect(sent.status).toBe(400);
      expect(paths(sent.body)).toEqual(["event_type"]);
    }
    expect(receiver.requests.length).toBe(before);
  });

  it("sends a valid name that is not in the catalogue", async () => {
    const created = await herald.api("POST", "/v1/destinations", { url: receiver.url });
    const sent = await herald.api("POST", `/v1/destinations/${created.body.id}/test`, { event_type: "not.catalogued", data: { a: 1 } });
    expect(sent.status).toBe(200);
    expect(sent.body.ok).toBe(true);
    expect(JSON.parse(receiver.requests.at(-1)!.body).type).toBe("not.catalogued");
  });
});
