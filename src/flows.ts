// The flows several commands share: ensure a worktree has a range, release it, prune.
// Each is one locked registry update around a pure core decision, plus the worktree's
// shards.env, written inside the lock so that it always agrees with the registry.
import { isDeepStrictEqual } from "node:util";
import { allocate, prune } from "./core/allocate.ts";
import { rangeFromEnv, type ShardEnv, shardEnv } from "./core/env.ts";
import type { Allocation } from "./core/records.ts";
import type { Config } from "./edges/config.ts";
import { readShardsEnv, removeEnvBlock, removeShardsEnv, writeEnvBlock, writeShardsEnv } from "./edges/envfile.ts";
import { readRecords, updateRecords } from "./edges/registry.ts";
import { livenessTest, siblingWorktrees, type Worktree } from "./edges/worktree.ts";
import { PoolExhaustedError } from "./errors.ts";
import { logger } from "./output.ts";

export interface Shard {
  record: Allocation;
  env: ShardEnv;
}

export function envOf(record: Allocation, config: Config, root: string): ShardEnv {
  return shardEnv(record, { names: config.names, exportPort: config.exportPort, root, name: record.name });
}

/**
 * Rule 9: the ranges the repository's other worktrees still export, as records, so that a
 * registry that was lost or cut short never hands one of them out again. Read under the
 * lock, and only when a new range is needed: asking again for a range reads none of them, and
 * the worktrees that have a record are not looked into.
 */
function siblingRecords(wt: Worktree, known: ReadonlySet<string>): Allocation[] {
  const records: Allocation[] = [];
  for (const s of siblingWorktrees(wt, known)) {
    const env = readShardsEnv(s.gitDir, s.root);
    const range = env && rangeFromEnv(env);
    if (!range) continue;
    const fields = { gitDir: s.gitDir, path: s.root, branch: null, repo: wt.repo, names: [] };
    records.push({ ...fields, name: env.SHARD_NAME, ...range });
  }
  return records;
}

/** Who asks for a range: the worktree and the names its config gives (the bench asks the same way). */
export function requesterOf(wt: Worktree, config: Config) {
  return { gitDir: wt.gitDir, path: wt.root, branch: wt.branch, repo: wt.repo, names: config.names };
}

/**
 * The worktree's range: the one it has, the one its shards.env names if rule 10 allows, or a
 * new one. `listening`: the ports something listens on, found another way (the hook's ss);
 * null, or none given, and the probe reads them.
 */
export async function ensureAllocation(
  wt: Worktree,
  config: Config,
  count?: number,
  listening?: () => Set<number> | null,
): Promise<Shard> {
  const saved = readShardsEnv(wt.gitDir, wt.root);
  const previous = saved && rangeFromEnv(saved);
  // Loaded only with probe on: the hook's path stays small. The sockets are read before the
  // lock when a new range is likely (no shards.env yet, as in the hook), else only if one is
  // needed after all: asking again for a range (env, exec, first access) reads none.
  // The hook's answer, when it brought one, spares loading ports.ts at all.
  const given = config.probe && !previous ? (listening?.() ?? null) : null;
  const ports = config.probe && !given ? await import("./edges/ports.ts") : null;
  let busy = given ?? (ports && !previous ? ports.listeningPorts() : undefined);
  const shard = updateRecords(
    (records) => {
      const result = allocate(records, config, {
        ...requesterOf(wt, config),
        count,
        previous,
        siblings: (known) => siblingRecords(wt, known),
        liveness: livenessTest(),
        busy: config.probe ? () => (busy ??= ports!.listeningPorts()) : undefined,
      });
      if ("exhausted" in result) throw new PoolExhaustedError(result.exhausted);
      for (const r of result.freed)
        logger.warn(`the pool is full: took ports ${r.start}-${r.end} of ${r.path}, whose repository is gone`);
      const own = records.find((r) => r.gitDir === wt.gitDir);
      const unchanged = own !== undefined && isDeepStrictEqual(own, result.record);
      const shard = { record: result.record, env: envOf(result.record, config, wt.root) };
      return { records: unchanged ? null : result.records, result: shard };
    },
    { afterWrite: (shard) => writeShardsEnv(wt.gitDir, shard.env) },
  );
  if (config.envFile) await writeEnvBlock(wt, config.envFile, shard.env);
  return shard;
}

/** Frees the worktree's range (and takes its block out of `envFile`); null when it had none. */
export function releaseAllocation(match: (r: Allocation) => boolean, envFile: string | null): Allocation | null {
  const freed = updateRecords((records) => {
    const own = records.find(match);
    if (!own) return { records: null, result: null };
    // The env file goes first: a crash in between leaves a record without a file, never a
    // file that names a range the registry no longer holds.
    removeShardsEnv(own.gitDir);
    return { records: records.filter((r) => r !== own), result: own };
  });
  if (freed && envFile) removeEnvBlock(freed.path, envFile);
  return freed;
}

/** Drops allocations whose worktree is removed or whose repository is gone; with dryRun, only says which. */
export function pruneAllocations(dryRun: boolean): Allocation[] {
  if (dryRun) return prune(readRecords(), livenessTest()).dropped;
  return updateRecords((records) => {
    const { records: kept, dropped } = prune(records, livenessTest());
    for (const r of dropped) removeShardsEnv(r.gitDir);
    return { records: dropped.length > 0 ? kept : null, result: dropped };
  });
}

export function findAllocation(gitDir: string): Allocation | null {
  return readRecords().find((r) => r.gitDir === gitDir) ?? null;
}
