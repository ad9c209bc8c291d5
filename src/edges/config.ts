// Configuration: defaults -> files (c12) -> SHARDS_* variables -> flags. c12 is imported
// only when a config file exists (it costs ~80 ms to import), so the hook stays fast.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createDefu } from "defu";
import type { Pool } from "../core/allocate.ts";
import { RESERVED_NAMES } from "../core/env.ts";
import { ConfigError } from "../errors.ts";

export interface Config extends Pool {
  names: string[];
  exportPort: boolean;
  probe: boolean;
  /** A file of the worktree (`.env`) that shards keeps a marked block of the variables in. */
  envFile: string | null;
}

export const DEFAULTS: Config = {
  portCount: 10,
  basePort: 3000,
  maxPort: 32767,
  // 5000 and 7000: macOS's AirPlay receiver listens there.
  exclude: [3306, 5000, 5432, 6379, 7000, 27017],
  names: [],
  exportPort: false,
  probe: false,
  envFile: null,
};

type Key = keyof Config;
const KEYS = Object.keys(DEFAULTS) as Key[];
const ENV_VARS: Partial<Record<Key, string>> = {
  portCount: "SHARDS_PORT_COUNT",
  basePort: "SHARDS_BASE_PORT",
  maxPort: "SHARDS_MAX_PORT",
  probe: "SHARDS_PROBE",
};

/** Like defu, but an array from a higher layer replaces a lower one instead of joining it. */
const merge = createDefu((obj, key, value) => {
  if (!Array.isArray(value)) return false;
  obj[key] = value;
  return true;
});

type Layer = { source: string; values: Record<string, unknown> };

function userRcFile(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CONFIG_HOME || homedir(), ".shardsrc");
}

function packageJsonHasKey(cwd: string): boolean {
  try {
    const pkg = JSON.parse(readFileSync(join(cwd, "package.json"), "utf8"));
    return pkg !== null && typeof pkg === "object" && "shards" in pkg;
  } catch {
    return false;
  }
}

/** A config file of the project's own in `dir` (not ~/.shardsrc): a readdir, before c12. */
function hasProjectConfig(dir: string): boolean {
  const isOurs = (name: string) => name.startsWith("shards.config.") || name === ".shardsrc";
  const dirHas = (path: string, test: (n: string) => boolean) => {
    try {
      return readdirSync(path).some(test);
    } catch {
      return false;
    }
  };
  return dirHas(dir, isOurs) || dirHas(join(dir, ".config"), (n) => n.startsWith("shards.")) || packageJsonHasKey(dir);
}

/**
 * Where a worktree's config files are: its own top level, or, when that has none, the main
 * worktree's (a config kept there but not committed still counts for every worktree of the
 * repository). Null when neither has one.
 */
function projectDir(wt: { root: string; repo: string }): string | null {
  if (hasProjectConfig(wt.root)) return wt.root;
  return wt.repo !== wt.root && hasProjectConfig(wt.repo) ? wt.repo : null;
}

