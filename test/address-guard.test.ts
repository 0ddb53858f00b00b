// The SSRF guard: which destinations Herald may reach, and which address it connects to.
// DNS is a plain injected function returning fixed answers; no real lookups.
import { describe, expect, it } from "bun:test";
import { createAddressGuard } from "../src/engine/address-guard.ts";
import {
  type AddressPolicy,
  checkDestinationUrl,
  ipInCidr,
  isPrivateAddress,
  parseCidr,
  parseIp,
} from "../src/rules/address-policy.ts";

const strict: AddressPolicy = { https_only: true, allow_private_networks: false, allow_hosts: [] };
const policy = (over: Partial<AddressPolicy> = {}): AddressPolicy => ({ ...strict, ...over });

/** A resolver with fixed answers that counts its calls. */
function fakeDns(answers: Record<string, string[]>) {
  const calls: string[] = [];
  const resolve = async (host: string) => {
    calls.push(host);
    const answer = answers[host];
    if (!answer) throw new Error(`getaddrinfo ENOTFOUND ${host}`);
    return answer;
  };
  return { resolve, calls };
}

describe("isPrivateAddress", () => {
  const publicAddresses = [
    "8.8.8.8", "1.1.1.1", "93.184.216.34", "172.15.255.255", "172.32.0.1", "100.128.0.1", "198.20.0.1",
    "2606:4700::1111", "2a00:1450:4001::200e", "::ffff:8.8.8.8", "::ffff:808:808", "2002:808:808::1",
  ];
  const privateAddresses = [
    "0.0.0.0", "10.1.2.3", "100.64.0.1", "127.0.0.1", "127.255.255.254", "169.254.169.254", "172.16.0.1",
    "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.168.1.1", "198.18.0.1", "198.19.255.255",
    "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::", "::1", "fc00::1", "fd12:3456::1", "fe80::1", "fe80::1%eth0", "ff02::1", "2001:db8::1",
    "64:ff9b::a00:1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:a9fe:a9fe", "2002:7f00:1::1",
    "not-an-address", "",
  ];
  for (const address of publicAddresses) it(`${address} is public`, () => expect(isPrivateAddress(address)).toBe(false));
  for (const address of privateAddresses) it(`${address || "(empty)"} is private`, () => expect(isPrivateAddress(address)).toBe(true));
});

describe("parseCidr and ipInCidr", () => {
  const cases: [cidr: string, ip: string, inside: boolean][] = [
    ["10.0.0.0/8", "10.255.1.2", true],
    ["10.0.0.0/8", "11.0.0.1", false],
    ["10.1.2.3/8", "10.9.9.9", true], // host bits are ignored
    ["0.0.0.0/0", "203.0.113.1", true],
    ["192.168.1.7/32", "192.168.1.7", true],
    ["192.168.1.7/32", "192.168.1.8", false],
    ["fd00::/8", "fd12::1", true],
    ["fd00::/8", "fe80::1", false],
    ["10.0.0.0/8", "::ffff:10.0.0.1", false], // families do not mix here; the guard unmaps first
  ];
  for (const [cidr, ip, inside] of cases)
    it(`${ip} ${inside ? "is" : "is not"} in ${cidr}`, () => expect(ipInCidr(parseIp(ip)!, parseCidr(cidr)!)).toBe(inside));

  for (const bad of ["10.0.0.0", "10.0.0.0/33", "fd00::/129", "10.0.0.0/x", "host/8", "10.0.0.0/8/8"])
    it(`rejects ${bad}`, () => expect(parseCidr(bad)).toBeNull());
});

