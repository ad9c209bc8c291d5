import { existsSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { defineCommand } from "citty";
import { ensureAllocation } from "../flows.ts";
import { loadConfig, parseCount } from "../edges/config.ts";
import { findWorktree, isBareGitDir } from "../edges/worktree.ts";
import { git } from "../edges/git.ts";
import { ShardsError } from "../errors.ts";
import { print, printJson } from "../output.ts";
import { allocationJson, countArg, jsonArg, rangeLine } from "./_shared.ts";

/** Runs git with its output on our stderr, so that stdout stays ours (for --json). */
function gitOrFail(args: string[], cwd: string, what: string): void {
  const r = git(args, cwd);
  process.stderr.write(r.stdout + r.stderr);
  if (r.status !== 0) throw new ShardsError(`${what} failed (git ${args.join(" ")})`);
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

export default defineCommand({
  meta: { name: "create", description: "git worktree add + a port range" },
  args: {
    branch: { type: "positional", required: true, description: "Branch to check out (created when it does not exist)" },
    path: { type: "string", description: "Where to put the worktree (default: <repo>-<branch> beside the main worktree)", valueHint: "dir" },
    from: { type: "string", description: "Start point of a new branch (default: HEAD)", valueHint: "ref" },
    count: countArg,
    json: jsonArg,
  },
  async run({ args }) {
    const here = findWorktree(process.cwd());
    // Check everything before git writes anything: config, count, branch name, target path.
    const config = await loadConfig(here);
    const count = parseCount(args.count, config);
    const branch = args.branch;
    if (git(["check-ref-format", "--branch", branch], here.root).status !== 0)
      throw new ShardsError(`invalid branch name: ${JSON.stringify(branch)}`);
    const target = resolve(args.path ?? defaultPath(here.repo, branch));
    if (existsSync(target)) throw new ShardsError(`${target} already exists; pass --path to put the worktree elsewhere`);
    const exists = git(["show-ref", "--verify", "--quiet", `refs/heads/${branch}`], here.root).status === 0;
    if (exists && args.from) throw new ShardsError(`branch ${branch} exists already; --from only applies to a new branch`);

    gitOrFail(
      exists ? ["worktree", "add", target, branch] : ["worktree", "add", "-b", branch, target, ...(args.from ? [args.from] : [])],
      here.root,
      "git worktree add",
    );
    const wt = findWorktree(target);
    let shard;
    try {
      shard = await ensureAllocation(wt, await loadConfig(wt), count);
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
