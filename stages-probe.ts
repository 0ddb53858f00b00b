import { heapStats } from "bun:jsc";
const stages = (process.env.STAGES ?? "").split(",").filter(Boolean);
function report(label: string) {
  Bun.gc(true);
  const h = heapStats();
  console.log(label.padEnd(40), (h.heapSize / 2**20).toFixed(1), "MiB heap,", h.objectTypeCounts.Structure, "structures,", h.objectTypeCounts.Function, "functions, rss", (process.memoryUsage().rss / 2**20).toFixed(1));
}
report("nothing");
for (const s of stages) { await import(s); report(s); }
