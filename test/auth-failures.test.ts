// Failed authentications limited per client address: past
// server.auth_failures_per_minute (default 20) in a minute, an address gets 429
// with Retry-After before any token is checked, while another address with a
// good token goes on. The two addresses are real: raw HTTP over sockets bound
// to 127.0.0.1 and 127.0.0.2. The minute is moved on the injected clock.
import { afterEach, describe, expect, it } from "bun:test";
import { connect } from "node:net";
import { addressKey, AuthFailureLimiter } from "../src/http/auth-failures.ts";
import { ADMIN_TOKEN, startHerald, TestClock, testConfig, type TestHerald } from "./support/herald.ts";
import { parseAnswer, type RawAnswer } from "./support/raw-http.ts";
import { describeOnEachStore } from "./support/test-stores.ts";

/** GET `path` from the local address `from`, with `token` as the bearer token (none when null). */
function getFrom(from: string, port: number, path: string, token: string | null, extra = ""): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress: from });
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("close", () => resolve(parseAnswer(Buffer.concat(chunks).toString("latin1"))));
    socket.on("error", reject);
    const auth = token === null ? "" : `Authorization: Bearer ${token}\r\n`;
    socket.write(`GET ${path} HTTP/1.1\r\nHost: herald\r\n${auth}${extra}Connection: close\r\n\r\n`);
  });
}

describe("AuthFailureLimiter", () => {
  it("refuses an address past its limit within a minute, says how long to wait, and forgets failures a minute old", () => {
    const clock = new TestClock();
    const limiter = new AuthFailureLimiter(3, clock.now);
    // Empty: the server does not even look up a request's address.
    expect(limiter.empty).toBe(true);
    for (let i = 0; i < 3; i++) {
      expect(limiter.retryAfter("10.0.0.1")).toBeNull();
      limiter.fail("10.0.0.1");
      clock.advance(10_000);
    }
    // Failures at 0 s, 10 s and 20 s; now 30 s: the first is a minute old at 60 s.
    expect(limiter.empty).toBe(false);
    expect(limiter.retryAfter("10.0.0.1")).toBe(30);
    expect(limiter.retryAfter("10.0.0.2")).toBeNull();
    clock.advance(29_999);
    expect(limiter.retryAfter("10.0.0.1")).toBe(1);
    clock.advance(1);
    expect(limiter.retryAfter("10.0.0.1")).toBeNull();
    // The last failures run out in turn: once none is left, nothing is remembered.
    clock.advance(20_000);
    expect(limiter.retryAfter("10.0.0.1")).toBeNull();
    expect(limiter.empty).toBe(true);
  });

  it("counts an IPv6 host by its /64 and an IPv4-mapped address as its IPv4", () => {
    expect(addressKey("2001:db8:1:2:aaaa::1")).toBe(addressKey("2001:0db8:0001:0002:bbbb:cccc:dddd:eeee"));
    expect(addressKey("2001:db8:1:2::1")).not.toBe(addressKey("2001:db8:1:3::1"));
    expect(addressKey("::ffff:127.0.0.2")).toBe("127.0.0.2");
    expect(addressKey("127.0.0.1")).toBe("127.0.0.1");
  });
});

