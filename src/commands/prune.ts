import { defineCommand } from "citty";
import { formatRange } from "../core/records.ts";
import { loadConfig } from "../edges/config.ts";
import { findWorktree } from "../edges/worktree.ts";
import { pruneAllocations } from "../flows.ts";
import { print } from "../output.ts";
import { label, warnListeners } from "./_shared.ts";

export default defineCommand({
  meta: { name: "prune", description: "Free the ranges of worktrees that no longer exist" },
  args: { "dry-run": { type: "boolean", description: "Only say what would be freed" } },
  async run({ args }) {
    const dryRun = Boolean(args["dry-run"]);
    // prune works on the whole machine, but a bad config in this worktree still stops it.
    const here = (() => {
      try {
        return findWorktree(process.cwd());
      } catch {
        return null;
      }
    })();
    if (here) await loadConfig(here);
    const dropped = pruneAllocations(dryRun);
    if (dropped.length === 0) return void print("nothing to prune\n");
    for (const r of dropped) {
      print(`${dryRun ? "would free" : "freed"} ports ${formatRange(r)} (${label(r)}, ${r.path})\n`);
      await warnListeners(r);
    }
  },
});
