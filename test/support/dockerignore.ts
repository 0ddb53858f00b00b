// Reads a .dockerignore the way Docker's builder does (moby/patternmatcher), so
// a test can ask whether a path of the repository would reach the build context.
// Rules: patterns are relative to the context root; `*` and `?` stay within one
// path segment, `**` spans any number of them; a `!` line re-includes; the last
// matching line wins; excluding a folder excludes everything under it.

interface Rule {
  regex: RegExp;
  include: boolean;
}

export function parseDockerignore(text: string): Rule[] {
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => {
      const include = line.startsWith("!");
      const pattern = (include ? line.slice(1) : line).trim().replace(/^\/+/, "").replace(/\/+$/, "");
      return { regex: toRegex(pattern), include };
    });
}

function toRegex(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*" && pattern[i + 1] === "*") {
      i++;
      if (pattern[i + 1] === "/") {
        i++;
        source += "(?:.*/)?";
      } else source += ".*";
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

/** True when `path` (relative to the context root, with `/`) is left out of the build context. */
export function isIgnored(rules: Rule[], path: string): boolean {
  const segments = path.split("/");
  const candidates = segments.map((_, i) => segments.slice(0, i + 1).join("/"));
  let ignored = false;
  for (const rule of rules) {
    if (candidates.some((candidate) => rule.regex.test(candidate))) ignored = !rule.include;
  }
  return ignored;
}