describe("checkDestinationUrl", () => {
  const cases: [name: string, url: string, over: Partial<AddressPolicy>, refusal: string | null][] = [
    ["a public https host name", "https://hooks.example.com/in", {}, null],
    ["a public IPv4 literal", "https://93.184.216.34/in", {}, null],
    ["a public IPv6 literal", "https://[2606:4700::1111]/in", {}, null],
    ["a host name that needs DNS, even if it will resolve privately", "https://internal.example.com/", {}, null],
    ["http under https_only", "http://hooks.example.com/in", {}, "must use https"],
    ["http when https_only is off", "http://hooks.example.com/in", { https_only: false }, null],
    ["another scheme", "ftp://hooks.example.com/in", { https_only: false }, "scheme ftp: is not allowed"],
    ["a file URL", "file:///etc/passwd", { https_only: false }, "scheme file: is not allowed"],
    ["not a URL", "hooks.example.com/in", {}, "not a valid"],
    ["user and password", "https://user:pass@hooks.example.com/", {}, "credentials"],
    ["a user alone", "https://user@hooks.example.com/", {}, "credentials"],
    ["loopback IPv4", "https://127.0.0.1/", {}, "private address"],
    ["loopback in hex shorthand", "https://0x7f.1/", {}, "private address"],
    ["loopback as one number", "https://2130706433/", {}, "private address"],
    ["cloud metadata", "https://169.254.169.254/latest/meta-data", {}, "private address"],
    ["RFC 1918", "https://10.0.0.5:8443/", {}, "private address"],
    ["loopback IPv6", "https://[::1]/", {}, "private address"],
    ["unique local IPv6", "https://[fd00::5]/", {}, "private address"],
    ["IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/", {}, "private address"],
    ["IPv4-mapped private", "https://[::ffff:192.168.0.1]/", {}, "private address"],
    ["IPv4-mapped public", "https://[::ffff:8.8.8.8]/", {}, null],
    ["localhost", "https://localhost:3000/", {}, "private address"],
    ["localhost in capitals with a trailing dot", "https://LOCALHOST./", {}, "private address"],
    ["a name under .localhost", "https://api.localhost/", {}, "private address"],
    ["a private address when private networks are allowed", "https://10.0.0.5/", { allow_private_networks: true }, null],
    ["localhost when private networks are allowed", "https://localhost/", { allow_private_networks: true }, null],
    ["http to a private address (https is still required)", "http://10.0.0.5/", { allow_private_networks: true }, "must use https"],
    ["an allowed name, exempt from both rules", "http://hooks.internal:8080/", { allow_hosts: ["Hooks.Internal"] }, null],
    ["an allowed localhost", "http://localhost:9000/", { allow_hosts: ["localhost"] }, null],
    ["an allowed IPv4", "http://10.0.0.5/", { allow_hosts: ["10.0.0.5"] }, null],
    ["a neighbour of an allowed IPv4", "https://10.0.0.6/", { allow_hosts: ["10.0.0.5"] }, "private address"],
    ["an allowed IPv6", "http://[fd00::5]/", { allow_hosts: ["fd00::5"] }, null],
    ["inside an allowed IPv4 CIDR", "http://10.9.9.9/", { allow_hosts: ["10.0.0.0/8"] }, null],
    ["IPv4-mapped inside an allowed IPv4 CIDR", "http://[::ffff:10.9.9.9]/", { allow_hosts: ["10.0.0.0/8"] }, null],
    ["inside an allowed IPv6 CIDR", "http://[fd00::1:5]/", { allow_hosts: ["fd00::/8"] }, null],
    ["outside the allowed CIDR", "https://192.168.1.1/", { allow_hosts: ["10.0.0.0/8"] }, "private address"],
    ["http to a name when only a CIDR is allowed", "http://hooks.internal/", { allow_hosts: ["10.0.0.0/8"] }, "must use https"],
    ["credentials on an allowed host", "http://u:p@hooks.internal/", { allow_hosts: ["hooks.internal"] }, "credentials"],
  ];
  for (const [name, url, over, refusal] of cases)
    it(`${refusal === null ? "accepts" : "refuses"} ${name}`, () => {
      const result = checkDestinationUrl(url, policy(over));
      if (refusal === null) expect(result).toEqual({ ok: true });
      else expect(result.ok ? "accepted" : result.message).toContain(refusal);
    });

  it("throws on an allow_hosts entry that is not a CIDR", () => {
    expect(() => checkDestinationUrl("https://a.example.com/", policy({ allow_hosts: ["10.0.0.0/40"] }))).toThrow("not a valid CIDR");
  });
});

