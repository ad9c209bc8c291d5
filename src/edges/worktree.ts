// Where a worktree's git dir, top level and branch are. Read from `.git` files directly:
// this runs in the hook on every new worktree, and a file read is cheaper than `git`.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import type { Allocation } from "../core/records.ts";
import { NotAWorktreeError, ShardsError } from "../errors.ts";

export interface Worktree {
  /** Top level, as `git rev-parse --show-toplevel` prints it (symlinks resolved). */
  root: string;
  /** Absolute git dir: `<repo>/.git` or `<repo>/.git/worktrees/<name>`. */
  gitDir: string;
  commonDir: string;
  /** The main worktree, or the common dir of a bare repository. */
  repo: string;
  branch: string | null;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/** A one-value git file (`.git`, `commondir`, `gitdir`): its text without the final newline. */
function readValue(file: string): string | null {
  const text = readText(file);
  return text === null ? null : text.replace(/\r?\n$/, "");
}

function isDirectory(path: string): boolean | null {
  try {
    return statSync(path).isDirectory();
  } catch {
    return null;
  }
}

/** The git dir a `.git` entry in `dir` leads to, or null when there is none. */
function gitDirAt(dir: string): string | null {
  const dotGit = join(dir, ".git");
  const kind = isDirectory(dotGit);
  if (kind === null) return null;
  if (kind) return dotGit;
  // The path may hold any character but NUL, newlines included: take everything after the tag.
  const text = readValue(dotGit) ?? "";
  if (!text.startsWith("gitdir: ") || text.length === 8) throw new ShardsError(`${dotGit} is not a git file (expected "gitdir: <path>")`);
  const target = resolve(dir, text.slice("gitdir: ".length));
  if (!isDirectory(target))
    throw new ShardsError(`${dotGit} points to ${target}, which does not exist; run \`git worktree repair\` or remove the file`);
  return target;
}

export function findWorktree(from: string): Worktree {
  const start = resolve(from);
  if (!isDirectory(start)) throw new ShardsError(`no such directory: ${start}`);
  for (let dir = start; ; dir = dirname(dir)) {
    const found = gitDirAt(dir);
    if (found) return describe(realpathSync(dir), realpathSync(found));
    if (dirname(dir) === dir) throw new NotAWorktreeError(start);
  }
}

function describe(root: string, gitDir: string): Worktree {
  const common = readValue(join(gitDir, "commondir"));
  const commonDir = common ? realpathSync(resolve(gitDir, common)) : gitDir;
  const repo = basename(commonDir) === ".git" ? dirname(commonDir) : commonDir;
  return { root, gitDir, commonDir, repo, branch: branchOf(gitDir) };
}

export function branchOf(gitDir: string): string | null {
  const head = readText(join(gitDir, "HEAD"))?.trim() ?? "";
  return head.startsWith("ref: refs/heads/") ? head.slice("ref: refs/heads/".length) : null;
}

/** Where the worktree of a record lives now (it may have moved), or null when it is gone. */
export function currentPath(record: Pick<Allocation, "gitDir" | "path">): string | null {
  if (!existsSync(record.gitDir)) return null;
  if (existsSync(record.path)) return record.path;
  // A moved linked worktree: its git dir's `gitdir` file names the new `<path>/.git`.
  const pointer = readValue(join(record.gitDir, "gitdir"));
  if (pointer && isAbsolute(pointer) && existsSync(pointer)) return dirname(pointer);
  return null;
}

export const isStale = (record: Allocation): boolean => currentPath(record) === null;

export function envFilePath(gitDir: string): string {
  return join(gitDir, "shards.env");
}

export interface GitResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs git; GIT_DIR and friends from a calling hook must not redirect it. */
export function git(args: string[], cwd: string, inherit = false): GitResult {
  const env = { ...process.env };
  for (const key of ["GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"]) delete env[key];
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
    } else if (current && field.startsWith("branch refs/heads/")) current.branch = field.slice("branch refs/heads/".length);
    else if (current && field === "bare") current.bare = true;
  }
  return list;
}
