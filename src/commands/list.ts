import { basename, dirname } from "node:path";
import { defineCommand } from "citty";
import { type Allocation, namedPorts, recordOf } from "../core/records.ts";
import { loadConfig } from "../edges/config.ts";
import { listWorktrees } from "../edges/git.ts";
import { type Intruder, intruders, type Listener, listeners, splitPorts } from "../edges/ports.ts";
import { readRecords } from "../edges/registry.ts";
import { findWorktree, recordsNow, type Worktree } from "../edges/worktree.ts";
import { NotAWorktreeError, ShardsError } from "../errors.ts";
import { print, printJson } from "../output.ts";
import { jsonArg } from "./_shared.ts";

interface Row {
  path: string;
  branch: string | null;
  repo: string;
  /** SHARD_NAME: null for a worktree with no range. */
  name: string | null;
  start: number | null;
  end: number | null;
  count: number | null;
  ports: Record<string, number>;
  state: "ok" | "stale" | "none";
  listening: number[];
  intruders: Intruder[];
  split: number[];
}

/** What every row needs to know about the machine now. */
interface Now {
  live: Listener[];
  split: number[];
  isStale: (r: Allocation) => boolean;
  present: (r: Allocation) => { path: string; branch: string | null };
}

/** The listeners now, with owners only for ports inside some range: the /proc walk costs, and only those show. */
function machineNow(records: Allocation[]): Now {
  const live = listeners({ owners: (port) => records.some((r) => port >= r.start && port <= r.end) });
  return { live, split: splitPorts(live), ...recordsNow() };
}

function rowOf(r: Allocation, { live, split, isStale, present }: Now): Row {
  const inRange = (p: number) => p >= r.start && p <= r.end;
  const listening = [...new Set(live.map((l) => l.port).filter(inRange))];
  const { repo, start, end, count } = r;
  const { path, branch } = present(r);
  return {
    path,
    branch,
    repo,
    name: r.name ?? null,
    start,
    end,
    count,
    ports: namedPorts(r, r.names),
    state: isStale(r) ? "stale" : "ok",
    listening,
    intruders: intruders(r, path, live),
    split: split.filter(inRange),
  };
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
    const record = records.find(recordOf(gitDir, w.path));
    if (record) {
      shown.add(record);
      rows.push(rowOf(record, now));
    } else if (gitDir) {
      const none = { name: null, start: null, end: null, count: null, ports: {}, state: "none" as const };
      rows.push({ path: w.path, branch: w.branch, repo: here.repo, ...none, listening: [], intruders: [], split: [] });
    }
  }
  for (const r of records) if (r.repo === here.repo && !shown.has(r)) rows.push(rowOf(r, now));
  return rows;
}

/** `3010 web, 3011 (intruder: pid 42 node x.js, from /src/feature), 3012 (split: two processes)`. */
function listeningCell(row: Row): string {
  const names = Object.entries(row.ports);
  return row.listening
    .map((p) => {
      const notes = row.intruders
        .filter((i) => i.port === p)
        .map((i) => `intruder: pid ${i.pid}${i.command ? ` ${i.command}` : ""}, from ${i.from}`);
      if (row.split.includes(p)) notes.push("split: two processes on IPv4 and IPv6");
      const named = names.filter(([, port]) => port === p).map(([n]) => n);
      return [p, ...named, ...notes.map((n) => `(${n})`)].join(" ");
    })
    .join(", ");
}

/** A repository's directory name; the `.bare` layout's is its parent's (`proj/.bare` is proj). */
function repoName(repo: string): string {
  const name = basename(repo);
  return name.startsWith(".") ? basename(dirname(repo)) : name;
}

/** With `withRepo` (--all), a first column names each row's repository by its directory. */
function table(rows: Row[], withRepo: boolean): string {
  const cells = rows.map((r) => [
    ...(withRepo ? [repoName(r.repo)] : []),
    r.branch ?? "(detached)",
    r.start === null ? "-" : `${r.start}-${r.end}`,
    r.path,
    r.state,
    listeningCell(r),
  ]);
  const head = [...(withRepo ? ["REPO"] : []), "BRANCH", "PORTS", "PATH", "STATE", "LISTENING"];
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  return `${[head, ...cells]
    .map((c) =>
      c
        .map((v, i) => v.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

export default defineCommand({
  meta: { name: "list", description: "Show this repository's worktrees and their ports" },
  args: {
    all: { type: "boolean", description: "Every allocation on this machine, in all repositories" },
    json: jsonArg,
  },
  async run({ args }) {
    const records = readRecords();
    const machine = machineNow(records);
    let here: Worktree | null = null;
    try {
      here = findWorktree(process.cwd());
    } catch (error) {
      // --all needs no worktree. Outside one, it is the way out; a broken .git is its own line.
      if (!args.all && error instanceof NotAWorktreeError)
        throw new ShardsError(`${error.message}; or use shards list --all`);
      if (!args.all) throw error;
    }
    // A bad config stops every command in that worktree.
    if (here) await loadConfig(here);
    const rows = here ? repoRows(here, records, machine) : [];
    if (args.all) {
      const shown = new Set(rows.map((r) => r.path));
      for (const r of records) if (!shown.has(r.path)) rows.push(rowOf(r, machine));
    }
    if (args.json) printJson(rows);
    else if (rows.length === 0) print("no allocations\n");
    else print(table(rows, Boolean(args.all)));
  },
});
