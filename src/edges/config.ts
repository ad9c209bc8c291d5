// Configuration: defaults -> files (c12) -> SHARDS_* variables -> flags. c12 is imported
// only when a config file exists (it costs ~80 ms to import), so the hook stays fast.
// Configuration is data, never code: the hook loads the config of every branch anyone
// pushed, on `git worktree add`, so a `shards.config.mjs` there would be code run on the
// reviewer's machine. Only data files are read; a code file is named once and ignored.
import { readdirSync, readFileSync, type Stats, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createDefu } from "defu";
import type { Pool } from "../core/allocate.ts";
import { RESERVED_NAMES } from "../core/env.ts";
import { ConfigError, errorLine, ShardsError } from "../errors.ts";
import { logger } from "../output.ts";
import { readText } from "./files.ts";

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
  probe: true,
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

/** The one data file c12 is told to read (`shards.config.json`, also under `.config/`). */
const DATA_FILE = "shards.config.json";
/** What c12 would import as a module: `shards.config.mjs`, `.config/shards.ts`, `shards.config.json.js`. */
const CODE_FILE = /^shards(\.config)?(\.json)?\.[cm]?[jt]s$/;

function listing(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A config path that is there must be a regular file: a directory or a FIFO is a mistake (a FIFO would hang c12). */
function checkRegularFile(path: string): boolean {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch {
    return false;
  }
  if (!stat.isFile()) throw new ConfigError("config", path, path, "must be a regular file");
  return true;
}

/** The package.json `shards` key: absent, or an object. */
function packageJsonHasKey(dir: string): boolean {
  const file = join(dir, "package.json");
  let pkg: unknown;
  try {
    pkg = JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return false;
  }
  if (pkg === null || typeof pkg !== "object" || !("shards" in pkg)) return false;
  const value = (pkg as { shards: unknown }).shards;
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new ConfigError("shards", value, file, 'the "shards" key must be an object such as {"portCount": 10}');
  return true;
}

interface ProjectFiles {
  /** A data file c12 would read. */
  data: boolean;
  /** `shards.config.{ts,js,mjs,...}`: never run. */
  code: string[];
}

/** The project's own config files in `dir` (not ~/.shardsrc): two readdirs, before c12. */
function projectFiles(dir: string): ProjectFiles {
  const top = listing(dir);
  const dotConfig = listing(join(dir, ".config"));
  const code = [
    ...top.filter((n) => CODE_FILE.test(n) && n.startsWith("shards.config.")).map((n) => join(dir, n)),
    ...dotConfig.filter((n) => CODE_FILE.test(n)).map((n) => join(dir, ".config", n)),
  ];
  const files = [
    top.includes(DATA_FILE) && join(dir, DATA_FILE),
    top.includes(".shardsrc") && join(dir, ".shardsrc"),
    dotConfig.includes(DATA_FILE) && join(dir, ".config", DATA_FILE),
  ].filter((f): f is string => !!f);
  const data = files.map(checkRegularFile).some(Boolean) || packageJsonHasKey(dir);
  return { data, code };
}

/**
 * Where a worktree's config files are: its own top level, or, when that has none, the main
 * worktree's (a config kept there but not committed still counts for every worktree of the
 * repository). Null when neither has one.
 */
function projectDir(wt: { root: string; repo: string }): { dir: string; files: ProjectFiles } | null {
  const own = projectFiles(wt.root);
  if (own.data || own.code.length > 0) return { dir: wt.root, files: own };
  if (wt.repo === wt.root) return null;
  const main = projectFiles(wt.repo);
  return main.data || main.code.length > 0 ? { dir: wt.repo, files: main } : null;
}

let warned = false;

/** Says once per command (create loads two worktrees' configs) that code config is ignored, and which file to use. */
function warnIgnored(code: string[], dir: string): void {
  if (warned || code.length === 0) return;
  warned = true;
  const files = code.join(", ");
  logger.warn(`ignored ${files}: configuration is data, never code; put its values in ${join(dir, DATA_FILE)}`);
}

/** The code config files that would be ignored for this worktree (for doctor). */
export function ignoredConfigFiles(wt: { root: string; repo: string }): string[] {
  return projectDir(wt)?.files.code ?? [];
}

/** The layers c12 finds, highest precedence first, each named by where it came from. */
async function fileLayers(cwd: string, env: NodeJS.ProcessEnv): Promise<Layer[]> {
  const { loadConfig } = await import("c12");
  let loaded: Awaited<ReturnType<typeof loadConfig<Record<string, unknown>>>>;
  try {
    loaded = await loadConfig<Record<string, unknown>>({
      name: "shards",
      configFile: DATA_FILE,
      cwd,
      globalRc: true,
      packageJson: true,
      dotenv: false,
      envName: false,
      giget: false,
      extend: false,
      merger: (...sources) => merge({}, ...sources.map((s) => s ?? {})),
      // c12 hands `.json` and modules to jiti, which would run a module: this stand-in
      // parses JSON and reads any module c12 still finds (`shards.config.json.mjs`) as empty.
      jiti: { import: async (file: string) => importData(file) } as unknown as NonNullable<
        Parameters<typeof loadConfig>[0]
      >["jiti"],
    });
  } catch (error) {
    if (error instanceof ShardsError) throw error;
    throw new ConfigError("config", "(unreadable)", cwd, errorLine(error));
  }
  const layers: Layer[] = [];
  let userLayer: Layer | null = null;
  for (const layer of loaded.layers ?? []) {
    const values = layer.config as Record<string, unknown> | undefined;
    if (!values || typeof values !== "object") continue;
    let source = layer.configFile ?? "config";
    if (source === DATA_FILE) source = loaded.configFile ?? source;
    else if (source === "package.json") source = join(cwd, "package.json");
    else if (source === ".shardsrc") {
      const [project, user] = splitRc(values, join(cwd, ".shardsrc"), userRcFile(env));
      layers.push(project);
      userLayer = user;
      continue;
    }
    layers.push({ source, values });
  }
  // The user's own file is the lowest: a project's package.json comes before it.
  if (userLayer) layers.push(userLayer);
  return layers;
}

/**
 * c12 reads the project's `.shardsrc` and `~/.shardsrc` as one layer (the project's keys
 * win): each key goes back to the file that sets it, so that an error names that file and
 * the project's package.json stays above the user's file.
 */
function splitRc(values: Record<string, unknown>, projectFile: string, userFile: string): [Layer, Layer] {
  const own = new Set<string>();
  for (const line of (readText(projectFile) ?? "").split(/\r\n|\n|\r/)) {
    const key = /^\s*([^\s=]+)\s*=/.exec(line)?.[1];
    if (key) own.add(key.split(/[.[]/)[0]!); // rc9's `a.b=` and `a[]=` set a
  }
  const project: Layer = { source: projectFile, values: {} };
  const user: Layer = { source: userFile, values: {} };
  for (const [key, value] of Object.entries(values)) (own.has(key) ? project : user).values[key] = value;
  return [project, user];
}

/** A JSON config file's object; a file that does not parse, or holds no object, is named. */
function importData(file: string): unknown {
  if (!file.endsWith(".json")) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ShardsError(`${file} is not valid JSON: ${errorLine(error)}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new ConfigError("config", value, file, 'must be a JSON object such as {"portCount": 10}');
  return value;
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
    throw new ConfigError(
      key,
      config[key],
      src(key),
      `the first block ${config.basePort}-${firstEnd} runs past port 65535`,
    );
  }
  // A maxPort the user did not set is not the culprit: the basePort or portCount they did set is.
  if (src("maxPort") === "defaults" && config.maxPort < firstEnd) {
    const key = src("basePort") === "defaults" ? "portCount" : "basePort";
    throw new ConfigError(
      key,
      config[key],
      src(key),
      `the first block ${config.basePort}-${firstEnd} runs past maxPort ${config.maxPort}; set maxPort too (at most 65535)`,
    );
  }
  checkRange("maxPort", config.maxPort, src("maxPort"), firstEnd, 65535);
  if (!Array.isArray(config.exclude) || !config.exclude.every((p) => isInt(p) && p >= 1 && p <= 65535))
    throw new ConfigError("exclude", config.exclude, src("exclude"), "must be a list of ports from 1 to 65535");
  const names = config.names as unknown;
  if (!Array.isArray(names))
    throw new ConfigError("names", names, src("names"), 'must be a list such as ["web","api"]');
  for (const name of names)
    if (typeof name !== "string" || !/^[a-z][a-z0-9_]*$/.test(name) || RESERVED_NAMES.includes(name))
      throw new ConfigError(
        "names",
        name,
        src("names"),
        `each name must match [a-z][a-z0-9_]* and not be ${RESERVED_NAMES.join(", ")}`,
      );
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
export async function loadConfig(
  wt: { root: string; repo: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<Config> {
  const config = { ...DEFAULTS } as Record<Key, unknown>;
  const sources = Object.fromEntries(KEYS.map((k) => [k, "defaults"])) as Record<Key, string>;
  // c12 (~80 ms to import) only when a file it would read exists.
  const project = projectDir(wt);
  if (project) warnIgnored(project.files.code, project.dir);
  const userRc = checkRegularFile(userRcFile(env));
  const layers = project?.files.data || userRc ? await fileLayers(project?.dir ?? wt.root, env) : [];
  // Lowest precedence first, so that each later layer overwrites.
  for (const { source, values } of [...layers].reverse()) {
    for (const [key, value] of Object.entries(values)) {
      if (key === "$schema") continue; // an editor's JSON schema
      if (key.startsWith("$"))
        throw new ConfigError(key, value, source, "unknown key: shards reads no per-environment sections");
      if (!KEYS.includes(key as Key))
        throw new ConfigError(key, value, source, `unknown key; known keys: ${KEYS.join(", ")}`);
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
