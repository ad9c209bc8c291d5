import { defineCommand } from "citty";
import { parseCount } from "../edges/config.ts";
import { print, printJson } from "../output.ts";
import {
  allocateCounted,
  allocationJson,
  countArg,
  jsonArg,
  pathArg,
  rangeLine,
  worktreeAndConfig,
} from "./_shared.ts";

export default defineCommand({
  meta: { name: "allocate", description: "Give the worktree a port range (or print the one it has)" },
  args: { path: pathArg, count: countArg, json: jsonArg },
  async run({ args }) {
    const { wt, config } = await worktreeAndConfig(args.path);
    const shard = await allocateCounted(wt, config, parseCount(args.count, config));
    if (args.json) printJson(allocationJson(shard));
    else print(`${rangeLine(shard.record)}\n`);
  },
});
