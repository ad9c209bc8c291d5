import { basename } from "node:path";
import { defineCommand } from "citty";
import { PREVIOUS_SUFFIX, hookTarget, uninstallHook } from "../edges/hooks.ts";
import { findWorktree } from "../edges/worktree.ts";
import { logger, print } from "../output.ts";

export default defineCommand({
  meta: { name: "uninstall", description: "Remove the git hook and put back the one that was there" },
  run() {
    const target = hookTarget(findWorktree(process.cwd()));
    const outcome = uninstallHook(target);
    const name = basename(target.file);
    switch (outcome) {
      case "removed":
        if (target.kind === "lefthook")
          return void print(`removed the shards command from ${target.config} and the hook ${target.file}; commit ${target.config}\n`);
        return void print(`removed the shards post-checkout hook from ${target.kind === "husky" ? target.file : target.dir}\n`);
      case "restored":
        return void print(`removed the shards post-checkout hook from ${target.dir} and put back the one that was there\n`);
      case "nothing":
        return void print("no shards hook installed\n");
      case "foreign":
        // Someone replaced our hook; theirs stays, and so does the one we kept aside.
        logger.warn(`${target.file} is no longer shards' hook; left it, and left ${name}${PREVIOUS_SUFFIX} beside it for you to keep or delete`);
    }
  },
});
