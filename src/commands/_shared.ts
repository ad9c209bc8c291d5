// Arguments and small helpers that several commands use.
import { basename } from "node:path";
import { type Allocation, formatRange, namedPorts, portName } from "../core/records.ts";
import { type Config, loadConfig } from "../edges/config.ts";
import { findWorktree, type Worktree } from "../edges/worktree.ts";
import { ShardsError } from "../errors.ts";
import { ensureAllocation, type Shard } from "../flows.ts";
import { logger } from "../output.ts";

/**
 * Set by `create` for the git hook it triggers: the `--count` that the hook's allocation
 * must use, and a sign that create prints the range itself (once).
 */
export const CREATE_COUNT_VAR = "SHARDS_CREATE_COUNT";

export const pathArg = {
  type: "positional",
  required: false,
  description: "A directory inside the worktree (default: the current one)",
} as const;

export const jsonArg = { type: "boolean", description: "Print one JSON document" } as const;

export const countArg = {
  type: "string",
  description: "Ports for a new range (default: portCount)",
  valueHint: "n",
} as const;

export async function worktreeAndConfig(path: string | undefined): Promise<{ wt: Worktree; config: Config }> {
  const wt = findWorktree(path ?? process.cwd());
  return { wt, config: await loadConfig(wt) };
}

/** The worktree's range, of `count` ports when given: a range it has of another size is an error. */
export async function allocateCounted(wt: Worktree, config: Config, count: number | undefined): Promise<Shard> {
  const shard = await ensureAllocation(wt, config, count);
  const r = shard.record;
  if (count !== undefined && r.count !== count)
    throw new ShardsError(
      `this worktree has ports ${formatRange(r)} (${r.count} ports); run \`shards release\` first to get ${count}`,
    );
  return shard;
}

/** How a worktree is named in messages: its branch, or its directory when detached. */
export function label(r: Pick<Allocation, "branch" | "path">): string {
  return r.branch ?? basename(r.path);
}

/** `feature-x -> ports 3010-3019`: the line the hook, allocate and create print. */
export function rangeLine(r: Allocation): string {
  return `${label(r)} -> ports ${r.start}-${r.end}`;
}

/** The `allocate --json` shape. */
export function allocationJson(shard: Shard) {
  const r = shard.record;
  return { path: r.path, branch: r.branch, start: r.start, end: r.end, count: r.count, ports: namedPorts(r, r.names) };
}

/** One warning per port of a freed range that something still listens on (a server left behind). */
export async function warnListeners(freed: Allocation): Promise<void> {
  const { listeners } = await import("../edges/ports.ts");
  const seen = new Set<number>();
  for (const l of listeners({ owners: true })) {
    if (l.port < freed.start || l.port > freed.end || seen.has(l.port)) continue;
    seen.add(l.port);
    const name = portName(freed, l.port);
    const owner = l.pid === null ? "an unknown process" : `pid ${l.pid} (${l.command ?? "unknown"})`;
    logger.warn(
      `port ${l.port}${name ? ` (${name})` : ""} of the freed range ${freed.start}-${freed.end} is still in use by ${owner}`,
    );
  }
}
