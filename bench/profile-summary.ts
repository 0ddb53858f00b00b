// Summarises a V8/Bun `.cpuprofile` (from `bun --cpu-prof`): self and total
// time per function, top N. `bun bench/profile-summary.ts FILE [N] [FILTER]`.
export {};
const [file, topArg, filter] = process.argv.slice(2);
if (!file) {
  console.error("usage: bun bench/profile-summary.ts FILE.cpuprofile [N] [FILTER]");
  process.exit(2);
}
interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
const profile = (await Bun.file(file).json()) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const total = profile.timeDeltas.reduce((a, b) => a + b, 0);

const key = (n: Node) => {
  const url = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, "");
  return `${n.callFrame.functionName || "(anonymous)"} ${url}:${n.callFrame.lineNumber + 1}`;
};
const selfBy = new Map<string, number>();
const totalBy = new Map<string, number>();
for (const [id, t] of self) {
  const k = key(byId.get(id)!);
  selfBy.set(k, (selfBy.get(k) ?? 0) + t);
  // Inclusive time: count each function once per sample, however deep the recursion.
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const kk = key(byId.get(cur)!);
    if (seen.has(kk)) continue;
    seen.add(kk);
    totalBy.set(kk, (totalBy.get(kk) ?? 0) + t);
  }
}
const top = Number(topArg ?? 40);
const pct = (t: number) => ((t / total) * 100).toFixed(1).padStart(5) + " %";
const show = (title: string, m: Map<string, number>) => {
  console.log(`\n${title} (of ${(total / 1e6).toFixed(1)} s sampled)`);
  [...m].filter(([k]) => !filter || k.includes(filter)).sort((a, b) => b[1] - a[1]).slice(0, top)
    .forEach(([k, t]) => console.log(`${pct(t)}  ${k}`));
};
show("self time", selfBy);
show("total time", totalBy);
