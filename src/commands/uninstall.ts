import { existsSync, rmSync } from "node:fs";
import { basename, dirname } from "node:path";
import { defineCommand } from "citty";
import { loadConfig } from "../edges/config.ts";
import { removeEnvBlock, shardsEnvPath } from "../edges/envfile.ts";
import { type HookTarget, hookTarget, PREVIOUS_SUFFIX, uninstallHook } from "../edges/hooks.ts";
import { readRecords, registryPath } from "../edges/registry.ts";
import { findWorktree, type Worktree } from "../edges/worktree.ts";
import { errorLine, NotAWorktreeError } from "../errors.ts";
import { logger, print } from "../output.ts";

/** Takes our hook out of one target; the line that says what was done, or null when none was there. */
function uninstallAt(target: HookTarget): string | null {
  const name = basename(target.file);
  switch (uninstallHook(target)) {
    case "removed":
      if (target.kind === "lefthook")
        return `removed the shards command from ${target.config} and the hook ${target.file}; commit ${target.config}`;
      return `removed the shards post-checkout hook from ${target.kind === "husky" ? target.file : target.dir}`;
    case "restored":
      return `removed the shards post-checkout hook from ${target.dir} and put back the one that was there`;
    case "nothing":
      return null;
    case "foreign":
      // Someone replaced our hook; theirs stays, and so does the one we kept aside.
      logger.warn(
        `${target.file} is no longer shards' hook; left it, and left ${name}${PREVIOUS_SUFFIX} beside it for you to keep or delete`,
      );
      return null;
  }
}

function here(): Worktree | null {
  try {
    return findWorktree(process.cwd());
  } catch (error) {
    if (error instanceof NotAWorktreeError) return null;
    throw error;
  }
}

/** One live worktree of each repository the registry knows (the hooks are per repository), and this one. */
function knownRepositories(): Worktree[] {
  const byRepo = new Map<string, Worktree>();
  const current = here();
  if (current) byRepo.set(current.repo, current);
  for (const r of readRecords()) {
    if (byRepo.has(r.repo) || !existsSync(r.path)) continue;
    try {
      const wt = findWorktree(r.path);
      byRepo.set(wt.repo, wt);
    } catch {
      // A worktree that is no longer one: its repository's hook is out of our reach.
    }
  }
  return [...byRepo.values()];
}

/** The `envFile` block of the worktree at `path`, taken out as release does; whether there was one. */
async function removeBlock(path: string): Promise<boolean> {
  if (!existsSync(path)) return false;
  try {
    const wt = findWorktree(path);
    const { envFile } = await loadConfig(wt);
    return envFile !== null && removeEnvBlock(wt.root, envFile);
  } catch (error) {
    // Its config cannot be read: say so, and go on with the others.
    logger.warn(`${path}: ${errorLine(error)}; take the shards block out of its envFile by hand`);
    return false;
  }
}

/** Everything on this machine: `npm uninstall -g git-shards` leaves the hooks and state behind. */
async function uninstallAll(): Promise<void> {
  const done = new Set<string>();
  for (const wt of knownRepositories()) {
    const target = hookTarget(wt);
    const key = target.kind === "lefthook" ? target.dir : target.file;
    if (done.has(key)) continue;
    done.add(key);
    const line = uninstallAt(target);
    if (line) print(`${line}\n`);
  }
  let removed = 0;
  let blocks = 0;
  for (const r of readRecords()) {
    const file = shardsEnvPath(r.gitDir);
    if (existsSync(file)) {
      rmSync(file, { force: true });
      removed++;
    }
    if (await removeBlock(r.path)) blocks++;
  }
  print(`removed ${removed} shards.env file${removed === 1 ? "" : "s"}\n`);
  if (blocks > 0) print(`removed the ports' block from ${blocks} envFile${blocks === 1 ? "" : "s"}\n`);
  const state = dirname(registryPath());
  print(`the registry is in ${state}: delete it (rm -r ${state}), then npm uninstall -g git-shards\n`);
}

export default defineCommand({
  meta: { name: "uninstall", description: "Remove the git hook and put back the one that was there" },
  args: {
    all: {
      type: "boolean",
      description: "Every repository on this machine, and every shards.env: before npm uninstall -g",
    },
  },
  async run({ args }) {
    if (args.all) return await uninstallAll();
    const line = uninstallAt(hookTarget(findWorktree(process.cwd())));
    print(`${line ?? "no shards hook installed"}\n`);
  },
});
