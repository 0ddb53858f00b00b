// The import graph of src/: every file's imports of other project files (type
// imports included, since they are arrows of the design too), the circles in
// it, and the arrows that break DESIGN §7's layering (http → engine → store).
// Run `bun test/support/import-graph.ts` to print them; test/architecture.test.ts
// asserts there are none.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s(?:[^;'"]*?\sfrom\s*)?["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

/** Every .ts file under `dir`, relative to `root`, with forward slashes. */
function sourceFiles(root: string, dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(root, path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** file → the project files it imports (relative specifiers only; packages are not part of the graph). */
export function importGraph(root: string, dir = "src"): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root, dir)) {
    const text = readFileSync(join(root, file), "utf8");
    const targets = new Set<string>();
    for (const match of text.matchAll(SPECIFIER)) {
      const specifier = match[1] ?? match[2]!;
      if (!specifier.startsWith(".")) continue;
      targets.add(relative(root, resolve(root, dirname(file), specifier)).split("\\").join("/"));
    }
    graph.set(file, [...targets].sort());
  }
  return graph;
}

/** Each circle once, as the files along it (the first file repeated at the end). */
export function circles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const seen = new Set<string>();
  // Tarjan's strongly connected components, iteratively; every component of
  // more than one file (or a file importing itself) holds at least one circle.
  let index = 0;
  const order = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  for (const start of graph.keys()) {
    if (order.has(start)) continue;
    const work: { file: string; next: number }[] = [{ file: start, next: 0 }];
    order.set(start, index); low.set(start, index++); stack.push(start); onStack.add(start);
    while (work.length) {
      const top = work[work.length - 1]!;
      const targets = (graph.get(top.file) ?? []).filter((t) => graph.has(t));
      if (top.next < targets.length) {
        const target = targets[top.next++]!;
        if (!order.has(target)) {
          order.set(target, index); low.set(target, index++); stack.push(target); onStack.add(target);
          work.push({ file: target, next: 0 });
        } else if (onStack.has(target)) {
          low.set(top.file, Math.min(low.get(top.file)!, order.get(target)!));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1]!.file;
        low.set(parent, Math.min(low.get(parent)!, low.get(top.file)!));
      }
      if (low.get(top.file) === order.get(top.file)) {
        const component: string[] = [];
        let member: string;
        do { member = stack.pop()!; onStack.delete(member); component.push(member); } while (member !== top.file);
        const selfLoop = component.length === 1 && (graph.get(top.file) ?? []).includes(top.file);
        if (component.length > 1 || selfLoop) {
          const key = component.sort().join(" ");
          if (!seen.has(key)) { seen.add(key); found.push(pathWithin(graph, new Set(component), component[0]!)); }
        }
      }
    }
  }
  return found;
}

/** One concrete circle through `start` inside a strongly connected component (breadth-first, so the shortest). */
function pathWithin(graph: Map<string, string[]>, members: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length) {
    const file = queue.shift()!;
    for (const target of graph.get(file) ?? []) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [start];
        for (let at = file; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!previous.has(target)) { previous.set(target, file); queue.push(target); }
    }
  }
  return [start, start];
}

/**
 * Layers of DESIGN §7, from the top; a file may import its own layer and the ones below it.
 * src/rules (patterns, filters, schema checks, URL policy, secrets, hashing) is below all of
 * them, so the config can check what the engine enforces without importing the engine.
 */
const RULES: { from: string; mayNotImport: string[]; why: string }[] = [
  { from: "src/http/", mayNotImport: ["src/store/"], why: "HTTP reaches storage only through the engine" },
  { from: "src/engine/", mayNotImport: ["src/http/", "src/app.ts", "src/main.ts"], why: "the engine never speaks HTTP" },
  { from: "src/store/", mayNotImport: ["src/engine/", "src/http/", "src/config/", "src/app.ts", "src/main.ts"], why: "the store knows nothing above it" },
  { from: "src/config/", mayNotImport: ["src/engine/", "src/store/", "src/http/", "src/app.ts", "src/main.ts"], why: "the config checks with src/rules, never through the layers that read it" },
  { from: "src/rules/", mayNotImport: ["src/config/", "src/engine/", "src/store/", "src/http/", "src/app.ts", "src/main.ts"], why: "rules are pure helpers below every layer" },
];

/** Arrows that point the wrong way, as "from → to (why)". */
export function layeringViolations(graph: Map<string, string[]>): string[] {
  const found: string[] = [];
  for (const [file, targets] of graph) {
    for (const rule of RULES) {
      if (!file.startsWith(rule.from)) continue;
      for (const target of targets) {
        if (rule.mayNotImport.some((p) => target.startsWith(p) || target === p)) found.push(`${file} → ${target} (${rule.why})`);
      }
    }
  }
  return found.sort();
}

/** The same graph between the folders of src/ (src/config, src/engine, …): a circle of folders is a circle of layers. */
export function folderGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const folder = (file: string) => file.split("/").slice(0, 2).join("/");
  const folders = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = folder(file);
    const set = folders.get(from) ?? new Set<string>();
    for (const target of targets) if (folder(target) !== from) set.add(folder(target));
    folders.set(from, set);
  }
  return new Map([...folders].map(([f, set]) => [f, [...set].sort()]));
}

if (import.meta.main) {
  const graph = importGraph(resolve(import.meta.dir, "../.."));
  const found = [...circles(graph), ...circles(folderGraph(graph))];
  const wrong = layeringViolations(graph);
  for (const circle of found) console.log("circle: " + circle.join(" → "));
  for (const arrow of wrong) console.log("layering: " + arrow);
  console.log(`${graph.size} files, ${found.length} circles, ${wrong.length} layering violations`);
  process.exit(found.length || wrong.length ? 1 : 0);
}
