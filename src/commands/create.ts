import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { defineCommand } from "citty";
import { loadConfig, parseCount } from "../edges/config.ts";
import { git, gitEnv, listWorktrees } from "../edges/git.ts";
import { bareTarget } from "../edges/hooks.ts";
import { findWorktree, isBareGitDir, type Worktree } from "../edges/worktree.ts";
import { BareRepositoryError, ShardsError } from "../errors.ts";
import type { Shard } from "../flows.ts";
import { print, printJson } from "../output.ts";
import { allocateCounted, allocationJson, CREATE_COUNT_VAR, countArg, jsonArg, rangeLine } from "./_shared.ts";

/**
 * `git worktree add`, with all of git's output (and the hook's) on our stderr, in git's
 * order, so that stdout stays ours (for --json). The hook gets our --count.
 */
function addWorktree(args: string[], cwd: string, count: number | undefined): void {
  const env = gitEnv({ [CREATE_COUNT_VAR]: count === undefined ? "" : String(count) });
  const r = spawnSync("git", ["worktree", "add", ...args], { cwd, env, stdio: ["ignore", 2, 2] });
  if (r.error) throw new ShardsError(`cannot run git: ${r.error.message}`);
  if (r.status !== 0) throw new ShardsError(`git worktree add failed (git worktree add ${args.join(" ")})`);
}

/**
 * Beside the main worktree, `<repo>-<branch>` (a bare `app.git` gives `app-<branch>`); a bare
 * repository named `.bare` or `.git` keeps its worktrees in its parent: `<parent>/<branch>`.
 */
function defaultPath(repo: string, branch: string): string {
  const name = branch.replaceAll("/", "-");
  if (basename(repo).startsWith(".")) return join(dirname(repo), name);
  if (isBareGitDir(join(repo, ".git"))) return join(repo, name);
  return join(dirname(repo), `${basename(repo, ".git")}-${name}`);
}

/** The worktree we are in, or, in a bare repository (its dir, `proj/` of the `.bare` layout), the repository itself: worktrees are added from there. */
function whereToAdd(cwd: string): Worktree {
  try {
    return findWorktree(cwd);
  } catch (error) {
    if (!(error instanceof BareRepositoryError)) throw error;
    return bareTarget(error.gitDir);
  }
}

export default defineCommand({
  meta: { name: "create", description: "git worktree add + a port range" },
  args: {
    branch: { type: "positional", required: true, description: "Branch to check out (created when it does not exist)" },
    path: {
      type: "string",
      description: "Where to put the worktree (default: <repo>-<branch> beside the main worktree)",
      valueHint: "dir",
    },
    from: { type: "string", description: "Start point of a new branch (default: HEAD)", valueHint: "ref" },
    count: countArg,
    json: jsonArg,
  },
  async run({ args }) {
    const here = whereToAdd(process.cwd());
    // Check everything before git writes anything: config, count, branch name, target path.
    const config = await loadConfig(here);
    const count = parseCount(args.count, config);
    const branch = args.branch;
    if (git(["check-ref-format", "--branch", branch], here.root).status !== 0)
      throw new ShardsError(`invalid branch name: ${JSON.stringify(branch)}`);
    const holder = listWorktrees(here.root).find((w) => w.branch === branch);
    if (holder)
      throw new ShardsError(
        `branch ${branch} is checked out in ${holder.path}; pick another branch, or use that worktree`,
      );
    const target = resolve(args.path ?? defaultPath(here.repo, branch));
    if (existsSync(target))
      throw new ShardsError(`${target} already exists; pass --path to put the worktree elsewhere`);
    const exists = git(["show-ref", "--verify", "--quiet", `refs/heads/${branch}`], here.root).status === 0;
    if (exists && args.from)
      throw new ShardsError(`branch ${branch} exists already; --from only applies to a new branch`);

    addWorktree(
      exists ? [target, branch] : ["-b", branch, target, ...(args.from ? [args.from] : [])],
      here.root,
      count,
    );
    const wt = findWorktree(target);
    let shard: Shard;
    try {
      shard = await allocateCounted(wt, await loadConfig(wt), count);
    } catch (error) {
      // No half-made shard: take back the worktree (and the branch, if we made it).
      git(["worktree", "remove", "--force", target], here.root);
      if (!exists) git(["branch", "-D", branch], here.root);
      throw error;
    }
    if (args.json) printJson(allocationJson(shard));
    else print(`${wt.root}\n${rangeLine(shard.record)}\n`);
  },
});
