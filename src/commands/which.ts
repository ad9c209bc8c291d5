import { defineCommand } from "citty";
import { portName } from "../core/records.ts";
import { holders, listeners, runsIn, splitPorts } from "../edges/ports.ts";
import { readRecords } from "../edges/registry.ts";
import { present } from "../edges/worktree.ts";
import { ShardsError } from "../errors.ts";
import { print, printJson } from "../output.ts";
import { jsonArg, label } from "./_shared.ts";

function parsePort(raw: string): number {
  const port = /^[0-9]{1,5}$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(port >= 1 && port <= 65535))
    throw new ShardsError(`invalid port ${JSON.stringify(raw)}: give a number from 1 to 65535`);
  return port;
}

export default defineCommand({
  meta: { name: "which", description: "Who holds a port: its worktree, and what listens on it now" },
  args: { port: { type: "positional", required: true, description: "A TCP port" }, json: jsonArg },
  async run({ args }) {
    const port = parsePort(String(args.port));
    const record = readRecords().find((r) => port >= r.start && port <= r.end);
    const name = record ? portName(record, port) : null;
    const here = record ? present(record) : null;
    const found = listeners({ owners: true }).filter((l) => l.port === port);
    const holder = found.find((l) => l.pid !== null) ?? found[0];
    const from = holder ? runsIn(holder) : null;
    const split = splitPorts(found).length > 0;
    const result = {
      port,
      owner: here ? { path: here.path, branch: here.branch, name } : null,
      listening: found.length > 0,
      pid: holder?.pid ?? null,
      command: holder?.command ?? null,
      from,
      split,
    };
    if (args.json) return printJson(result);
    const owner =
      record && here
        ? `${port} is in ${label(here)}'s range ${record.start}-${record.end}${name ? ` (${name})` : ""}: ${here.path}`
        : `${port} is in no shards range`;
    const listening = !result.listening
      ? "nothing listens on it"
      : result.pid === null
        ? "something listens on it (process not visible to this user)"
        : `listening: pid ${result.pid} (${result.command ?? "unknown"})${from ? `, running in ${from}` : ""}`;
    const notes: string[] = [];
    if (here && from && from !== here.path)
      notes.push(
        `intruder: it runs from another worktree (${from}); stop it and start it again in ${from} on that worktree's own ports (\`shards exec\`)`,
      );
    if (split) notes.push(`split: ${await holders(found)}; localhost reaches one or the other`);
    print([owner, listening, ...notes].map((line) => `${line}\n`).join(""));
  },
});
