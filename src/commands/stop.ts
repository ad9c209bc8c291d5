import { defineCommand } from "citty";
import { formatRange } from "../core/records.ts";
import { stopLine, stopServers } from "../edges/ports.ts";
import { findAllocation } from "../flows.ts";
import { print, printJson } from "../output.ts";
import { jsonArg, label, pathArg, worktreeAndConfig } from "./_shared.ts";

export default defineCommand({
  meta: { name: "stop", description: "Stop this worktree's servers (SIGTERM, then SIGKILL after 5 s)" },
  args: {
    path: pathArg,
    "dry-run": { type: "boolean", description: "Only say what would be stopped" },
    json: jsonArg,
  },
  async run({ args }) {
    const { wt } = await worktreeAndConfig(args.path);
    const record = findAllocation(wt.gitDir);
    const results = record ? await stopServers(wt.root, record, { dryRun: Boolean(args["dry-run"]) }) : [];
    if (args.json) return printJson(results);
    if (!record) return void print(`${label({ branch: wt.branch, path: wt.root })} has no ports: nothing to stop\n`);
    if (results.length === 0) return void print(`nothing listens on ports ${formatRange(record)}\n`);
    print(results.map(stopLine).join(""));
  },
});
