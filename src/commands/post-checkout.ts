// What the git hook runs on a new worktree (hidden: people run `shards allocate`). It must
// never make `git worktree add` fail: every failure, even a bug, is one warning line and
// exit 0. Its output goes into git's own output, hence the `shards:` prefix.
import { defineCommand } from "citty";
import { ensureAllocation } from "../allocation.ts";
import { NULL_IDS } from "../edges/hooks.ts";
import { ShardsError } from "../errors.ts";
import { logger } from "../output.ts";
import { rangeLine, worktreeAndConfig } from "./_shared.ts";

function reason(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).split("\n")[0];
  return error instanceof ShardsError ? message : `${message} (a bug in shards; please report it)`;
}

export default defineCommand({
  meta: { name: "post-checkout", description: "Run by the git hook: allocate for a new worktree", hidden: true },
  args: {
    previous: { type: "positional", required: false, description: "Previous HEAD (git's first argument)" },
    head: { type: "positional", required: false, description: "New HEAD" },
    flag: { type: "positional", required: false, description: "1 for a branch checkout" },
  },
  async run({ args }) {
    // The hooks test this already; a hook manager wired by hand might not.
    if (args.previous !== undefined && !NULL_IDS.includes(args.previous)) return;
    try {
      const { wt, config } = await worktreeAndConfig(undefined);
      const shard = await ensureAllocation(wt, config);
      process.stdout.write(`shards: ${rangeLine(shard.record)}\n`);
    } catch (error) {
      logger.warn(`no ports allocated: ${reason(error)}`);
    }
  },
});
