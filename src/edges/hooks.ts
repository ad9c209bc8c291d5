// The post-checkout hook: where it goes, how it is written, and how it lives beside hooks
// that were there first. Three layouts:
// - plain: our hook file in the hooks directory (`git rev-parse --git-path hooks`, so
//   core.hooksPath counts). A hook that was there is renamed to post-checkout.shards-previous
//   (a rename keeps its bytes, mode, even a symlink) and our hook runs it.
// - husky (core.hooksPath is `.husky/_`, which husky rewrites on every `npm install`): a
//   marked block at the top of `.husky/post-checkout`, the file husky runs.
// - lefthook with a `post-checkout` of its own: a command in the committed lefthook config
//   that runs this machine's copy of our hook (lefthook.ts says why). Without one, lefthook
//   leaves a plain hook alone: the plain layout.
import { existsSync, lstatSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import { ShardsError } from "../errors.ts";
import { shQuote } from "../core/env.ts";
import { makeDirectory, readText, writeFileAtomic } from "./files.ts";
import { NULL_IDS, type Worktree, findWorktree } from "./worktree.ts";
import { git, listWorktrees } from "./git.ts";
import { MACHINE_HOOK, addEntry, entryCommand, hasEntry, hasPostCheckout, lefthookConfigs, removeEntry } from "./lefthook.ts";

export const HOOK = "post-checkout";
export const PREVIOUS_SUFFIX = ".shards-previous";
/** The line that tells our hook file from anyone else's. */
const MARK = "# shards post-checkout hook";
/** The part of the template that allocates; the husky block reuses it. */
const REGION_BEGIN = "# >>> shards: new worktree\n";
const REGION_END = "# <<< shards: new worktree\n";
/** The block in a husky hook file. */
const BLOCK_BEGIN = "# >>> shards >>>";
const BLOCK_END = "# <<< shards <<<";
const CREATED = "(shards created this file)";

/** What the hook runs: absolute paths, recorded at install (never npx). */
export interface Runtime {
  node: string;
  cli: string;
}

export type HookTarget =
  /** `lefthook`: a lefthook config is there (with no post-checkout, so lefthook leaves this file alone). */
  | { kind: "plain"; dir: string; file: string; lefthook: boolean }
  | { kind: "husky"; dir: string; file: string }
  /** `config`: the committed lefthook config our command goes in; `file`: this machine's copy of our hook. */
  | { kind: "lefthook"; dir: string; config: string; file: string };

export type InstallOutcome = "installed" | "chained" | "updated" | "unchanged";
export type UninstallOutcome = "removed" | "restored" | "nothing" | "foreign";

// ---------------------------------------------------------------- rendering

/** The package root (holds hooks/ and dist/), from the bundle and from the sources alike. */
export function packageRoot(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "hooks", HOOK)) && existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`cannot find hooks/${HOOK} of the shards package`);
  }
}

/**
 * This process's node and CLI. SHARDS_HOOK_NODE / SHARDS_HOOK_CLI choose others: a stable
 * node path for version managers that move node on upgrade, and a seam for tests.
 */
export function currentRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  return {
    node: resolve(env.SHARDS_HOOK_NODE || process.execPath),
    cli: resolve(env.SHARDS_HOOK_CLI || join(packageRoot(), "dist", "cli.cjs")),
  };
}

/** The hook file for this runtime: the package's template with the paths filled in. */
export function renderHook(rt: Runtime): string {
  const template = readFileSync(join(packageRoot(), "hooks", HOOK), "utf8");
  // Replacement functions: a `$` in a path must not be read as a replacement pattern.
  return template.replace("__SHARDS_NODE__", () => shQuote(rt.node)).replace("__SHARDS_CLI__", () => shQuote(rt.cli));
}

