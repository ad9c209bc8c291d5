// The two files that carry a worktree's variables: `shards.env` in its git dir (a copy of
// the registry's record, read by the shells) and the optional `envFile` block in a file of
// the worktree (`.env`, read by docker compose, dotenv, Vite...). Parsing and rendering are
// pure, in core/env.ts; here is where the files are and how they are written.
import { appendFileSync, lstatSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseEnvFile, renderEnvBlock, renderEnvFile, type ShardEnv, withEnvBlock } from "../core/env.ts";
import { logger } from "../output.ts";
import { isDirectory, makeDirectory, readText, writeFileAtomic } from "./files.ts";
import type { Worktree } from "./worktree.ts";

export function shardsEnvPath(gitDir: string): string {
  return join(gitDir, "shards.env");
}

/**
 * The worktree's shards.env as data, or null when there is none or it belongs to another
 * directory: a copied repository (`cp -a`) carries the original's file (rule 10).
 */
export function readShardsEnv(gitDir: string, root: string): ShardEnv | null {
  const text = readText(shardsEnvPath(gitDir));
  if (text === null) return null;
  const env = parseEnvFile(text);
  return env.SHARD_ROOT === root ? env : null;
}

/**
 * Writes shards.env only when its content changes (rule 11 rewrites it on every ask). Read
 * again here, under the lock: another process may have released it since we first looked.
 */
export function writeShardsEnv(gitDir: string, env: ShardEnv): void {
  const text = renderEnvFile(env);
  // No fsync: a copy of the registry's record, written again on the next ask (rule 11).
  if (readText(shardsEnvPath(gitDir)) !== text) writeFileAtomic(shardsEnvPath(gitDir), text, { fsync: false });
}

export function removeShardsEnv(gitDir: string): void {
  rmSync(shardsEnvPath(gitDir), { force: true });
}

/**
 * Puts the block into `<root>/<file>`, leaving every other byte as it was. Never into a file
 * git tracks (the ports would be committed); a file git would show is added to the
 * repository's info/exclude, so `git status` stays clean. Git runs only when the file changes.
 */
export async function writeEnvBlock(wt: Worktree, file: string, env: ShardEnv): Promise<void> {
  const path = join(wt.root, file);
  const problem = notOwnFile(path);
  if (problem) return void logger.warn(`not writing the ports to ${path}: ${problem} (set envFile to another file)`);
  const text = readText(path);
  const next = withEnvBlock(text ?? "", renderEnvBlock(env));
  if (next === text) return;
  const { git } = await import("./git.ts");
  if (git(["ls-files", "--error-unmatch", "--", file], wt.root).status === 0)
    return void logger.warn(
      `not writing the ports to ${path}: git tracks it (set envFile to an untracked file, e.g. .env.local)`,
    );
  if (git(["check-ignore", "-q", "--", file], wt.root).status === 1) excludeFile(wt.commonDir, file);
  writeFileAtomic(path, next, { fsync: false });
}

/**
 * Why the block cannot go into `path`, or null when it can: it goes only into a regular
 * file or a new one. Through a symbolic link it would land in another file (often the main
 * worktree's `.env`, linked into each worktree), and replacing the link would undo the
 * user's setup.
 */
function notOwnFile(path: string): string | null {
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return "it is a symbolic link";
    return stat.isFile() ? null : "it is not a regular file";
  } catch {
    return isDirectory(dirname(path)) ? null : `its directory ${dirname(path)} does not exist`;
  }
}

/** Adds `/<file>` to info/exclude, which every worktree of the repository shares. */
function excludeFile(commonDir: string, file: string): void {
  const exclude = join(commonDir, "info", "exclude");
  const text = readText(exclude) ?? "";
  const line = `/${file}`;
  if (text.split("\n").includes(line)) return;
  makeDirectory(join(commonDir, "info"));
  appendFileSync(exclude, `${text === "" || text.endsWith("\n") ? "" : "\n"}${line}\n`);
}

/** Takes the block out of `<root>/<file>`; a file left with nothing else (shards made it) goes. Whether there was one. */
export function removeEnvBlock(root: string, file: string): boolean {
  const path = join(root, file);
  if (notOwnFile(path)) return false; // never written there
  const text = readText(path);
  if (text === null) return false;
  const next = withEnvBlock(text, null);
  if (next === text) return false;
  if (next === "") rmSync(path, { force: true });
  else writeFileAtomic(path, next, { fsync: false });
  return true;
}
