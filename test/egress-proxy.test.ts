// Egress through delivery.proxy and mutual TLS: webhooks reach receivers only a
// loopback forward proxy can find (plain http forwarded, https through CONNECT),
// a receiver that requires a client certificate accepts Herald's, and the SSRF
// guard still refuses private targets, with and without the proxy.
import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { promises as dns } from "node:dns";
import { makeCertificates, type TestCertificates } from "./support/certificates.ts";
import { startConnectProxy, type ConnectProxy } from "./support/connect-proxy.ts";
import { startHerald, testConfig, verifyWithStandardWebhooks, secretOf, type TestHerald } from "./support/herald.ts";
import { startReceiver, type ReceivedRequest, type Receiver } from "./support/receiver.ts";

const PROXY_USER = "herald";
const PROXY_PASSWORD = "proxy-pass-0123456789";
/** The SSRF policy of a production config: no private networks, https only unless a host is allowed. */
const STRICT = { https_only: false, allow_private_networks: false };

let certs: TestCertificates;
/** Requires a client certificate signed by the test CA (requestCert + rejectUnauthorized). */
let mtls: { server: Bun.Server<undefined>; requests: ReceivedRequest[] };
let plain: Receiver;
let proxy: ConnectProxy;

beforeAll(() => {
  certs = makeCertificates(["secure.invalid", "localhost"]);
  const requests: ReceivedRequest[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: certs.server.cert, key: certs.server.key, ca: certs.ca, requestCert: true, rejectUnauthorized: true },
    async fetch(req) {
      const url = new URL(req.url);
      requests.push({ method: req.method, path: url.pathname, headers: Object.fromEntries(req.headers), body: await req.text(), at: Date.now() });
      return new Response("mutual");
    },
  });
  mtls = { server, requests };
  plain = startReceiver();
  // *.invalid never resolves (RFC 6761): only the proxy knows where these are.
  proxy = startConnectProxy({
    hosts: { "plain.invalid": `127.0.0.1:${plain.port}`, "secure.invalid": `127.0.0.1:${server.port}` },
    username: PROXY_USER,
    password: PROXY_PASSWORD,
  });
});
afterAll(async () => {
  proxy?.stop();
  await plain?.stop();
  mtls?.server.stop(true);
});

const proxyUrl = () => proxy.url.replace("http://", `http://${PROXY_USER}:${PROXY_PASSWORD}@`);
const basicAuth = `Basic ${Buffer.from(`${PROXY_USER}:${PROXY_PASSWORD}`).toString("base64")}`;

const eventTypes = (...names: string[]) => names.map((name) => ({ name }));

async function publishTo(herald: TestHerald, type: string): Promise<string> {
  const published = await herald.api("POST", "/v1/events", { type, data: { n: 1 } });
  expect(published.status).toBe(202);
  await herald.app.engine.idle();
  return published.body.id;
}

/** The one delivery of an event, with its attempts. */
async function deliveryOf(herald: TestHerald, eventId: string) {
  const event = await herald.api("GET", `/v1/events/${eventId}`);
  expect(event.body.deliveries).toHaveLength(1);
  return (await herald.api("GET", `/v1/deliveries/${event.body.deliveries[0].id}`)).body;
}

