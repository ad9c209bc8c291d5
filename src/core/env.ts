// A range + config -> the worktree's variables; rendering for each shell; and reading
// shards.env back as data (never as code).
import { namedPorts, type Range, SHARD_NAME } from "./records.ts";

export type EnvFormat = "sh" | "fish" | "dotenv" | "json";
export const ENV_FORMATS: readonly EnvFormat[] = ["sh", "fish", "dotenv", "json"];
export type ShardEnv = Record<string, string>;

/** Names that would collide with the fixed SHARD_PORT_* variables. */
export const RESERVED_NAMES = ["range_start", "range_end", "count"];

export interface EnvOptions {
  names: readonly string[];
  exportPort: boolean;
  root: string;
  /** SHARD_NAME; absent only for a record read from an old registry and not yet asked again. */
  name?: string;
}

export function shardEnv(range: Range, opts: EnvOptions): ShardEnv {
  const env: ShardEnv = {
    SHARD_PORT_RANGE_START: String(range.start),
    SHARD_PORT_RANGE_END: String(range.end),
    SHARD_PORT_COUNT: String(range.count),
  };
  for (const [name, port] of Object.entries(namedPorts(range, opts.names)))
    env[`SHARD_PORT_${name.toUpperCase()}`] = String(port);
  if (opts.exportPort) env.PORT = String(range.start);
  // A line-based file cannot hold a newline; such a root is left out rather than cut.
  if (!opts.root.includes("\n")) env.SHARD_ROOT = opts.root;
  if (opts.name) env.SHARD_NAME = opts.name;
  return env;
}

/**
 * dotenv (docker compose, dotenv, `set -a; .`): bare when safe, else single quotes (no
 * expansion anywhere), else double quotes with `\`, `"`, `$` and `` ` `` escaped.
 */
function dotenvQuote(v: string): string {
  if (/^[\w/.,:@%+=-]*$/.test(v)) return v;
  if (!v.includes("'")) return `'${v}'`;
  return `"${v.replace(/[\\"$`]/g, "\\$&")}"`;
}

/** Single quotes keep every byte (spaces, `"`, `$`, backticks, newlines); `'` becomes '\''. */
export const shQuote = (v: string) => `'${v.replaceAll("'", `'\\''`)}'`;
const fishQuote = (v: string) => `'${v.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

export function renderEnv(env: ShardEnv, format: EnvFormat): string {
  const entries = Object.entries(env);
  switch (format) {
    case "json":
      return `${JSON.stringify(env, null, 2)}\n`;
    case "fish":
      return entries.map(([k, v]) => `set -gx ${k} ${fishQuote(v)}\n`).join("");
    case "dotenv":
      return entries.map(([k, v]) => `${k}=${dotenvQuote(v)}\n`).join("");
    case "sh":
      return entries.map(([k, v]) => `export ${k}=${shQuote(v)}\n`).join("");
  }
}

/** shards.env: one KEY=VALUE a line, raw values (they are digits, or a path with no newline). */
export function renderEnvFile(env: ShardEnv): string {
  return Object.entries(env)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
}

const KEY = /^(SHARD_[A-Z0-9_]+|PORT)$/;
const DIGITS = /^[0-9]{1,5}$/;

/**
 * Reads shards.env as data: only valid keys with digit values (an absolute path for
 * SHARD_ROOT, a `[a-z0-9][a-z0-9_-]*` word for SHARD_NAME).
 */
export function parseEnvFile(text: string): ShardEnv {
  const env: ShardEnv = {};
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq < 1) continue;
    const key = line.slice(0, eq);
    const value = line.slice(eq + 1);
    if (!KEY.test(key)) continue;
    const valid =
      key === "SHARD_ROOT" ? value.startsWith("/") : key === "SHARD_NAME" ? SHARD_NAME.test(value) : DIGITS.test(value);
    if (valid) env[key] = value;
  }
  return env;
}

/** The three numbers a shards.env names, as found: whether they make a range is `adoptable`'s question. */
export function rangeFromEnv(env: ShardEnv): Range | null {
  const start = Number(env.SHARD_PORT_RANGE_START);
  const end = Number(env.SHARD_PORT_RANGE_END);
  const count = Number(env.SHARD_PORT_COUNT);
  if (!env.SHARD_PORT_RANGE_START || !env.SHARD_PORT_RANGE_END || !env.SHARD_PORT_COUNT) return null;
  return { start, end, count };
}

// The `envFile` block: the same variables, in dotenv syntax, between two marker lines of a
// file the user owns (`.env`). Everything outside the markers is the user's, byte for byte.
export const BLOCK_BEGIN = "# >>> shards: ports of this worktree (managed by shards; edits inside are replaced)";
export const BLOCK_END = "# <<< shards";

export function renderEnvBlock(env: ShardEnv): string {
  return `${BLOCK_BEGIN}\n${renderEnv(env, "dotenv")}${BLOCK_END}\n`;
}

/** Where the block is in `text`: [from, to) including its final newline; null when absent. */
function findBlock(text: string): [number, number] | null {
  const from = text.startsWith(`${BLOCK_BEGIN}\n`) ? 0 : text.indexOf(`\n${BLOCK_BEGIN}\n`) + 1;
  if (from === 0 && !text.startsWith(`${BLOCK_BEGIN}\n`)) return null;
  const body = from + BLOCK_BEGIN.length + 1;
  // Up to the end marker, lines added inside included (edits inside are replaced)...
  let nl = text.indexOf(`\n${BLOCK_END}`, body - 1);
  while (nl !== -1) {
    const after = nl + 1 + BLOCK_END.length;
    if (after === text.length) return [from, after];
    if (text[after] === "\n") return [from, after + 1];
    nl = text.indexOf(`\n${BLOCK_END}`, after);
  }
  // ...or, when someone deleted it, up to the last of our own lines.
  let at = body;
  while (at < text.length) {
    const eol = text.indexOf("\n", at);
    if (!/^(SHARD_[A-Z0-9_]+|PORT)=/.test(text.slice(at, eol === -1 ? text.length : eol))) break;
    at = eol === -1 ? text.length : eol + 1;
  }
  return [from, at];
}

/** `text` with the block put in its place (or at the end), or taken out when `block` is null. */
export function withEnvBlock(text: string, block: string | null): string {
  const found = findBlock(text);
  if (found) return text.slice(0, found[0]) + (block ?? "") + text.slice(found[1]);
  if (block === null) return text;
  return text === "" || text.endsWith("\n") ? text + block : `${text}\n${block}`;
}
