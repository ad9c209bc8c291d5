import { basename } from "node:path";
import { defineCommand } from "citty";
import { type Config, loadConfig } from "../edges/config.ts";
import {
  bareTarget,
  type Coverage,
  coverage,
  currentRuntime,
  type HookTarget,
  hookTarget,
  type InstallOutcome,
  installHook,
  lefthookEntryCommitted,
  lefthookInstalled,
  machineWideHooksPath,
  PREVIOUS_SUFFIX,
} from "../edges/hooks.ts";
import type { Worktree } from "../edges/worktree.ts";
import { BareRepositoryError } from "../errors.ts";
import { ensureAllocation } from "../flows.ts";
import { print } from "../output.ts";
import { rangeLine, worktreeAndConfig } from "./_shared.ts";

function installedLine(target: Exclude<HookTarget, { kind: "lefthook" }>, outcome: InstallOutcome): string {
  const line = plainLine(target, outcome);
  return target.kind === "plain" && target.lefthook
    ? `${line}\nlefthook leaves it alone while its config has no post-checkout (if you add one, run \`shards install\` again)`
    : line;
}

/** lefthook runs only what the new worktree's committed config names: say what is left to do. */
function lefthookLines(
  wt: Worktree,
  target: Extract<HookTarget, { kind: "lefthook" }>,
  outcome: InstallOutcome,
): string {
  const lines = [
    outcome === "unchanged"
      ? `the shards command in ${target.config} and its hook ${target.file} are installed and current`
      : `added the shards command to post-checkout in ${target.config} (it runs ${target.file}, this machine's copy of the hook)`,
  ];
  if (!lefthookEntryCommitted(wt, target.config))
    lines.push(
      `commit ${target.config}: lefthook runs the config of the branch a new worktree checks out, so until then new worktrees get no range from the hook`,
    );
  if (!lefthookInstalled(target.dir))
    lines.push("run `lefthook install`: lefthook's post-checkout is not in the hooks directory yet");
  return lines.join("\n");
}

/** What will and will not run, when each worktree has its own hooks directory. */
export function coverageLines(c: Coverage): string {
  return [
    `core.hooksPath is relative (${c.hooksPath}): git runs the hooks of the worktree that \`git worktree add\` is run in.`,
    `  the hook runs for \`git worktree add\` from: ${c.runs.join(", ") || "none"}`,
    ...c.missing.map((m) => `  not from ${m.path}: ${m.why}`),
    "  worktrees added from there get their range on first access (`shards env`, `shards exec`, the shells, direnv);",
    "  run `shards install` (for husky: `npm install`, and commit .husky/post-checkout) in each of them to cover it",
  ].join("\n");
}

function plainLine(target: Exclude<HookTarget, { kind: "lefthook" }>, outcome: InstallOutcome): string {
  const where = target.kind === "husky" ? `${target.file} (husky runs it)` : target.dir;
  switch (outcome) {
    case "installed":
      return `installed the post-checkout hook in ${where}`;
    case "chained":
      return `installed the post-checkout hook in ${where}; the one that was there runs after it, as ${basename(target.file)}${PREVIOUS_SUFFIX}`;
    case "updated":
      return `updated the post-checkout hook in ${where}`;
    case "unchanged":
      return `the post-checkout hook in ${where} is installed and current`;
  }
}

/** The current worktree, or a bare repository (SPEC: install there installs the hook for its worktrees). */
async function worktreeOrBare(): Promise<{ wt: Worktree; config: Config; bare: boolean }> {
  try {
    return { ...(await worktreeAndConfig(undefined)), bare: false };
  } catch (error) {
    if (!(error instanceof BareRepositoryError)) throw error;
    const wt = bareTarget(error.gitDir);
    return { wt, config: await loadConfig(wt), bare: true };
  }
}

export default defineCommand({
  meta: {
    name: "install",
    description: "Install the git hook that allocates on `git worktree add`, then allocate here",
  },
  async run() {
    // Config first: an invalid value stops install before anything is written.
    const here = await worktreeOrBare();
    const { wt, config } = here;
    const target = hookTarget(wt);
    const rt = currentRuntime();
    const outcome = installHook(target, rt);
    print(`${target.kind === "lefthook" ? lefthookLines(wt, target, outcome) : installedLine(target, outcome)}\n`);
    const partial = coverage(wt, rt);
    if (partial && partial.missing.length > 0) print(`${coverageLines(partial)}\n`);
    const global = machineWideHooksPath(wt);
    if (global)
      print(
        `core.hooksPath is set ${global.scope === "global" ? "globally" : "system-wide"} (in ${global.origin}), so this install is machine-wide: ` +
          `every repository that uses ${target.dir} allocates on \`git worktree add\`; \`shards uninstall\` removes it for all of them\n`,
      );
    if (here.bare)
      return void print(
        "a bare repository has no worktree of its own: nothing allocated here; each worktree gets its range on `git worktree add`\n",
      );
    const shard = await ensureAllocation(wt, config);
    print(`${rangeLine(shard.record)}\n`);
  },
});
