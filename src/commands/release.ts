import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { formatRange, recordOf } from "../core/records.ts";
import { loadConfig } from "../edges/config.ts";
import { findWorktree } from "../edges/worktree.ts";
import { releaseAllocation } from "../flows.ts";
import { print } from "../output.ts";
import { label, pathArg } from "./_shared.ts";

export default defineCommand({
  meta: { name: "release", description: "Free the worktree's port range" },
  args: { path: pathArg },
  async run({ args }) {
    const target = resolve(args.path ?? ".");
    // A worktree that is already gone is released by the path it had.
    const wt = existsSync(target) ? findWorktree(target) : null;
    // A bad config stops every command in that worktree, before anything is written.
    const config = wt ? await loadConfig(wt) : null;
    const gitDir = wt?.gitDir ?? null;
    const freed = releaseAllocation(recordOf(gitDir, target), config?.envFile ?? null);
    if (freed) print(`released ports ${formatRange(freed)} (${label(freed)})\n`);
    else print(`no ports to release for ${target}\n`);
  },
});
