import { basename } from "node:path";
import { defineCommand } from "citty";
import { PREVIOUS_SUFFIX, currentRuntime, hookState, hookTarget, uninstallHook } from "../edges/hooks.ts";
import { findWorktree } from "../edges/worktree.ts";
import { logger, print } from "../output.ts";

export default defineCommand({
  meta: { name: "uninstall", description: "Remove the git hook and put back the one that was there" },
  run() {
    const target = hookTarget(findWorktree(process.cwd()));
    if (target.kind === "lefthook") {
      // Never edit the user's lefthook config; say where our line is, if it is there.
      const state = hookState(target, currentRuntime());
      if (state.installed) print(`lefthook runs the git hooks here; remove the shards post-checkout line from your lefthook config\n`);
      else print("no shards hook installed\n");
      return;
    }
    const outcome = uninstallHook(target);
    const name = basename(target.file);
    switch (outcome) {
      case "removed":
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
