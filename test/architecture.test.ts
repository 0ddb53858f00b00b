// DESIGN §7's shape of the code, checked from the imports: no circle between
// files nor between the folders of src/, and no arrow pointing up the layers
// (run the analysis by hand with `bun test/support/import-graph.ts`).
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { circles, folderGraph, importGraph, layeringViolations } from "./support/import-graph.ts";

const root = resolve(import.meta.dir, "..");
const graph = importGraph(root);

/** Every line under src/http that reaches into a store (`engine.store`, `x.store.y`), as `file:line: text`. */
function storeAccessInHttp(): string[] {
  const dir = join(root, "src/http");
  const files = readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  return files.flatMap((file) =>
    readFileSync(join(dir, file), "utf8")
      .split("\n")
      .flatMap((line, i) => (/engine\.store\b|\.store\./.test(line) ? [`src/http/${file}:${i + 1}: ${line.trim()}`] : [])),
  );
}

describe("the shape of src/", () => {
  it("reads every source file's imports", () => {
    expect(graph.size).toBeGreaterThan(40);
    expect(graph.get("src/app.ts")).toContain("src/engine/engine.ts");
  });

  it("has no import circle between files", () => {
    expect(circles(graph)).toEqual([]);
  });

  it("has no circle between folders", () => {
    expect(circles(folderGraph(graph))).toEqual([]);
  });

  it("keeps http → engine → store", () => {
    expect(layeringViolations(graph)).toEqual([]);
  });

  it("keeps HTTP above the engine: nothing under src/http reaches into the store", () => {
    // Reads go through the engine (engine.reads, scoped to the caller); a route
    // that read the store itself would skip the tenant scope the engine applies.
    expect(storeAccessInHttp()).toEqual([]);
  });

  it("finds a circle and a wrong arrow when there is one", () => {
    const made = new Map([
      ["src/engine/a.ts", ["src/engine/b.ts"]],
      ["src/engine/b.ts", ["src/engine/a.ts"]],
      ["src/store/s.ts", ["src/engine/a.ts"]],
      ["src/config/c.ts", ["src/rules/r.ts", "src/engine/a.ts"]],
      ["src/rules/r.ts", ["src/config/c.ts"]],
    ]);
    expect(circles(made)).toEqual([
      ["src/engine/a.ts", "src/engine/b.ts", "src/engine/a.ts"],
      ["src/config/c.ts", "src/rules/r.ts", "src/config/c.ts"],
    ]);
    expect(layeringViolations(made)).toEqual([
      "src/config/c.ts → src/engine/a.ts (the config checks with src/rules, never through the layers that read it)",
      "src/rules/r.ts → src/config/c.ts (rules are pure helpers below every layer)",
      "src/store/s.ts → src/engine/a.ts (the store knows nothing above it)",
    ]);
  });

  // Rules are shared by the config, the engine and HTTP because they do nothing but
  // compute: a module that reads files, resolves names or opens sockets belongs above.
  it("keeps src/rules free of I/O", () => {
    const io = ["node:fs", "node:fs/promises", "node:dns", "node:http", "node:https", "node:child_process", "bun:sqlite", "elysia"];
    const root = resolve(import.meta.dir, "..");
    const found = [...new Bun.Glob("src/rules/**/*.ts").scanSync(root)].flatMap((file) =>
      [...readFileSync(resolve(root, file), "utf8").matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']/g)]
        .map((m) => m[1] ?? m[2]!)
        .filter((specifier) => io.includes(specifier))
        .map((specifier) => `${file} imports ${specifier}`),
    );
    expect(found).toEqual([]);
  });
});
