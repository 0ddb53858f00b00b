// Throwaway certificates for TLS tests, made with the openssl command line into
// a temp folder: a CA, a receiver's certificate and a client certificate it signed.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./herald.ts";

export interface Pem {
  cert: string;
  key: string;
}

export interface TestCertificates {
  /** The CA that signed both below (PEM certificate). */
  ca: string;
  /** The receiver's: valid for `names` (DNS) and 127.0.0.1. */
  server: Pem;
  /** Herald's client certificate for mutual TLS. */
  client: Pem;
  /** A second client certificate, self-signed: a receiver trusting only `ca` refuses it. */
  stranger: Pem;
}

function openssl(dir: string, command: string): void {
  const run = Bun.spawnSync(["sh", "-c", command], { cwd: dir, stderr: "pipe", stdout: "pipe" });
  if (run.exitCode !== 0) throw new Error(`openssl failed: ${command}\n${run.stderr.toString()}`);
}

export function makeCertificates(names: string[]): TestCertificates {
  const dir = tempDir("herald-certs-");
  const newKey = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  openssl(dir, `openssl req -x509 ${newKey} -keyout ca.key -out ca.crt -days 2 -subj "/CN=Herald test CA"`);
  const san = [...names.map((n) => `DNS:${n}`), "IP:127.0.0.1"].join(",");
  openssl(dir, `printf 'subjectAltName=${san}\\nextendedKeyUsage=serverAuth\\n' > server.ext`);
  openssl(dir, `openssl req ${newKey} -keyout server.key -out server.csr -subj "/CN=${names[0]}"`);
  openssl(dir, `openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days 2 -extfile server.ext`);
  openssl(dir, `printf 'extendedKeyUsage=clientAuth\\n' > client.ext`);
  openssl(dir, `openssl req ${newKey} -keyout client.key -out client.csr -subj "/CN=herald-client"`);
  openssl(dir, `openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt -days 2 -extfile client.ext`);
  openssl(dir, `openssl req -x509 ${newKey} -keyout stranger.key -out stranger.crt -days 2 -subj "/CN=stranger"`);
  const read = (name: string) => readFileSync(join(dir, name), "utf8");
  return {
    ca: read("ca.crt"),
    server: { cert: read("server.crt"), key: read("server.key") },
    client: { cert: read("client.crt"), key: read("client.key") },
    stranger: { cert: read("stranger.crt"), key: read("stranger.key") },
  };
}
