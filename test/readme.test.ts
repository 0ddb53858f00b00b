// The README as a newcomer reads it on a fresh clone, where Bun is only a dev
// dependency: every command that runs Bun goes through npx or an npm script,
// and every file it links to exists.
import { expect, it } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..");
const readme = readFileSync(join(ROOT, "README.md"), "utf8");

it("runs Bun through npx or npm, never as a bare `bun` (not on a fresh machine's PATH)", () => {
  // Lines of shell blocks, and `code spans` in the prose (other blocks are YAML, JS, a layout).
  const code: string[] = [];
  let block: string | null = null;
  for (const line of readme.split("\n")) {
    if (line.startsWith("```")) block = block === null ? line.slice(3).trim() : null;
    else if (block === "sh" || block === "bash") code.push(line);
    else if (block === null) code.push(...[...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
  }
  const bare = code.filter((line) => /(^|[\s;&|(])bun\s/.test(line.replaceAll("npx bun ", "npx-bun ")));
  expect(bare).toEqual([]);
});

it("links only to files that exist in the repository", () => {
  const links = [...readme.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/.test(l));
  expect(links.length).toBeGreaterThan(2);
  expect(links.filter((link) => !existsSync(join(ROOT, link)))).toEqual([]);
});
