// Where a worktree's git dir, top level and branch are. Read from `.git` files directly:
// this runs in the hook on every new worktree, and a file read is cheaper than `git`
// (running git lives in git.ts, which the hook's path does not load).
import { existsSync, readdirSync, readFileSync, realpathSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import type { Liveness } from "../core/allocate.ts";
import type { Allocation } from "../core/records.ts";
import { BareRepositoryError, NotAWorktreeError, ShardsError } from "../errors.ts";
import { isDirectory, readText } from "./files.ts";

/** The previous HEAD git passes to post-checkout for a new worktree (SHA-1 and SHA-256). */
export const NULL_IDS = ["0".repeat(40), "0".repeat(64)];

export interface Worktree {
  /** Top level, as `git rev-parse --show-toplevel` prints it (symlinks resolved). */
  root: string;
  /** Absolute git dir: `<repo>/.git` or `<repo>/.git/worktrees/<name>`. */
  gitDir: string;
  /** The repository's common git dir: `<repo>/.git`, or the bare repository. */
  commonDir: string;
  /** The main worktree, or the common dir of a bare repository. */
  repo: string;
  branch: string | null;
}

/** A one-value git file (`.git`, `commondir`, `gitdir`): its text without the final newline. */
function readValue(file: string): string | null {
  const text = readText(file);
  return text === null ? null : text.replace(/\r?\n$/, "");
}

/** The git dir a `.git` entry in `dir` leads to, or null when there is none. */
function gitDirAt(dir: string): string | null {
  const dotGit = join(dir, ".git");
  const kind = isDirectory(dotGit);
  if (kind === null) return null;
  if (kind) return dotGit;
  // The path may hold any character but NUL, newlines included: take everything after the tag.
  const text = readValue(dotGit) ?? "";
  if (!text.startsWith("gitdir: ") || text.length === 8)
    throw new ShardsError(`${dotGit} is not a git file (expected "gitdir: <path>")`);
  const target = resolve(dir, text.slice("gitdir: ".length));
  if (!isDirectory(target))
    throw new ShardsError(
      `${dotGit} points to ${target}, which does not exist; run \`git worktree repair\` or remove the file`,
    );
  return target;
}

/**
 * A bare repository's git dir: no `commondir` (it is no linked worktree's) and core.bare
 * set. Read from the config file, not git: findWorktree runs in the hook.
 */
export function isBareGitDir(gitDir: string): boolean {
  if (existsSync(join(gitDir, "commondir"))) return false;
  const core = /^\s*\[core\]([^[]*)/im.exec(readText(join(gitDir, "config")) ?? "");
  return core !== null && /^\s*bare\s*=\s*true\s*$/im.test(core[1]!);
}

export function findWorktree(from: string): Worktree {
  const start = resolve(from);
  if (!isDirectory(start)) throw new ShardsError(`no such directory: ${start}`);
  for (let dir = start; ; dir = dirname(dir)) {
    const found = gitDirAt(dir);
    // The `.bare` layout's `proj/.git` leads to a bare repository: `proj/` is no worktree.
    if (found && isBareGitDir(found)) throw new BareRepositoryError(dir, realpathSync.native(found));
    if (found) return describe(realpathSync.native(dir), realpathSync.native(found));
    if (existsSync(join(dir, "HEAD")) && isBareGitDir(dir))
      throw new BareRepositoryError(dir, realpathSync.native(dir));
    if (dirname(dir) === dir) throw new NotAWorktreeError(start);
  }
}

function describe(root: string, gitDir: string): Worktree {
  const common = readValue(join(gitDir, "commondir"));
  const commonDir = common ? realpathSync.native(resolve(gitDir, common)) : gitDir;
  const repo = basename(commonDir) === ".git" ? dirname(commonDir) : commonDir;
  return { root, gitDir, commonDir, repo, branch: branchOf(gitDir) };
}

// One object for every read: made per call (readFileSync(file, "utf8") does), it costs more than the read.
const HEAD_READ = { encoding: "utf8", flag: "r" } as const;

/**
 * A git dir's HEAD. readFileSync with utf8 reads it in one call into node (open, read and
 * close done there), where open, read and close from here are three calls with their
 * argument checks: `list --all` reads a HEAD for every record, ~4 µs less each.
 */
function readHead(gitDir: string): string | null {
  // Not path.join: it walks the whole string to normalise it, a cost per record in `list --all`,
  // and the git dirs shards records are absolute and already normal (realpath).
  try {
    return readFileSync(`${gitDir}/HEAD`, HEAD_READ);
  } catch {
    return null;
  }
}

function branchOf(gitDir: string): string | null {
  const head = readHead(gitDir)?.trim() ?? "";
  return head.startsWith("ref: refs/heads/") ? head.slice("ref: refs/heads/".length) : null;
}

/** Does a path exist: a stat, or an answer from shared directory listings. */
type Exists = (path: string) => boolean;

/** Where the worktree of a record lives now (it may have moved), or null when it is gone. */
function currentPath(record: Pick<Allocation, "gitDir" | "path">, exists: Exists = existsSync): string | null {
  if (!exists(record.gitDir)) return null;
  if (exists(record.path)) return record.path;
  // A moved linked worktree: its git dir's `gitdir` file names the new `<path>/.git`.
  const pointer = readValue(join(record.gitDir, "gitdir"));
  if (pointer && isAbsolute(pointer) && existsSync(pointer)) return dirname(pointer);
  return null;
}

/**
 * A record's worktree as it is now: it may have moved (`git worktree move`) or switched
 * branches since the record was written. The record's own values when it is gone.
 */
export function present(record: Allocation, exists: Exists = existsSync): { path: string; branch: string | null } {
  const path = currentPath(record, exists);
  return path === null ? { path: record.path, branch: record.branch } : { path, branch: branchOf(record.gitDir) };
}

/**
 * `exists` answered from one listing of each directory, read once and shared: every name
 * listed goes into one set as a whole path, so a record's own path or git dir is found with
 * one lookup, and only the first path of each directory is cut (with lastIndexOf and
 * slice: path.dirname walks the string a character at a time). A thousand records in a
 * cold process cost milliseconds either way, in V8's interpreter.
 */
function listingCache(): Exists {
  const listed = new Set<string>();
  // Per directory: whether it could be read (its names are in `listed`).
  const readable = new Map<string, boolean>();
  return (path) => {
    if (listed.has(path)) return true;
    const slash = path.lastIndexOf("/");
    // Not of the form `/dir/name`: ask about the path itself.
    if (slash <= 0 || slash === path.length - 1) return existsSync(path);
    const dir = path.slice(0, slash);
    let known = readable.get(dir);
    if (known === undefined) {
      const names = readdirOrNull(dir);
      known = names !== null;
      readable.set(dir, known);
      if (names) for (let i = 0; i < names.length; i++) listed.add(`${dir}/${names[i]}`);
      if (known) return listed.has(path);
    }
    // Listed and not there: gone. An unreadable directory says nothing: ask about the path.
    return known ? false : existsSync(path);
  };
}

function parentDir(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash > 0 ? path.slice(0, slash) : dirname(path);
}

/**
 * Rule 5 for many records at once (it runs before every new allocation): one listing of
 * each `<common dir>/worktrees` and of each parent directory answers every record, so a
 * thousand worktrees of a few repositories cost a few reads, not two thousand stats. Only a
 * worktree whose directory is gone costs more: a read of its `gitdir` and `locked` files.
 */
export function livenessTest(exists = listingCache()): (record: Allocation) => Liveness {
  // Per parent of a git dir: the common dir when that parent is `<common dir>/worktrees` (a
  // linked worktree's), else null (the git dir is a repository's own).
  const commons = new Map<string, string | null>();
  const commonOf = (gitDir: string) => {
    const dir = parentDir(gitDir);
    let common = commons.get(dir);
    if (common === undefined) {
      common = dir.endsWith("/worktrees") ? parentDir(dir) : null;
      commons.set(dir, common);
    }
    return common;
  };
  return (record) => {
    // A record without a git dir (a damaged one, rule 8) cannot be checked: it keeps its ports.
    if (!record.gitDir) return "live";
    // The common case first: the git dir is there, so is the common dir that holds it.
    if (!exists(record.gitDir)) {
      const common = commonOf(record.gitDir);
      return common !== null && exists(common) ? "removed" : "stale";
    }
    if (record.path && exists(record.path)) return "live";
    if (currentPath(record, exists) !== null) return "live";
    // `git worktree lock`: away on purpose (an unmounted disk), never dropped.
    return existsSync(join(record.gitDir, "locked")) ? "live" : "removed";
  };
}

/** For list and doctor: a record that `shards prune` would free. */
export function staleTest(exists = listingCache()): (record: Allocation) => boolean {
  const liveness = livenessTest(exists);
  return (record) => liveness(record) !== "live";
}

/** A record's worktree as it is now (`present`), and whether `shards prune` would free it. */
export interface RecordNow {
  path: string;
  branch: string | null;
  stale: boolean;
}

/**
 * For `list --all`: `present` and `staleTest` for many records in one pass, their existence
 * checks answered from the same directory listings (a thousand records: a few reads, not
 * 2,000 stats). Only the HEAD of each worktree that is there is read: its current branch.
 */
export function recordsNow(): (record: Allocation) => RecordNow {
  const exists = listingCache();
  const liveness = livenessTest(exists);
  return (record) => {
    const { path, branch } = present(record, exists);
    return { path, branch, stale: liveness(record) !== "live" };
  };
}

function readdirOrNull(dir: string): string[] | null {
  try {
    return readdirSync(dir);
  } catch {
    return null;
  }
}

/**
 * The repository's other worktrees as git lists them in its common dir: the main one (unless
 * the repository is bare) and each `worktrees/<id>`, with the top level its `gitdir` names;
 * but those whose git dir is in `skip`, which are not looked into.
 */
export function siblingWorktrees(wt: Worktree, skip: ReadonlySet<string>): { gitDir: string; root: string }[] {
  const found: { gitDir: string; root: string }[] = [];
  if (basename(wt.commonDir) === ".git") found.push({ gitDir: wt.commonDir, root: dirname(wt.commonDir) });
  for (const id of readdirOrNull(join(wt.commonDir, "worktrees")) ?? []) {
    const gitDir = join(wt.commonDir, "worktrees", id);
    if (skip.has(gitDir)) continue;
    const pointer = readValue(join(gitDir, "gitdir"));
    if (!pointer || !isAbsolute(pointer)) continue;
    found.push({ gitDir, root: realpathOr(dirname(pointer)) });
  }
  return found.filter((s) => s.gitDir !== wt.gitDir && !skip.has(s.gitDir));
}

function realpathOr(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}
