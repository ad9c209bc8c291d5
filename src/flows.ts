// The flows several commands share: ensure a worktree has a range, release it, prune.
// Each is one locked registry update around a pure core decision, plus the worktree's
// shards.env, written inside the lock so that it always agrees with the registry.
import { rmSync } from "node:fs";
import { allocate, prune } from "./core/allocate.ts";
import { type ShardEnv, parseEnvFile, rangeFromEnv, renderEnvFile, shardEnv } from "./core/env.ts";
import type { Allocation } from "./core/records.ts";
import type { Config } from "./edges/config.ts";
import { readText, writeFileAtomic } from "./edges/files.ts";
import { readRecords, updateRecords } from "./edges/registry.ts";
import { type Worktree, envFilePath, staleTest } from "./edges/worktree.ts";
import { PoolExhaustedError } from "./errors.ts";

export interface Shard {
  record: Allocation;
  env: ShardEnv;
  kind: "existing" | "adopted" | "new";
}

function readEnvFile(gitDir: string): string | null {
  return readText(envFilePath(gitDir));
}

/**
 * Writes shards.env only when its content changes (rule 11 rewrites it on every ask). Read
 * again here, under the lock: another process may have released it since we first looked.
 */
function writeEnvFile(gitDir: string, env: ShardEnv): void {
  const text = renderEnvFile(env);
  // No fsync: a copy of the registry's record, written again on the next ask (rule 11).
  if (readEnvFile(gitDir) !== text) writeFileAtomic(envFilePath(gitDir), text, { fsync: false });
}

function removeEnvFile(gitDir: string): void {
  rmSync(envFilePath(gitDir), { force: true });
}

export function envOf(record: Allocation, config: Config, root: string): ShardEnv {
  return shardEnv(record, { names: config.names, exportPort: config.exportPort, root });
}

const sameRecord = (a: Allocation, b: Allocation) => JSON.stringify(a) === JSON.stringify(b);

/** The worktree's range: the one it has, the one its shards.env names if free, or a new one. */
export async function ensureAllocation(wt: Worktree, config: Config, count?: number): Promise<Shard> {
  const saved = readEnvFile(wt.gitDir);
  const previous = saved === null ? null : rangeFromEnv(parseEnvFile(saved));
  // Asked only with probe on, and loaded only then: the hook's path stays small.
  const busy = config.probe ? (await import("./edges/ports.ts")).listeningPorts() : undefined;
  return updateRecords(
    (records) => {
      const result = allocate(records, config, {
        gitDir: wt.gitDir,
        path: wt.root,
        branch: wt.branch,
        repo: wt.repo,
        names: config.names,
        count,
        previous,
        isStale: staleTest(),
        busy,
      });
      if (result.kind === "exhausted") throw new PoolExhaustedError(result.message);
      const own = records.find((r) => r.gitDir === wt.gitDir);
      const unchanged = result.kind === "existing" && own !== undefined && sameRecord(own, result.record);
      const shard = { record: result.record, env: envOf(result.record, config, wt.root), kind: result.kind };
      return { records: unchanged ? null : result.records, result: shard };
    },
    undefined,
    (shard) => writeEnvFile(wt.gitDir, shard.env),
  );
}

/** Frees the worktree's range; null when it had none. */
export function releaseAllocation(match: (r: Allocation) => boolean): Allocation | null {
  return updateRecords((records) => {
    const own = records.find(match);
    if (!own) return { records: null, result: null };
    // The env file goes first: a crash in between leaves a record without a file, never a
    // file that names a range the registry no longer holds.
    removeEnvFile(own.gitDir);
    return { records: records.filter((r) => r !== own), result: own };
  });
}

/** Drops allocations whose worktree is gone; with dryRun, only says which. */
export function pruneAllocations(dryRun: boolean): Allocation[] {
  if (dryRun) return prune(readRecords(), staleTest()).dropped;
  return updateRecords((records) => {
    const { records: kept, dropped } = prune(records, staleTest());
    for (const r of dropped) removeEnvFile(r.gitDir);
    return { records: dropped.length > 0 ? kept : null, result: dropped };
  });
}

export function findAllocation(gitDir: string): Allocation | null {
  return readRecords().find((r) => r.gitDir === gitDir) ?? null;
}