/** The block for `.husky/post-checkout`: the null-id test inline, so no node starts on ordinary checkouts. */
export function renderHuskyBlock(rt: Runtime, created: boolean): string {
  const hook = renderHook(rt);
  const region = hook.slice(hook.indexOf(REGION_BEGIN) + REGION_BEGIN.length, hook.indexOf(REGION_END));
  const indented = region.replace(/^(?=.)/gm, "\t");
  const note = created ? ` ${CREATED}` : "";
  return (
    `${BLOCK_BEGIN} added by \`shards install\`${note}; \`shards uninstall\` removes it\n` +
    `case $1 in\n${NULL_IDS.join(" | ")})\n${indented}\t;;\nesac\n${BLOCK_END}\n`
  );
}

// ---------------------------------------------------------------- where

/** `git rev-parse --git-path hooks`: honours core.hooksPath and, from a linked worktree, names the shared directory. */
export function hooksDir(wt: Worktree): string {
  const out = git(["rev-parse", "--git-path", "hooks"], wt.root);
  if (out.status !== 0) throw new ShardsError(`cannot find the hooks directory: ${out.stderr.trim().split("\n")[0]}`);
  // A relative answer is relative to where git ran: the worktree root.
  return resolve(wt.root, out.stdout.replace(/\n$/, ""));
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
    else if (!state.current) result.missing.push({ path: listed.path, why: `no current shards hook in ${state.where}` });
    else result.runs.push(listed.path);
  }
  return result;
}

/** Whether anything (a file, a symlink, even a dangling one) is at `path`. */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
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

// ---------------------------------------------------------------- plain layout

function writeHook(file: string, content: string, mode?: number): void {
  makeDirectory(dirname(file));
  // Atomic: git may run the hook at any moment, and must never see half a file.
  writeFileAtomic(file, content, { mode });
}

function isOurs(file: string): boolean {
  return readText(file)?.includes(MARK) ?? false;
}

function installPlain(file: string, content: string): InstallOutcome {
  if (present(file) && lstatSync(file).isDirectory()) throw new ShardsError(`${file} is a directory; git runs a file there`);
  if (isOurs(file)) {
    if (readText(file) === content) return "unchanged";
    writeHook(file, content, 0o755);
    return "updated";
  }
  const previous = file + PREVIOUS_SUFFIX;
  if (!present(file)) {
    writeHook(file, content, 0o755);
    return "installed";
  }
  if (present(previous))
    throw new ShardsError(
      `both ${file} and ${previous} exist, and the first is not shards' hook; keep one of them (merge what you need), then run shards install`,
    );
  renameSync(file, previous);
  writeHook(file, content, 0o755);
  return "chained";
}

function uninstallPlain(file: string): UninstallOutcome {
  const previous = file + PREVIOUS_SUFFIX;
  if (present(file) && !isOurs(file)) return present(previous) ? "foreign" : "nothing";
  const ours = present(file);
  if (ours) rmSync(file);
  if (present(previous)) {
    renameSync(previous, file);
    return "restored";
  }
  return ours ? "removed" : "nothing";
}

// ---------------------------------------------------------------- husky layout

interface Block {
  start: number;
  end: number;
  text: string;
  created: boolean;
}

function findBlock(text: string): Block | null {
  // The markers count only at the start of a line.
  const after = text.startsWith(BLOCK_BEGIN) ? -1 : text.indexOf(`\n${BLOCK_BEGIN}`);
  if (after < 0 && !text.startsWith(BLOCK_BEGIN)) return null;
  const start = after + 1;
  const endMark = text.indexOf(`\n${BLOCK_END}`, start) + 1;
  if (endMark === 0) return null;
  const end = endMark + BLOCK_END.length + (text[endMark + BLOCK_END.length] === "\n" ? 1 : 0);
  const firstLine = text.slice(start, text.indexOf("\n", start));
  return { start, end, text: text.slice(start, end), created: firstLine.includes(CREATED) };
}

/** Right after a `#!` line (when it ends with a newline), else at the very top: so removing it gives back the same bytes. */
function insertAt(text: string): number {
  const newline = text.indexOf("\n");
  return text.startsWith("#!") && newline >= 0 ? newline + 1 : 0;
}

