// lefthook, as measured with the real tool (1.13 and 2.2): `lefthook install` writes a file
// for each hook its config names and renames any other file there to `<hook>.old`, which it
// never runs; and it reads its config inside the worktree it runs in. So:
// - a config with no `post-checkout`: lefthook leaves our plain hook alone, and git runs it;
//   the plain layout is the right install (plain.ts).
// - a config with one: only a command in the committed config reaches a new worktree. The
//   command holds no path of this machine (a teammate's shards lives elsewhere, or nowhere):
//   it runs `<hooks dir>/shards-post-checkout`, this machine's copy of our hook, when there is one.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ShardsError } from "../../errors.ts";
import { readText, writeFileAtomic } from "../files.ts";
import { git } from "../git.ts";
import { NULL_IDS, type Worktree } from "../worktree.ts";
import { type InstallOutcome, installPlain, type UninstallOutcome, uninstallPlain } from "./plain.ts";
import { HOOK, isOurs, type Runtime, renderHook } from "./render.ts";

const NAMES = ["lefthook", ".lefthook", ".config/lefthook"];
const LOCAL_NAMES = NAMES.map((n) => `${n}-local`);
const EXTS = ["yml", "yaml", "json", "jsonc", "toml"];

/** The machine's copy of our hook that the committed command runs (in the hooks directory). */
export const MACHINE_HOOK = "shards-post-checkout";

/** The line that starts our entry: install finds it, uninstall removes it with the two lines below. */
const MARK = "# shards: ports for each new worktree (added by `shards install`; `shards uninstall` removes it)";

function existing(root: string, names: string[]): string[] {
  return names.flatMap((n) => EXTS.map((e) => join(root, `${n}.${e}`))).filter((f) => existsSync(f));
}

/** Every lefthook config in the worktree: the committed ones, then the local ones. */
export function lefthookConfigs(root: string): { main: string[]; local: string[] } {
  return { main: existing(root, NAMES), local: existing(root, LOCAL_NAMES) };
}

/** Whether a config's text names a post-checkout hook (YAML or TOML key, JSON member). */
export function hasPostCheckout(text: string): boolean {
  return /^(post-checkout\s*:|\[post-checkout[\].]|\s*"post-checkout"\s*:)/m.test(text);
}

/** The shell command lefthook runs: our hook's null-id test inline, so an ordinary checkout starts no node. */
export function entryCommand(): string {
  const hook = `h=$(git rev-parse --git-path hooks/${MACHINE_HOOK}) && [ -x "$h" ] && "$h" {1} {2} {3}`;
  return `case {1} in ${NULL_IDS.join("|")}) ${hook};; esac; true`;
}

function entry(indent: string): string {
  // Single-quoted YAML: the command has no single quote, so nothing in it needs escaping.
  return `${indent}${MARK}\n${indent}shards:\n${indent}  run: '${entryCommand()}'\n`;
}

export function hasEntry(text: string): boolean {
  return text.split("\n").some((l) => l.trim() === MARK);
}

const indentOf = (line: string) => /^ */.exec(line)![0];
const isBlank = (line: string) => line.trim() === "" || line.trim().startsWith("#");

/**
 * The YAML text with our command added under `post-checkout: commands:` (both created when
 * missing); null when the file is not block-style YAML we can edit safely.
 */
export function addEntry(text: string): string | null {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => /^post-checkout\s*:\s*(#.*)?$/.test(l));
  if (at < 0) {
    if (/^post-checkout\s*:/m.test(text)) return null; // flow style: `post-checkout: {...}`
    const sep = text === "" || text.endsWith("\n") ? "" : "\n";
    return `${text}${sep}post-checkout:\n  commands:\n${entry("    ")}`;
  }
  let end = at + 1;
  while (end < lines.length && (isBlank(lines[end]!) || indentOf(lines[end]!).length > 0)) end++;
  const body = lines.slice(at + 1, end).filter((l) => !isBlank(l));
  const childIndent = body.length > 0 ? indentOf(body[0]!) : "  ";
  const commands = lines.findIndex((l, i) => i > at && i < end && l === `${childIndent}commands:`);
  const insert = (after: number, block: string) =>
    [...lines.slice(0, after + 1), block.replace(/\n$/, ""), ...lines.slice(after + 1)].join("\n");
  if (commands < 0) return insert(at, `${childIndent}commands:\n${entry(childIndent + childIndent)}`);
  const next = lines.slice(commands + 1, end).find((l) => !isBlank(l));
  const grandIndent = next && indentOf(next).length > childIndent.length ? indentOf(next) : childIndent + childIndent;
  if (next?.trimStart().startsWith("-")) return null; // a list where lefthook wants a map
  return insert(commands, entry(grandIndent));
}

/** The text without our entry (and without a `post-checkout: commands:` that held only it). */
export function removeEntry(text: string): string {
  const lines = text.split("\n");
  const at = lines.findIndex((l) => l.trim() === MARK);
  if (at < 0) return text;
  lines.splice(at, 3);
  const wholeSection = `post-checkout:\n  commands:\n`;
  const joined = lines.join("\n");
  // The section install appended at the end, now empty.
  return joined.endsWith(wholeSection) ? joined.slice(0, -wholeSection.length) : joined;
}

/** `config`: the committed lefthook config our command goes in; `file`: this machine's copy of our hook. */
export interface LefthookTarget {
  kind: "lefthook";
  dir: string;
  config: string;
  file: string;
}

export function installLefthook(target: LefthookTarget, rt: Runtime): InstallOutcome {
  const machine = installPlain(target.file, renderHook(rt));
  // Ours, renamed by `lefthook install` once the config gained a post-checkout: never run.
  const renamed = join(target.dir, `${HOOK}.old`);
  if (isOurs(readText(renamed))) rmSync(renamed);
  const text = readText(target.config) ?? "";
  if (hasEntry(text)) return machine;
  const edited = /\.ya?ml$/.test(target.config) ? addEntry(text) : null;
  if (edited === null)
    throw new ShardsError(
      `cannot add the shards command to ${target.config}; add it by hand under post-checkout, commands: ` +
        `shards: { run: ${JSON.stringify(entryCommand())} }`,
    );
  writeFileAtomic(target.config, edited);
  return "installed";
}

export function uninstallLefthook(target: LefthookTarget): UninstallOutcome {
  const text = readText(target.config);
  const hadEntry = text !== null && hasEntry(text);
  if (hadEntry) writeFileAtomic(target.config, removeEntry(text));
  const machine = uninstallPlain(target.file);
  return hadEntry && machine === "nothing" ? "removed" : machine;
}

/** Whether the config at HEAD has our command: a new worktree reads the config of the branch it checks out. */
export function lefthookEntryCommitted(wt: Worktree, config: string): boolean {
  const out = git(["show", `HEAD:./${config.slice(wt.root.length + 1)}`], wt.root);
  return out.status === 0 && hasEntry(out.stdout);
}

/** Whether lefthook's own hook is where git looks (`lefthook install` was run). */
export function lefthookInstalled(dir: string): boolean {
  return readText(join(dir, HOOK))?.includes("lefthook") ?? false;
}
