// DESIGN §7's shape of the code, checked from the imports: no circle between
// files nor between the folders of src/, and no arrow pointing up the layers
// (run the analysis by hand with `bun test/support/import-graph.ts`).
import { describe, expect, it } from "bun:test";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { circles, folderGraph, importGraph, layeringViolations } from "./support/import-graph.ts";

const graph = importGraph(resolve(import.meta.dir, ".."));

const KNOWN_LAYERING: string[] = [];

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
    expect(layeringViolations(graph)).toEqual(KNOWN_LAYERING);
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