describeOnEachStore("failed authentications end to end", () => {
  let herald: TestHerald;
  afterEach(() => herald?.stop());

  it("answers the 21st bad token in a minute from one address 429 with Retry-After, while a good token from another address works", async () => {
    const clock = new TestClock();
    herald = await startHerald(testConfig(), { clock });
    const port = Number(new URL(herald.url).port);

    for (let i = 1; i <= 20; i++) expect((await getFrom("127.0.0.1", port, "/v1/events", `bad-token-${i}-0123456789`)).status).toBe(401);
    const blocked = await getFrom("127.0.0.1", port, "/v1/events", "bad-token-21-0123456789");
    expect(blocked.status).toBe(429);
    expect(JSON.parse(blocked.body).error).toBe("too_many_auth_failures");
    expect(Number(blocked.headers["retry-after"])).toBe(60);
    // Before any token check: the good token from this address waits too.
    expect((await getFrom("127.0.0.1", port, "/v1/events", ADMIN_TOKEN)).status).toBe(429);
    // Another address is not affected, with a good token or a bad one.
    expect((await getFrom("127.0.0.2", port, "/v1/events", ADMIN_TOKEN)).status).toBe(200);
    expect((await getFrom("127.0.0.2", port, "/v1/events", "bad-token-0123456789")).status).toBe(401);
    // Public paths are never limited.
    expect((await getFrom("127.0.0.1", port, "/healthz", null)).status).toBe(200);
    // A request without any credential is a 401 that guesses nothing: not counted.
    for (let i = 0; i < 25; i++) expect((await getFrom("127.0.0.2", port, "/favicon.ico", null)).status).toBe(401);
    expect((await getFrom("127.0.0.2", port, "/v1/events", ADMIN_TOKEN)).status).toBe(200);

    clock.advance(30_000);
    expect(Number((await getFrom("127.0.0.1", port, "/v1/events", ADMIN_TOKEN)).headers["retry-after"])).toBe(30);
    clock.advance(30_000);
    expect((await getFrom("127.0.0.1", port, "/v1/events", ADMIN_TOKEN)).status).toBe(200);
  });

  it("counts a bad API key or portal link against the address of a client that hangs up while it is looked up", async () => {
    const clock = new TestClock();
    herald = await startHerald(testConfig({ server: { port: 0, auth_failures_per_minute: 4 } }), { clock });
    const port = Number(new URL(herald.url).port);
    // Each request is sent and the socket destroyed at once: the key's store read outlives the connection.
    const hangUp = (token: string) =>
      new Promise<void>((resolve, reject) => {
        const socket = connect({ host: "127.0.0.1", port, localAddress: "127.0.0.3" }, () => {
          socket.write(`GET /v1/events HTTP/1.1\r\nHost: herald\r\nAuthorization: Bearer ${token}\r\n\r\n`, () => socket.destroy());
        });
        socket.on("close", () => resolve());
        socket.on("error", reject);
      });
    for (let i = 0; i < 2; i++) await hangUp(`hrk_${"0".repeat(40)}${i}`);
    for (let i = 0; i < 2; i++) await hangUp(`hpl_${"0".repeat(40)}${i}`);
    // The four failures reach the server whatever the order it read them in; then this address waits, another does not.
    let answer: RawAnswer = await getFrom("127.0.0.3", port, "/v1/events", ADMIN_TOKEN);
    for (let tries = 0; answer.status !== 429 && tries < 50; tries++) {
      await Bun.sleep(20);
      answer = await getFrom("127.0.0.3", port, "/v1/events", ADMIN_TOKEN);
    }
    expect(answer.status).toBe(429);
    expect((await getFrom("127.0.0.1", port, "/v1/events", ADMIN_TOKEN)).status).toBe(200);
  });

  it("ignores X-Forwarded-For unless server.trust_forwarded_for, and then counts by its last entry", async () => {
    const clock = new TestClock();
    herald = await startHerald(testConfig({ server: { port: 0, auth_failures_per_minute: 2 } }), { clock });
    const port = Number(new URL(herald.url).port);
    // Not trusted: a client naming a new address each time is still counted by its socket.
    for (let i = 1; i <= 2; i++) expect((await getFrom("127.0.0.1", port, "/v1/events", "bad-token-0123456789", `X-Forwarded-For: 198.51.100.${i}\r\n`)).status).toBe(401);
    expect((await getFrom("127.0.0.1", port, "/v1/events", null, "X-Forwarded-For: 198.51.100.3\r\n")).status).toBe(429);
    await herald.stop();

    herald = await startHerald(testConfig({ server: { port: 0, auth_failures_per_minute: 2, trust_forwarded_for: true } }), { clock });
    const trusted = Number(new URL(herald.url).port);
    // Trusted: the last entry (the one the proxy in front appended) is the client.
    for (let i = 1; i <= 2; i++) expect((await getFrom("127.0.0.1", trusted, "/v1/events", "bad-token-0123456789", `X-Forwarded-For: 203.0.113.9, 198.51.100.1\r\n`)).status).toBe(401);
    expect((await getFrom("127.0.0.1", trusted, "/v1/events", null, "X-Forwarded-For: 198.51.100.1\r\n")).status).toBe(429);
    expect((await getFrom("127.0.0.1", trusted, "/v1/events", ADMIN_TOKEN, "X-Forwarded-For: 198.51.100.2\r\n")).status).toBe(200);
  });
});
