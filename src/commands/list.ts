import { defineCommand } from "citty";
import { type Allocation, namedPorts } from "../core/records.ts";
import { loadConfig } from "../edges/config.ts";
import { listeningPorts } from "../edges/ports.ts";
import { readRecords } from "../edges/registry.ts";
import { type Worktree, findWorktree, present, staleTest } from "../edges/worktree.ts";
import { listWorktrees } from "../edges/git.ts";
import { ShardsError } from "../errors.ts";
import { print, printJson } from "../output.ts";
import { jsonArg } from "./_shared.ts";

interface Row {
  path: string;
  branch: string | null;
  repo: string;
  start: number | null;
  end: number | null;
  count: number | null;
  ports: Record<string, number>;
  state: "ok" | "stale" | "none";
  listening: number[];
}

/** What every row needs to know about the machine now. */
interface Now {
  listening: Set<number>;
  isStale: (r: Allocation) => boolean;
}

function rowOf(r: Allocation, { listening, isStale }: Now): Row {
  const inRange = [...listening].filter((p) => p >= r.start && p <= r.end).sort((a, b) => a - b);
  const { repo, start, end, count } = r;
  const { path, branch } = present(r);
  return { path, branch, repo, start, end, count, ports: namedPorts(r, r.names), state: isStale(r) ? "stale" : "ok", listening: inRange };
}

/** This repository's worktrees from git, with or without a range, then its stale records. */
function repoRows(here: Worktree, records: Allocation[], now: Now): Row[] {
  const rows: Row[] = [];
  const shown = new Set<Allocation>();
  for (const w of listWorktrees(here.root)) {
    if (w.bare) continue;
    let gitDir: string | null = null;
    try {
      gitDir = findWorktree(w.path).gitDir;
    } catch {
      // A worktree git still lists but whose directory is gone (`git worktree prune` drops
      // it): shown only when a record names it, as stale.
    }
    const record = records.find((r) => (gitDir ? r.gitDir === gitDir : r.path === w.path));
    if (record) {
      shown.add(record);
      rows.push(rowOf(record, now));
    } else if (gitDir) {
      rows.push({ path: w.path, branch: w.branch, repo: here.repo, start: null, end: null, count: null, ports: {}, state: "none", listening: [] });
    }
  }
  for (const r of records) if (r.repo === here.repo && !shown.has(r)) rows.push(rowOf(r, now));
  return rows;
}

function listeningCell(row: Row): string {
  const names = Object.entries(row.ports);
  return row.listening.map((p) => [p, ...names.filter(([, port]) => port === p).map(([n]) => n)].join(" ")).join(", ");
}

function table(rows: Row[]): string {
  const cells = rows.map((r) => [
    r.branch ?? "(detached)",
    r.start === null ? "-" : `${r.start}-${r.end}`,
    r.path,
    r.state,
    listeningCell(r),
  ]);
  const head = ["BRANCH", "PORTS", "PATH", "STATE", "LISTENING"];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return [head, ...cells].map((c) => c.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd()).join("\n") + "\n";
}

export default defineCommand({
  meta: { name: "list", description: "Show this repository's worktrees and their ports" },
  args: {
    all: { type: "boolean", description: "Every allocation on this machine, in all repositories" },
    json: jsonArg,
  },
  async run({ args }) {
    const records = readRecords();
    const now: Now = { listening: listeningPorts(), isStale: staleTest() };
    let here: Worktree | null = null;
    try {
      here = findWorktree(process.cwd());
    } catch (error) {
      if (!args.all) throw new ShardsError(`${(error as Error).message}; or use shards list --all`);
    }
    // A bad config stops every command in that worktree.
    if (here) await loadConfig(here);
    const rows = here ? repoRows(here, records, now) : [];
    if (args.all) {
      const shown = new Set(rows.map((r) => r.path));
      for (const r of records) if (!shown.has(r.path)) rows.push(rowOf(r, now));
    }
    if (args.json) printJson(rows);
    else if (rows.length === 0) print("no allocations\n");
    else print(table(rows));
  },
});
