// A tiny forward proxy for tests, like smokescreen on loopback: CONNECT tunnels
// (https targets) and absolute-form requests (http targets), with a table of
// host names only it can resolve, and a record of every request it carried.
import type { Socket } from "bun";

export interface ProxiedRequest {
  /** "CONNECT" for a tunnel, else the forwarded request's method. */
  method: string;
  /** host:port asked for (CONNECT) or the absolute URL (forwarded). */
  target: string;
  /** The Proxy-Authorization header, if any. */
  authorization: string | null;
}

export interface ConnectProxy {
  url: string;
  port: number;
  requests: ProxiedRequest[];
  stop(): void;
}

interface Link {
  head: Buffer;
  upstream: Socket<Link> | null;
  /** Bytes that arrived for the upstream before it was connected. */
  pending: Buffer[];
}

/**
 * `hosts` maps names the proxy resolves itself ("receiver.invalid") to loopback
 * ports: a request that reaches such a name can only have come through the proxy.
 * `username`/`password`, when given, are required (407 otherwise).
 */
export function startConnectProxy(options: { hosts?: Record<string, string>; username?: string; password?: string } = {}): ConnectProxy {
  const requests: ProxiedRequest[] = [];
  const hosts = options.hosts ?? {};
  const expected = options.username === undefined ? null : `Basic ${Buffer.from(`${options.username}:${options.password ?? ""}`).toString("base64")}`;
  const resolve = (host: string, port: string) => {
    const mapped = hosts[host.toLowerCase()];
    if (mapped) {
      const [h, p] = mapped.split(":");
      return { hostname: h!, port: Number(p) };
    }
    return { hostname: host.replace(/^\[|\]$/g, ""), port: Number(port) };
  };

  const server = Bun.listen<Link>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { head: Buffer.alloc(0), upstream: null, pending: [] };
      },
      async data(client, chunk) {
        const link = client.data;
        if (link.upstream) return void link.upstream.write(chunk);
        if (link.pending.length || link.head.includes("\r\n\r\n")) return void link.pending.push(Buffer.from(chunk));
        link.head = Buffer.concat([link.head, chunk]);
        const end = link.head.indexOf("\r\n\r\n");
        if (end < 0) return;
        const headText = link.head.subarray(0, end).toString("latin1");
        const rest = link.head.subarray(end + 4);
        const [requestLine, ...headerLines] = headText.split("\r\n");
        const [method, target] = requestLine!.split(" ") as [string, string];
        const authorization = headerLines.find((l) => /^proxy-authorization:/i.test(l))?.replace(/^[^:]+:\s*/, "") ?? null;
        requests.push({ method, target, authorization });
        if (expected !== null && authorization !== expected) {
          client.end("HTTP/1.1 407 Proxy Authentication Required\r\nproxy-authenticate: Basic realm=\"test\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
          return;
        }
        let destination: { hostname: string; port: number };
        let first: Buffer;
        if (method === "CONNECT") {
          const colon = target.lastIndexOf(":");
          destination = resolve(target.slice(0, colon), target.slice(colon + 1));
          first = rest;
        } else {
          // Absolute form to origin form; the proxy's own header is not passed on.
          const url = new URL(target);
          destination = resolve(url.hostname, url.port || "80");
          const kept = headerLines.filter((l) => !/^proxy-(authorization|connection):/i.test(l));
          first = Buffer.concat([Buffer.from(`${method} ${url.pathname}${url.search} HTTP/1.1\r\n${kept.join("\r\n")}\r\n\r\n`, "latin1"), rest]);
        }
        try {
          const upstream = await Bun.connect<Link>({
            ...destination,
            socket: {
              data(_, bytes) {
                client.write(bytes);
              },
              close() {
                client.end();
              },
              error() {
                client.end();
              },
            },
          });
          link.upstream = upstream;
          if (method === "CONNECT") client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
          if (first.length) upstream.write(first);
          for (const bytes of link.pending.splice(0)) upstream.write(bytes);
        } catch {
          client.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
      },
      close(client) {
        client.data?.upstream?.end();
      },
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port,
    requests,
    stop: () => server.stop(true),
  };
}
