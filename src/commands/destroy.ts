import { existsSync, realpathSync } from "node:fs";
import { resolve } from "node:path";
import { defineCommand } from "citty";
import { formatRange, recordOf } from "../core/records.ts";
import { git, listWorktrees } from "../edges/git.ts";
import { stopLine, stopServers } from "../edges/ports.ts";
import { findWorktree } from "../edges/worktree.ts";
import { firstLine, ShardsError } from "../errors.ts";
import { findAllocation, releaseAllocation } from "../flows.ts";
import { print } from "../output.ts";
import { warnListeners } from "./_shared.ts";

export default defineCommand({
  meta: { name: "destroy", description: "git worktree remove + free its ports (the branch is kept)" },
  args: {
    target: { type: "positional", required: true, description: "Branch or path of the worktree" },
    force: { type: "boolean", description: "Remove it even with changes or untracked files" },
    stop: { type: "boolean", description: "Stop its servers first (as `shards stop` does)" },
  },
  async run({ args }) {
    const here = findWorktree(process.cwd());
    const asPath = resolve(args.target);
    const path = existsSync(asPath) ? realpathSync.native(asPath) : asPath;
    const listed = listWorktrees(here.repo);
    const target = listed.find((w) => w.path === path) ?? listed.find((w) => w.branch === args.target);
    if (!target) throw new ShardsError(`no worktree with branch or path ${args.target} (see \`shards list\`)`);
    if (target === listed[0])
      throw new ShardsError(`${target.path} is the main worktree; destroy removes linked worktrees only`);
    const gitDir = existsSync(target.path) ? findWorktree(target.path).gitDir : null;
    const record = gitDir ? findAllocation(gitDir) : null;
    if (args.stop && record) print((await stopServers(target.path, record, { dryRun: false })).map(stopLine).join(""));

    const removed = git(["worktree", "remove", ...(args.force ? ["--force"] : []), target.path], here.repo);
    if (removed.status !== 0) {
      const reason = firstLine(removed.stderr.trim());
      const hint = args.force || reason.includes("--force") ? "" : " (use --force)";
      throw new ShardsError(`git worktree remove failed: ${reason}${hint}`);
    }
    // git removed the directory, and any envFile with it.
    const freed = releaseAllocation(recordOf(gitDir, target.path), null);
    if (!freed) return void print(`removed ${target.path} (it had no ports)\n`);
    print(`removed ${target.path}; freed ports ${formatRange(freed)}\n`);
    await warnListeners(freed);
  },
});
