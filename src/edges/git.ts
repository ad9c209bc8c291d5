// Running git, for the commands that need git itself (create, destroy, list, install).
import { spawnSync } from "node:child_process";
import { ShardsError } from "../errors.ts";

export interface GitResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Our environment for git: GIT_DIR and friends from a calling hook must not redirect it. */
export function gitEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  for (const key of ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"]) delete env[key];
  return env;
}

/** Runs git, its output captured. */
export function git(args: string[], cwd: string, inherit = false): GitResult {
  const env = gitEnv();
  const result = spawnSync("git", args, {
    cwd,
    env,
    encoding: "utf8",
    stdio: inherit ? ["inherit", "inherit", "inherit"] : ["ignore", "pipe", "pipe"],
  });
  if (result.error) throw new ShardsError(`cannot run git: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: result.stdout ?? "", stderr: result.stderr ?? "" };
}

export interface ListedWorktree {
  path: string;
  branch: string | null;
  bare: boolean;
}

/** `git worktree list`, NUL-separated so that any path survives. */
export function listWorktrees(cwd: string): ListedWorktree[] {
  const out = git(["worktree", "list", "--porcelain", "-z"], cwd);
  if (out.status !== 0) throw new ShardsError(`git worktree list failed: ${out.stderr.trim()}`);
  const list: ListedWorktree[] = [];
  let current: ListedWorktree | null = null;
  for (const field of out.stdout.split("\0")) {
    if (field.startsWith("worktree ")) {
      current = { path: field.slice("worktree ".length), branch: null, bare: false };
      list.push(current);
    } else if (current && field.startsWith("branch refs/heads/"))
      current.branch = field.slice("branch refs/heads/".length);
    else if (current && field === "bare") current.bare = true;
  }
  return list;
}
