import { basename } from "node:path";
import { defineCommand } from "citty";
import { ensureAllocation } from "../flows.ts";
import { type HookTarget, type InstallOutcome, PREVIOUS_SUFFIX, currentRuntime, hookTarget, installHook, lefthookLine } from "../edges/hooks.ts";
import { print } from "../output.ts";
import { rangeLine, worktreeAndConfig } from "./_shared.ts";

function installedLine(target: Exclude<HookTarget, { kind: "lefthook" }>, outcome: InstallOutcome): string {
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

export default defineCommand({
  meta: { name: "install", description: "Install the git hook that allocates on `git worktree add`, then allocate here" },
  async run() {
    // Config first: an invalid value stops install before anything is written.
    const { wt, config } = await worktreeAndConfig(undefined);
    const target = hookTarget(wt);
    const rt = currentRuntime();
    if (target.kind === "lefthook") {
      // `lefthook install` rewrites the hooks it manages: the call belongs in its config.
      // The local config, since the line holds this machine's paths. Not a failure: the
      // step left is the user's, as with `direnv allow`.
      print(
        `lefthook runs the git hooks here; add this line to ${target.local} (your own, uncommitted lefthook config), then run \`lefthook install\`:\n` +
          `${lefthookLine(rt)}\n`,
      );
    } else {
      print(`${installedLine(target, installHook(target, rt))}\n`);
    }
    const shard = await ensureAllocation(wt, config);
    print(`${rangeLine(shard.record)}\n`);
  },
});