describe("with delivery.proxy", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startHerald(
      testConfig({
        // Only the names the proxy resolves are exempt: everything else is judged as in production.
        delivery: { ...STRICT, proxy: proxyUrl(), tls_ca: certs.ca, allow_hosts: ["plain.invalid", "secure.invalid"] },
        event_types: eventTypes("plain.sent", "secure.sent", "secure.nocert", "private.sent"),
        destinations: [
          { id: "plain", url: "http://plain.invalid/hook" },
          { id: "secure", url: "https://secure.invalid/hook", tls: certs.client },
          { id: "secure-no-cert", url: "https://secure.invalid/hook" },
        ],
        subscriptions: [
          { id: "plain", destination: "plain", event_types: ["plain.sent"] },
          { id: "secure", destination: "secure", event_types: ["secure.sent"] },
          { id: "secure-no-cert", destination: "secure-no-cert", event_types: ["secure.nocert"] },
        ],
      }),
    );
  });
  afterAll(() => herald?.stop());

  it("forwards an http webhook through the proxy to a host only the proxy can resolve, signed and with the proxy's credentials", async () => {
    const before = proxy.requests.length;
    const eventId = await publishTo(herald, "plain.sent");
    const [received] = await plain.waitFor(1);
    expect(received!.headers["webhook-id"]).toBe(eventId);
    expect(received!.headers.host).toBe("plain.invalid");
    // The proxy's own header is for the proxy: the receiver never sees it.
    expect(received!.headers["proxy-authorization"]).toBeUndefined();
    expect(verifyWithStandardWebhooks(await secretOf(herald, "plain"), received!)).toMatchObject({ data: { n: 1 } });
    expect(proxy.requests.slice(before)).toEqual([{ method: "POST", target: "http://plain.invalid/hook", authorization: basicAuth }]);
    const delivery = await deliveryOf(herald, eventId);
    expect(delivery.status).toBe("succeeded");
    // The attempt log names the destination's URL, never the proxy or its password.
    expect(JSON.stringify(delivery)).not.toContain(PROXY_PASSWORD);
  });

  it("tunnels an https webhook through CONNECT and presents the destination's client certificate", async () => {
    const before = proxy.requests.length;
    const eventId = await publishTo(herald, "secure.sent");
    const delivery = await deliveryOf(herald, eventId);
    expect(delivery.status).toBe("succeeded");
    const received = mtls.requests.find((r) => r.headers["webhook-id"] === eventId);
    expect(received).toBeDefined();
    expect(verifyWithStandardWebhooks(await secretOf(herald, "secure"), received!)).toMatchObject({ data: { n: 1 } });
    expect(proxy.requests.slice(before)).toEqual([{ method: "CONNECT", target: "secure.invalid:443", authorization: basicAuth }]);
  });

  it("is refused by the receiver without a client certificate: mutual TLS is what let the other through", async () => {
    const seen = mtls.requests.length;
    const eventId = await publishTo(herald, "secure.nocert");
    const delivery = await deliveryOf(herald, eventId);
    expect(delivery.status).toBe("pending");
    expect(delivery.attempts[0].error).toBeString();
    expect(mtls.requests.length).toBe(seen);
  });

  it("still refuses a private address literal, before anything reaches the proxy", async () => {
    const before = proxy.requests.length;
    const created = await herald.api("POST", "/v1/destinations", { url: `http://127.0.0.1:${plain.port}/hook` });
    expect(created.status).toBe(400);
    expect(JSON.stringify(created.body)).toContain("private");
    expect(proxy.requests.length).toBe(before);
  });

  it("still refuses a host name that Herald resolves to a private address, before anything reaches the proxy", async () => {
    const name = await privateName();
    const before = proxy.requests.length;
    const created = await herald.api("POST", "/v1/destinations", { id: "resolves-private", url: `http://${name}:${plain.port}/hook` });
    expect(created.status).toBe(201);
    const subscribed = await herald.api("POST", "/v1/subscriptions", { id: "resolves-private", destination_id: "resolves-private", event_types: ["private.sent"] });
    expect(subscribed.status).toBe(201);
    const delivery = await deliveryOf(herald, await publishTo(herald, "private.sent"));
    expect(delivery.status).toBe("failed");
    expect(delivery.attempts[0].error).toContain("private address");
    expect(proxy.requests.length).toBe(before);
  });
});

describe("without a proxy", () => {
  let herald: TestHerald;
  beforeAll(async () => {
    herald = await startHerald(
      testConfig({
        delivery: { ...STRICT, tls_ca: certs.ca, allow_hosts: ["localhost"] },
        event_types: eventTypes("direct.sent", "private.sent"),
        destinations: [{ id: "direct", url: `https://localhost:${mtls.server.port}/hook`, tls: certs.client }],
        subscriptions: [{ id: "direct", destination: "direct", event_types: ["direct.sent"] }],
      }),
    );
  });
  afterAll(() => herald?.stop());

  it("presents the client certificate on a direct connection too", async () => {
    const before = proxy.requests.length;
    const eventId = await publishTo(herald, "direct.sent");
    expect((await deliveryOf(herald, eventId)).status).toBe("succeeded");
    expect(mtls.requests.some((r) => r.headers["webhook-id"] === eventId)).toBe(true);
    expect(proxy.requests.length).toBe(before);
  });

  it("refuses a private target at creation and one that resolves privately at send time", async () => {
    const literal = await herald.api("POST", "/v1/destinations", { url: `http://127.0.0.1:${plain.port}/hook` });
    expect(literal.status).toBe(400);
    const name = await privateName();
    const seen = plain.requests.length;
    expect((await herald.api("POST", "/v1/destinations", { id: "resolves-private", url: `http://${name}:${plain.port}/hook` })).status).toBe(201);
    const subscribed = await herald.api("POST", "/v1/subscriptions", { id: "resolves-private", destination_id: "resolves-private", event_types: ["private.sent"] });
    expect(subscribed.status).toBe(201);
    const delivery = await deliveryOf(herald, await publishTo(herald, "private.sent"));
    expect(delivery.status).toBe("failed");
    expect(delivery.attempts[0].error).toContain("private address");
    expect(plain.requests.length).toBe(seen);
  });
});

/**
 * A host name (not "localhost", which is refused by name before any lookup)
 * that this machine resolves to a private address: a name from /etc/hosts,
 * or the machine's own name. Fails loudly if there is none.
 */
async function privateName(): Promise<string> {
  const candidates = readFileSync("/etc/hosts", "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim().split(/\s+/))
    .filter((fields) => fields.length > 1 && /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(fields[0]!))
    .flatMap((fields) => fields.slice(1))
    .filter((name) => name !== "localhost" && !name.endsWith(".localhost") && /^[a-z0-9-]+(\.[a-z0-9-]+)*$/i.test(name));
  candidates.push(require("node:os").hostname());
  for (const name of candidates) {
    const answer = await dns.lookup(name, { all: true }).catch(() => []);
    if (answer.length && answer.every((a) => /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)/.test(a.address))) return name;
  }
  throw new Error("no host name on this machine resolves to a private address (add one to /etc/hosts)");
}
