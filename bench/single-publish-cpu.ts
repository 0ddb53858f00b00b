// `bun bench/single-publish-cpu.ts SECONDS TREE`: single publishes (`POST
// /v1/events`, 64 at once) to the Herald of one source tree (bench/publish-trees.ts:
// SQLite with `synchronous: full`, the destination disabled), the load generated
// by a child process so that only the server's work is counted. Prints
// publishes/s, the group commit's publishes a commit, and the server process's
// CPU µs per publish (all its threads). For an A/B, run trees in turn, A B B A,
// several times: separate processes, so neither tree pays for the other's
// garbage or JIT (ingest-ab.ts runs trees in one process with its load inside).
import { resolve } from "node:path";
import { orderEvent, startTree, TOKEN } from "./publish-trees.ts";

const AT_ONCE = 64;

if (process.argv[2] === "--load") {
  // The child: posts single events to URL for SECONDS, then prints how many were answered 202.
  const [url, seconds] = [process.argv[3]!, Number(process.argv[4])];
  const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
  const end = Date.now() + seconds * 1000;
  let answered = 0;
  await Promise.all(
    Array.from({ length: AT_ONCE }, async () => {
      while (Date.now() < end) {
        const response = await fetch(`${url}/v1/events`, { method: "POST", headers, body: JSON.stringify(orderEvent(answered)) });
        if (response.status !== 202) throw new Error(`answered ${response.status}: ${await response.text()}`);
        await response.arrayBuffer();
        answered++;
      }
    }),
  );
  console.log(answered);
  process.exit(0);
}

const seconds = Number(process.argv[2] ?? 6);
const treeArg = process.argv[3];
if (!treeArg) throw new Error("usage: bun bench/single-publish-cpu.ts SECONDS TREE");
const tree = await startTree(resolve(treeArg));
// The store's group commit counts its transactions (write-batcher.ts); an older tree may not say.
const batcher = (tree.app as { store?: { batcher?: { transaction?: number } } }).store?.batcher;
const commits0 = batcher?.transaction ?? 0;
const cpu0 = process.cpuUsage();
const child = Bun.spawn([process.execPath, import.meta.path, "--load", tree.url, String(seconds)], { stdout: "pipe", stderr: "inherit" });
const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
const cpu = process.cpuUsage(cpu0);
if (code !== 0) throw new Error(`the load generator exited with ${code}`);
const publishes = Number(out.trim());
const commits = (batcher?.transaction ?? 0) - commits0;
const perCommit = commits > 0 ? `, ${(publishes / commits).toFixed(1)} publishes a commit` : "";
console.log(`${treeArg}: ${Math.round(publishes / seconds)} publishes/s${perCommit}, server CPU ${((cpu.user + cpu.system) / publishes).toFixed(1)} µs a publish`);
await tree.stop();
