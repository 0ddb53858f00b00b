// Finds and reads the config file (YAML), replaces ${NAME} with environment variables and
// validates the result, collecting every problem as `path: message`.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseDocument } from "yaml";
import {
  type Config,
  type ConfigError,
  deepFreeze,
  formatPath,
  inFileOrder,
  type ValidationResult,
  validateConfig,
} from "./schema.ts";

export type { Config, ConfigError } from "./schema.ts";

export type ConfigResult =
  | { ok: true; config: Config; source: string }
  | { ok: false; errors: ConfigError[] };

export type LoadOptions = { path?: string; env: Record<string, string | undefined>; cwd: string };

export const DEFAULT_CONFIG_FILE = "config.yaml";
const MAX_YAML_ERRORS = 5;

/**
 * Loads `options.path` (which must exist), else ./config.yaml in `cwd` if there is one, else
 * the built-in defaults. The result is deeply frozen. `source` is the absolute file path.
 */
export function loadConfig(options: LoadOptions): ConfigResult {
  const shown = options.path ?? DEFAULT_CONFIG_FILE;
  const file = resolve(options.cwd, shown);
  if (options.path === undefined && !existsSync(file)) {
    return deepFreeze(withSource(validateConfig({}), "built-in defaults"));
  }

  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message =
      code === "ENOENT" ? "the config file does not exist" : `the config file cannot be read (${code ?? String(error)})`;
    return deepFreeze({ ok: false, errors: [{ path: shown, message }] });
  }

  const parsed = parseYaml(text, shown);
  if (!parsed.ok) return deepFreeze(parsed);
  // An empty file (or one with only comments) means "all defaults".
  const raw = parsed.value ?? {};

  const envErrors: ConfigError[] = [];
  const substituted = substitute(raw, [], options.env, envErrors);
  const result = validateConfig(substituted);
  if (result.ok && envErrors.length === 0) return deepFreeze(withSource(result, file));
  // A value whose variable is missing is also invalid; one error for it is enough.
  const schemaErrors = result.ok
    ? []
    : result.errors.filter((e) => !envErrors.some((env) => isWithin(e.path, env.path)));
  return deepFreeze({ ok: false, errors: inFileOrder([...envErrors, ...schemaErrors], substituted) });
}

/** One `path: message` line per error, for `herald check` and start-up failures. */
export function formatConfigErrors(errors: readonly ConfigError[]): string {
  return errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join("\n");
}

function withSource(result: ValidationResult, source: string): ConfigResult {
  return result.ok ? { ok: true, config: result.config, source } : result;
}

function parseYaml(text: string, shown: string): { ok: true; value: unknown } | { ok: false; errors: ConfigError[] } {
  // merge: `<<: *anchor` lets several destinations share settings.
  const doc = parseDocument(text, { merge: true, prettyErrors: true });
  // Warnings (an unknown !tag, say) would silently change a value, so they count as errors.
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length > 0) {
    // The first line reads "<what> at line L, column C:"; the rest is a snippet of the file.
    // One slip can cascade into dozens of errors, and only the first few say anything useful.
    const errors = problems
      .slice(0, MAX_YAML_ERRORS)
      .map((p) => ({ path: shown, message: p.message.split("\n")[0]!.replace(/:$/, "") }));
    if (problems.length > MAX_YAML_ERRORS) {
      errors.push({ path: shown, message: `${problems.length - MAX_YAML_ERRORS} more YAML errors follow from these` });
    }
    return { ok: false, errors };
  }
  try {
    return { ok: true, value: doc.toJS() };
  } catch (error) {
    // toJS throws for an alias without its anchor or an alias bomb.
    return { ok: false, errors: [{ path: shown, message: (error as Error).message }] };
  }
}

/**
 * Replaces ${NAME} in every string value (not in keys) with env NAME, recording a missing one
 * as an error at the value's path. `$${` is a literal `${`.
 */
function substitute(
  value: unknown,
  path: (string | number)[],
  env: Record<string, string | undefined>,
  errors: ConfigError[],
): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\$\{|\$\{([^}]*)\}|\$\{/g, (match, name: string | undefined) => {
      if (match === "$${") return "${";
      const at = formatPath(path);
      if (name === undefined || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        const message = `has "${match}", which is not a \${NAME} reference (write $\${ for a literal \${)`;
        errors.push({ path: at, message });
        return match;
      }
      const replacement = env[name];
      if (replacement === undefined) errors.push({ path: at, message: `environment variable ${name} is not set` });
      return replacement ?? match;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => substitute(item, [...path, i], env, errors));
  if (typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, [...path, k], env, errors)]));
  }
  return value;
}

function isWithin(path: string, parent: string): boolean {
  return path === parent || path.startsWith(`${parent}.`) || path.startsWith(`${parent}[`);
}