function installHusky(file: string, rt: Runtime): InstallOutcome {
  const existing = readText(file);
  if (existing === null) {
    writeHook(file, renderHuskyBlock(rt, true), 0o755);
    return "installed";
  }
  const block = findBlock(existing);
  if (block) {
    const wanted = renderHuskyBlock(rt, block.created);
    if (block.text === wanted) return "unchanged";
    writeHook(file, existing.slice(0, block.start) + wanted + existing.slice(block.end));
    return "updated";
  }
  // At the top: our block never fails (husky runs the file with `sh -e`), and the user's
  // commands below it can already use the ports.
  const at = insertAt(existing);
  writeHook(file, existing.slice(0, at) + renderHuskyBlock(rt, false) + existing.slice(at));
  return "installed";
}

function uninstallHusky(file: string): UninstallOutcome {
  const existing = readText(file);
  const block = existing === null ? null : findBlock(existing);
  if (existing === null || !block) return "nothing";
  const rest = existing.slice(0, block.start) + existing.slice(block.end);
  if (block.created && rest === "") rmSync(file);
  else writeHook(file, rest);
  return "removed";
}

// ---------------------------------------------------------------- lefthook layout

function installLefthook(target: Extract<HookTarget, { kind: "lefthook" }>, rt: Runtime): InstallOutcome {
  const machine = installPlain(target.file, renderHook(rt));
  // Ours, renamed by `lefthook install` once the config gained a post-checkout: never run.
  const renamed = join(target.dir, `${HOOK}.old`);
  if (isOurs(renamed)) rmSync(renamed);
  const text = readText(target.config) ?? "";
  if (hasEntry(text)) return machine;
  const edited = /\.ya?ml$/.test(target.config) ? addEntry(text) : null;
  if (edited === null)
    throw new ShardsError(
      `cannot add the shards command to ${target.config}; add it by hand under post-checkout, commands: shards: { run: ${JSON.stringify(entryCommand())} }`,
    );
  writeFileAtomic(target.config, edited);
  return "installed";
}

function uninstallLefthook(target: Extract<HookTarget, { kind: "lefthook" }>): UninstallOutcome {
  const text = readText(target.config);
  const hadEntry = text !== null && hasEntry(text);
  if (hadEntry) writeFileAtomic(target.config, removeEntry(text));
  const machine = uninstallPlain(target.file);
  return hadEntry && machine === "nothing" ? "removed" : machine;
}

/** Whether the committed config at HEAD has our command: a new worktree reads the config of the branch it checks out. */
export function lefthookEntryCommitted(wt: Worktree, config: string): boolean {
  const out = git(["show", `HEAD:./${config.slice(wt.root.length + 1)}`], wt.root);
  return out.status === 0 && hasEntry(out.stdout);
}

/** Whether lefthook's own hook is where git looks (`lefthook install` was run). */
export function lefthookInstalled(dir: string): boolean {
  return readText(join(dir, HOOK))?.includes("lefthook") ?? false;
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

/** Reads one shell word as our quoting writes it ('...' and \x pieces). */
function readShellWord(text: string, from: number): string | null {
  let out = "";
  let i = from;
  while (i < text.length && !/\s/.test(text[i]!)) {
    if (text[i] === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return null;
      out += text.slice(i + 1, close);
      i = close + 1;
    } else if (text[i] === "\\") {
      out += text[i + 1] ?? "";
      i += 2;
    } else out += text[i++];
  }
  return out || null;
}

function recordedRuntime(text: string): Runtime | null {
  const word = (name: string) => {
    const at = text.indexOf(`${name}=`);
    return at < 0 ? null : readShellWord(text, at + name.length + 1);
  };
  const node = word("shards_node");
  const cli = word("shards_cli");
  return node && cli ? { node, cli } : null;
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
  const ours = text !== null && text.includes(MARK);
  const entry = target.kind !== "lefthook" || hasEntry(readText(target.config) ?? "");
  return {
    where: target.kind === "lefthook" && !entry ? target.config : target.file,
    installed: ours && entry,
    current: ours && text === renderHook(rt),
    recorded: ours ? recordedRuntime(text) : null,
    foreign: !ours && present(target.file),
    previous: present(target.file + PREVIOUS_SUFFIX),
  };
}
