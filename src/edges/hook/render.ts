// The hook file: the package's template with this machine's node and CLI filled in, and
// those paths read back from an installed hook (as JSON on a comment line: no shell-word
// parser). The plain, husky and lefthook layouts all install this text or its region.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { shQuote } from "../../core/env.ts";
import { packageFile } from "../package.ts";
import { NULL_IDS } from "../worktree.ts";

export const HOOK = "post-checkout";
export const PREVIOUS_SUFFIX = ".shards-previous";
/** The line that tells our hook file from anyone else's. */
export const MARK = "# shards post-checkout hook";
/** The part of the template that allocates; the husky block reuses it. */
const REGION_BEGIN = "# >>> shards: new worktree\n";
const REGION_END = "# <<< shards: new worktree\n";
const RUNTIME_LINE = /^\s*# shards runtime: (.*)$/m;

/** What the hook runs: absolute paths, recorded at install (never npx). */
export interface Runtime {
  node: string;
  cli: string;
}

/**
 * This process's node and CLI. SHARDS_HOOK_NODE / SHARDS_HOOK_CLI choose others: a stable
 * node path for version managers that move node on upgrade, and a seam for tests.
 */
export function currentRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  return {
    node: resolve(env.SHARDS_HOOK_NODE || process.execPath),
    cli: resolve(env.SHARDS_HOOK_CLI || packageFile("dist", "cli.cjs")),
  };
}

/** The hook file for this runtime: the package's template with the paths filled in. */
export function renderHook(rt: Runtime): string {
  const template = readFileSync(packageFile("hooks", HOOK), "utf8");
  // Replacement functions: a `$` in a path must not be read as a replacement pattern.
  // JSON keeps the recorded paths on one line whatever they hold (a newline too).
  return template
    .replace("__SHARDS_NULL_IDS__", () => NULL_IDS.join(" | "))
    .replace("__SHARDS_RUNTIME__", () => JSON.stringify(rt))
    .replace("__SHARDS_NODE__", () => shQuote(rt.node))
    .replace("__SHARDS_CLI__", () => shQuote(rt.cli));
}

/** The allocating part of the hook (what the husky block holds). */
export function hookRegion(rt: Runtime): string {
  const hook = renderHook(rt);
  return hook.slice(hook.indexOf(REGION_BEGIN) + REGION_BEGIN.length, hook.indexOf(REGION_END));
}

/** The node and CLI an installed hook (or husky block) runs; null when it names none. */
export function recordedRuntime(text: string): Runtime | null {
  const line = RUNTIME_LINE.exec(text);
  if (!line) return null;
  try {
    const rt = JSON.parse(line[1]!) as Partial<Runtime>;
    return typeof rt.node === "string" && typeof rt.cli === "string" ? { node: rt.node, cli: rt.cli } : null;
  } catch {
    return null;
  }
}

export function isOurs(text: string | null): boolean {
  return text?.includes(MARK) ?? false;
}
