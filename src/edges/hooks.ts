// The post-checkout hook: where it goes and what is there. One file per layout in hook/:
// - plain: our hook file in the hooks directory (`git rev-parse --git-path hooks`, so
//   core.hooksPath counts), chaining the one that was there (plain.ts);
// - husky (core.hooksPath is `.husky/_`): a block in `.husky/post-checkout` (husky.ts);
// - lefthook with a `post-checkout` of its own: a command in the committed lefthook config
//   that runs this machine's copy of our hook (lefthook.ts). Without one, lefthook leaves a
//   plain hook alone: the plain layout.
// The text all three install comes from the package's template (render.ts).
import { existsSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { firstLine, ShardsError } from "../errors.ts";
import { readText } from "./files.ts";
import { git, listWorktrees } from "./git.ts";
import { findBlock, installHusky, renderHuskyBlock, uninstallHusky } from "./hook/husky.ts";
import {
  hasEntry,
  hasPostCheckout,
  installLefthook,
  type LefthookTarget,
  lefthookConfigs,
  MACHINE_HOOK,
  uninstallLefthook,
} from "./hook/lefthook.ts";
import { type InstallOutcome, installPlain, present, type UninstallOutcome, uninstallPlain } from "./hook/plain.ts";
import { HOOK, isOurs, PREVIOUS_SUFFIX, type Runtime, recordedRuntime, renderHook } from "./hook/render.ts";
import { findWorktree, type Worktree } from "./worktree.ts";

export { lefthookEntryCommitted, lefthookInstalled } from "./hook/lefthook.ts";
export { currentRuntime, PREVIOUS_SUFFIX, type Runtime } from "./hook/render.ts";
export type { InstallOutcome, UninstallOutcome };

export type HookTarget =
  /** `lefthook`: a lefthook config is there (with no post-checkout, so lefthook leaves this file alone). */
  | { kind: "plain"; dir: string; file: string; lefthook: boolean }
  | { kind: "husky"; dir: string; file: string }
  | LefthookTarget;

// ---------------------------------------------------------------- where

/** `git rev-parse --git-path hooks`: honours core.hooksPath and, from a linked worktree, names the shared directory. */
export function hooksDir(wt: Worktree): string {
  const out = git(["rev-parse", "--git-path", "hooks"], wt.root);
  if (out.status !== 0) throw new ShardsError(`cannot find the hooks directory: ${firstLine(out.stderr.trim())}`);
  // A relative answer is relative to where git ran: the worktree root.
  return resolve(wt.root, out.stdout.replace(/\n$/, ""));
}

/**
 * A bare repository as a hook target (install and doctor work there, SPEC "Repository
 * layouts"): git runs in its git dir, and `--git-path hooks` names its hooks directory.
 */
export function bareTarget(gitDir: string): Worktree {
  return { root: gitDir, gitDir, commonDir: gitDir, repo: gitDir, branch: null };
}

/** husky v9 points core.hooksPath at `<dir>/_` and runs `<dir>/<hook>` from there. */
function isHuskyDir(dir: string): boolean {
  return basename(dir) === "_" && (basename(dirname(dir)) === ".husky" || existsSync(join(dir, "h")));
}

export function hookTarget(wt: Worktree): HookTarget {
  const dir = hooksDir(wt);
  if (isHuskyDir(dir)) return { kind: "husky", dir, file: join(dirname(dir), HOOK) };
  const { main, local } = lefthookConfigs(wt.root);
  if ([...main, ...local].some((f) => hasPostCheckout(readText(f) ?? "")))
    return { kind: "lefthook", dir, config: main[0] ?? join(wt.root, "lefthook.yml"), file: join(dir, MACHINE_HOOK) };
  return { kind: "plain", dir, file: join(dir, HOOK), lefthook: main.length + local.length > 0 };
}

/**
 * Where core.hooksPath is set, when it is set outside this repository (`--global`,
 * `--system`): then one hooks directory serves every repository on the machine.
 */
export function machineWideHooksPath(wt: Worktree): { scope: string; origin: string } | null {
  const out = git(["config", "--show-scope", "--show-origin", "--get", "core.hooksPath"], wt.root);
  const m = /^(global|system)\tfile:(.*)\t/.exec(out.stdout);
  return out.status === 0 && m ? { scope: m[1]!, origin: m[2]! } : null;
}

/** core.hooksPath when it is relative: then git takes the hooks of the worktree that `git worktree add` runs in. */
function relativeHooksPath(wt: Worktree): string | null {
  const out = git(["config", "--get", "core.hooksPath"], wt.root);
  const value = out.stdout.replace(/\n$/, "");
  return out.status === 0 && value !== "" && !isAbsolute(value) && !value.startsWith("~") ? value : null;
}

export interface Coverage {
  hooksPath: string;
  /** Worktrees from which `git worktree add` runs our hook. */
  runs: string[];
  /** The others, each with what is missing there. */
  missing: { path: string; why: string }[];
}

/**
 * With a relative core.hooksPath each worktree has a hooks directory of its own (husky's
 * `.husky/_` exists in a worktree only once `npm install` ran there): which of them run our
 * hook. Null when core.hooksPath is not relative (one directory serves all worktrees).
 */
export function coverage(wt: Worktree, rt: Runtime): Coverage | null {
  const hooksPath = relativeHooksPath(wt);
  if (hooksPath === null) return null;
  const result: Coverage = { hooksPath, runs: [], missing: [] };
  for (const listed of listWorktrees(wt.root)) {
    if (listed.bare || !existsSync(listed.path)) continue;
    const target = hookTarget(findWorktree(listed.path));
    const state = hookState(target, rt);
    if (target.kind === "husky" && !existsSync(join(target.dir, HOOK)))
      result.missing.push({ path: listed.path, why: `no ${target.dir} there until \`npm install\` runs in it` });
    else if (!state.current)
      result.missing.push({ path: listed.path, why: `no current shards hook in ${state.where}` });
    else result.runs.push(listed.path);
  }
  return result;
}

// ---------------------------------------------------------------- commands' entry points

export function installHook(target: HookTarget, rt: Runtime): InstallOutcome {
  if (target.kind === "lefthook") return installLefthook(target, rt);
  return target.kind === "husky" ? installHusky(target.file, rt) : installPlain(target.file, renderHook(rt));
}

export function uninstallHook(target: HookTarget): UninstallOutcome {
  if (target.kind === "lefthook") return uninstallLefthook(target);
  return target.kind === "husky" ? uninstallHusky(target.file) : uninstallPlain(target.file);
}

export interface HookState {
  /** Where our hook is, or would be. */
  where: string;
  installed: boolean;
  /** Same text as install would write now. */
  current: boolean;
  /** The node and CLI it runs; null when unknown. */
  recorded: Runtime | null;
  /** Something else sits where our hook goes (plain layout). */
  foreign: boolean;
  /** A hook kept aside by an earlier install is there (plain layout). */
  previous: boolean;
}

/** What is installed at the target, compared with what install would write for `rt`. */
export function hookState(target: HookTarget, rt: Runtime): HookState {
  const text = readText(target.file);
  if (target.kind === "husky") {
    const block = text === null ? null : findBlock(text);
    const current = block !== null && block.text === renderHuskyBlock(rt, block.created);
    const recorded = block && recordedRuntime(block.text);
    return { where: target.file, installed: block !== null, current, recorded, foreign: false, previous: false };
  }
  const ours = isOurs(text);
  const entry = target.kind !== "lefthook" || hasEntry(readText(target.config) ?? "");
  return {
    where: target.kind === "lefthook" && !entry ? target.config : target.file,
    installed: ours && entry,
    current: ours && text === renderHook(rt),
    recorded: ours ? recordedRuntime(text!) : null,
    foreign: !ours && present(target.file),
    previous: present(target.file + PREVIOUS_SUFFIX),
  };
}