describe("createAddressGuard", () => {
  it("pins a public answer and keeps port, path and query", async () => {
    const dns = fakeDns({ "hooks.example.com": ["93.184.216.34"] });
    const guard = createAddressGuard(strict, dns.resolve);
    expect(await guard.target("https://hooks.example.com:8443/in/v1?tenant=acme&x=1")).toEqual({
      ok: true,
      url: "https://93.184.216.34:8443/in/v1?tenant=acme&x=1",
      host: "hooks.example.com:8443",
      servername: "hooks.example.com",
    });
  });

  it("answers at once, without a promise, once the host's lookup has answered (one lookup for both)", async () => {
    const dns = fakeDns({ "hooks.example.com": ["93.184.216.34"] });
    const guard = createAddressGuard(strict, dns.resolve);
    const first = guard.target("https://hooks.example.com/in");
    expect(first).toBeInstanceOf(Promise);
    await first;
    const second = guard.target("https://hooks.example.com/other");
    expect(second).not.toBeInstanceOf(Promise);
    expect(second).toEqual({ ok: true, url: "https://93.184.216.34/other", host: "hooks.example.com", servername: "hooks.example.com" });
    expect(dns.calls).toEqual(["hooks.example.com"]);
  });

  it("puts an IPv6 answer in brackets", async () => {
    const guard = createAddressGuard(strict, fakeDns({ "v6.example.com": ["2606:4700::1111", "93.184.216.34"] }).resolve);
    const result = await guard.target("https://v6.example.com/in");
    expect(result).toMatchObject({ ok: true, url: "https://[2606:4700::1111]/in", host: "v6.example.com" });
  });

  it("sets no servername for http", async () => {
    const guard = createAddressGuard(policy({ https_only: false }), fakeDns({ "hooks.example.com": ["93.184.216.34"] }).resolve);
    const result = await guard.target("http://hooks.example.com/in");
    expect(result).toEqual({ ok: true, url: "http://93.184.216.34/in", host: "hooks.example.com" });
  });

  const refused: [name: string, answer: string[]][] = [
    ["a private answer for a public-looking name", ["10.0.0.7"]],
    ["a loopback IPv6 answer", ["::1"]],
    ["an IPv4-mapped loopback answer", ["::ffff:127.0.0.1"]],
    ["a mixed answer with the private address last", ["93.184.216.34", "169.254.169.254"]],
    ["a mixed answer with the private address first", ["127.0.0.1", "93.184.216.34"]],
    ["an answer that is not an address", ["hooks.example.com"]],
  ];
  for (const [name, answer] of refused)
    it(`refuses ${name}`, async () => {
      const guard = createAddressGuard(strict, fakeDns({ "rebind.example.com": answer }).resolve);
      const result = await guard.target("https://rebind.example.com/in");
      expect(result).toMatchObject({ ok: false, retryable: false });
      expect(result.ok ? "" : result.message).toContain("resolves to private address");
    });

  it("accepts a name resolving into an allowed CIDR, and pins it", async () => {
    const guard = createAddressGuard(policy({ allow_hosts: ["10.0.0.0/8"] }), fakeDns({ "crm.corp.example": ["10.1.2.3"] }).resolve);
    expect(await guard.target("https://crm.corp.example/in")).toMatchObject({ ok: true, url: "https://10.1.2.3/in" });
  });

  it("applies the static checks first", async () => {
    const dns = fakeDns({});
    const guard = createAddressGuard(strict, dns.resolve);
    expect(await guard.target("http://hooks.example.com/")).toMatchObject({ ok: false, retryable: false });
    expect(await guard.target("https://127.0.0.1/")).toMatchObject({ ok: false, retryable: false });
    expect(await guard.target("https://a:b@hooks.example.com/")).toMatchObject({ ok: false, retryable: false });
    expect(dns.calls).toEqual([]);
  });

  it("resolves nothing for an IP literal, an exempt host, or when private networks are allowed", async () => {
    const dns = fakeDns({});
    const exempt = createAddressGuard(policy({ allow_hosts: ["hooks.internal"] }), dns.resolve);
    const open = createAddressGuard(policy({ allow_private_networks: true, https_only: false }), dns.resolve);
    expect(await exempt.target("http://hooks.internal:8080/in?a=1")).toEqual({ ok: true, url: "http://hooks.internal:8080/in?a=1", host: "hooks.internal:8080" });
    expect(await open.target("http://anything.example.com/in")).toEqual({ ok: true, url: "http://anything.example.com/in", host: "anything.example.com" });
    expect(await exempt.target("https://93.184.216.34/in")).toEqual({ ok: true, url: "https://93.184.216.34/in", host: "93.184.216.34" });
    expect(dns.calls).toEqual([]);
  });

  it("caches an answer for 30 seconds", async () => {
    let clock = 1_000_000;
    const dns = fakeDns({ "hooks.example.com": ["93.184.216.34"] });
    const guard = createAddressGuard(strict, dns.resolve, () => clock);
    await guard.target("https://hooks.example.com/a");
    clock += 29_000;
    await guard.target("https://hooks.example.com/b");
    expect(dns.calls).toEqual(["hooks.example.com"]);
    clock += 2_000;
    await guard.target("https://hooks.example.com/c");
    expect(dns.calls).toEqual(["hooks.example.com", "hooks.example.com"]);
  });

  it("shares one lookup between concurrent targets", async () => {
    const dns = fakeDns({ "hooks.example.com": ["93.184.216.34"] });
    const guard = createAddressGuard(strict, dns.resolve);
    const results = await Promise.all([1, 2, 3].map((i) => guard.target(`https://hooks.example.com/${i}`)));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(dns.calls).toHaveLength(1);
  });

  it("answers a retryable refusal when DNS fails, and does not cache the failure", async () => {
    const dns = fakeDns({ "empty.example.com": [] });
    const guard = createAddressGuard(strict, dns.resolve);
    const result = await guard.target("https://gone.example.com/in");
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(result.ok ? "" : result.message).toContain("ENOTFOUND");
    await guard.target("https://gone.example.com/in");
    expect(dns.calls).toEqual(["gone.example.com", "gone.example.com"]);
    expect(await guard.target("https://empty.example.com/in")).toMatchObject({ ok: false, retryable: true });
  });
});
