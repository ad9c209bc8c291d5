import { defineCommand } from "citty";
import { ENV_FORMATS, type EnvFormat, renderEnv } from "../core/env.ts";
import { ensureAllocation, envOf, findAllocation } from "../flows.ts";
import { print } from "../output.ts";
import { pathArg, worktreeAndConfig } from "./_shared.ts";

export default defineCommand({
  meta: { name: "env", description: "Print the worktree's port variables" },
  args: {
    path: pathArg,
    format: { type: "enum", options: [...ENV_FORMATS], default: "sh", description: "Output format" },
    allocate: {
      type: "boolean",
      default: true,
      description: "Allocate a range on first access",
      negativeDescription: "Print an empty environment for a worktree without a range",
    },
  },
  async run({ args }) {
    const { wt, config } = await worktreeAndConfig(args.path);
    const format = args.format as EnvFormat;
    if (args.allocate) return void print(renderEnv((await ensureAllocation(wt, config)).env, format));
    const record = findAllocation(wt.gitDir);
    print(renderEnv(record ? envOf(record, config, wt.root) : {}, format));
  },
});