/** The layers c12 finds, highest precedence first, each named by where it came from. */
async function fileLayers(cwd: string, env: NodeJS.ProcessEnv): Promise<Layer[]> {
  const { loadConfig } = await import("c12");
  let loaded;
  try {
    loaded = await loadConfig<Record<string, unknown>>({
      name: "shards",
      cwd,
      globalRc: true,
      packageJson: true,
      dotenv: false,
      envName: false,
      giget: false,
      extend: false,
      merger: (...sources) => merge({}, ...sources.map((s) => s ?? {})),
    });
  } catch (error) {
    throw new ConfigError("config", "(unreadable)", cwd, (error as Error).message.split("\n")[0]);
  }
  const layers: Layer[] = [];
  for (const layer of loaded.layers ?? []) {
    const values = layer.config as Record<string, unknown> | undefined;
    if (!values || typeof values !== "object") continue;
    let source = layer.configFile ?? "config";
    if (source === "shards.config") source = loaded.configFile ?? source;
    else if (source === "package.json") source = join(cwd, "package.json");
    else if (source === ".shardsrc") source = `${join(cwd, ".shardsrc")} or ${userRcFile(env)}`;
    layers.push({ source, values });
  }
  return layers;
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

function envValue(key: Key, raw: string, source: string): unknown {
  if (key === "probe") {
    const v = raw.toLowerCase();
    if (["1", "true", "yes", "on"].includes(v)) return true;
    if (["0", "false", "no", "off"].includes(v)) return false;
    throw new ConfigError(key, raw, source, "use 1/true/yes/on or 0/false/no/off");
  }
  if (!/^[0-9]+$/.test(raw)) throw new ConfigError(key, raw, source, "must be a whole number");
  return Number(raw);
}

function checkRange(key: string, value: unknown, source: string, min: number, max: number): void {
  if (!isInt(value) || value < min || value > max)
    throw new ConfigError(key, value, source, `must be an integer from ${min} to ${max}`);
}

/** A relative path that stays inside the worktree and is not git's own (`.env`, `config/.env.local`). */
function isWorktreeFile(v: unknown): v is string {
  if (typeof v !== "string" || v === "" || v.startsWith("/") || v.includes("\0") || v.endsWith("/")) return false;
  return v.split("/").every((part) => part !== "" && part !== "." && part !== ".." && part !== ".git");
}

function validate(config: Config, sources: Record<Key, string>): void {
  const src = (k: Key) => sources[k];
  checkRange("portCount", config.portCount, src("portCount"), 1, 1000);
  checkRange("basePort", config.basePort, src("basePort"), 1, 65535);
  const firstEnd = config.basePort + config.portCount - 1;
  if (firstEnd > 65535) {
    const key = src("basePort") === "defaults" ? "portCount" : "basePort";
    throw new ConfigError(key, config[key], src(key), `the first block ${config.basePort}-${firstEnd} runs past port 65535`);
  }
  // A maxPort the user did not set is not the culprit: the basePort or portCount they did set is.
  if (src("maxPort") === "defaults" && config.maxPort < firstEnd) {
    const key = src("basePort") === "defaults" ? "portCount" : "basePort";
    throw new ConfigError(key, config[key], src(key), `the first block ${config.basePort}-${firstEnd} runs past maxPort ${config.maxPort}; set maxPort too (at most 65535)`);
  }
  checkRange("maxPort", config.maxPort, src("maxPort"), firstEnd, 65535);
  if (!Array.isArray(config.exclude) || !config.exclude.every((p) => isInt(p) && p >= 1 && p <= 65535))
    throw new ConfigError("exclude", config.exclude, src("exclude"), "must be a list of ports from 1 to 65535");
  const names = config.names as unknown;
  if (!Array.isArray(names)) throw new ConfigError("names", names, src("names"), 'must be a list such as ["web","api"]');
  for (const name of names)
    if (typeof name !== "string" || !/^[a-z][a-z0-9_]*$/.test(name) || RESERVED_NAMES.includes(name))
      throw new ConfigError("names", name, src("names"), `each name must match [a-z][a-z0-9_]* and not be ${RESERVED_NAMES.join(", ")}`);
  if (new Set(names).size !== names.length) throw new ConfigError("names", names, src("names"), "names must be unique");
  if (names.length > config.portCount)
    throw new ConfigError("names", names, src("names"), `at most portCount (${config.portCount}) names`);
  const envFile = config.envFile as unknown;
  if (envFile !== null && !isWorktreeFile(envFile))
    throw new ConfigError("envFile", envFile, src("envFile"), "must be a file path inside the worktree, such as .env");
  for (const key of ["exportPort", "probe"] as const)
    if (typeof config[key] !== "boolean") throw new ConfigError(key, config[key], src(key), "must be true or false");
}

/** A worktree's config (`root` and `repo` as in Worktree; both the directory outside one). */
export async function loadConfig(wt: { root: string; repo: string }, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  const config = { ...DEFAULTS } as Record<Key, unknown>;
  const sources = Object.fromEntries(KEYS.map((k) => [k, "defaults"])) as Record<Key, string>;
  // c12 (~80 ms to import) only when a file it would read exists.
  const dir = projectDir(wt);
  const layers = dir !== null || existsSync(userRcFile(env)) ? await fileLayers(dir ?? wt.root, env) : [];
  // Lowest precedence first, so that each later layer overwrites.
  for (const { source, values } of [...layers].reverse()) {
    for (const [key, value] of Object.entries(values)) {
      if (key.startsWith("$")) continue;
      if (!KEYS.includes(key as Key)) throw new ConfigError(key, value, source, `unknown key; known keys: ${KEYS.join(", ")}`);
      config[key as Key] = value;
      sources[key as Key] = source;
    }
  }
  for (const [key, name] of Object.entries(ENV_VARS) as [Key, string][]) {
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    config[key] = envValue(key, raw.trim(), name);
    sources[key] = name;
  }
  validate(config as unknown as Config, sources);
  return config as unknown as Config;
}

/** `--count`: a per-allocation override of portCount, checked against the pool. */
export function parseCount(raw: unknown, config: Config): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  const text = String(raw);
  const max = Math.min(1000, config.maxPort - config.basePort + 1);
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < 1 || value > max)
    throw new ConfigError("count", text, "--count", `must be an integer from 1 to ${max}`);
  return value;
}
