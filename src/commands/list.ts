import { basename, dirname } from "node:path";
import { defineCommand } from "citty";
import { type Allocation, firstIndex, namedPorts, recordOf } from "../core/records.ts";
import { loadConfig } from "../edges/config.ts";
import { listWorktrees } from "../edges/git.ts";
import { type Intruder, intruders, type Listener, listeners, runsInOnce, splitPorts } from "../edges/ports.ts";
import { readRecords } from "../edges/registry.ts";
import { findWorktree, type RecordNow, recordsNow, type Worktree } from "../edges/worktree.ts";
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
  listening: readonly number[];
  intruders: readonly Intruder[];
  split: readonly number[];
}

/** What every row needs to know about the machine now. */
interface Now {
  /** Sorted by port, as `listeners` returns them. */
  live: Listener[];
  split: number[];
  present: (r: Allocation) => RecordNow;
  worktreeOf: (l: Listener) => string | null;
}

/** The listeners now, with owners only for ports inside some range: the /proc walk costs, and only those show. */
function machineNow(records: Allocation[]): Now {
  const live = listeners({ owners: inSomeRange(records) });
  return { live, split: splitPorts(live), present: recordsNow(), worktreeOf: runsInOnce() };
}

/**
 * Is a port inside some record's range: the ranges merged into disjoint intervals, sorted,
 * and searched by halves (not every record scanned for every listening socket).
 */
function inSomeRange(records: Allocation[]): (port: number) => boolean {
  // start * 65536 + end sorts by start in one native sort, no comparator called.
  const keys = new Float64Array(records.length);
  for (let i = 0; i < records.length; i++) keys[i] = records[i]!.start * 65536 + records[i]!.end;
  keys.sort();
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const start = Math.floor(key / 65536);
    const end = key % 65536;
    const last = ends.length - 1;
    if (last >= 0 && start <= ends[last]!) ends[last] = Math.max(ends[last]!, end);
    else {
      starts.push(start);
      ends.push(end);
    }
  }
  return (port) => {
    // The last interval that starts at or before the port.
    const i = firstIndex(starts.length, (k) => starts[k]! > port) - 1;
    return i >= 0 && port <= ends[i]!;
  };
}

/** The listeners on the ports of `r`, found by halves in the port-sorted list: most ranges have none. */
function listenersIn(live: Listener[], r: Allocation): Listener[] {
  const from = firstIndex(live.length, (i) => live[i]!.port >= r.start);
  let end = from;
  while (end < live.length && live[end]!.port <= r.end) end++;
  return from === end ? NONE : live.slice(from, end);
}

const NONE: Listener[] = [];

// Shared by the rows that have none (most of a thousand): nothing changes a row once made.
const NO_PORTS: readonly number[] = [];
const NO_INTRUDERS: readonly Intruder[] = [];

function rowOf(r: Allocation, { live, split, present, worktreeOf }: Now): Row {
  const { repo, start, end, count } = r;
  const { path, branch, stale } = present(r);
  const here = listenersIn(live, r);
  const quiet = here.length === 0;
  return {
    path,
    branch,
    repo,
    name: r.name ?? null,
    start,
    end,
    count,
    ports: r.names.length === 0 ? {} : namedPorts(r, r.names),
    state: stale ? "stale" : "ok",
    listening: quiet ? NO_PORTS : [...new Set(here.map((l) => l.port))],
    intruders: quiet ? NO_INTRUDERS : intruders(r, path, here, worktreeOf),
    split: quiet ? NO_PORTS : split.filter((p) => p >= start && p <= end),
  };
}

/** This repository's worktrees from git, with or without a range, then its stale records; each record's in `shown`. */
function repoRows(here: Worktree, records: Allocation[], now: Now, shown: Set<Allocation>): Row[] {
  const rows: Row[] = [];
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
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    if (r.repo !== here.repo || shown.has(r)) continue;
    shown.add(r);
    rows.push(rowOf(r, now));
  }
  return rows;
}

/** `3010 web, 3011 (intruder: pid 42 node x.js, from /src/feature), 3012 (split: two processes)`. */
function listeningCell(row: Row): string {
  if (row.listening.length === 0) return ""; // most rows: no need to look at names and notes
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

const HEAD = ["REPO", "BRANCH", "PORTS", "PATH", "STATE", "LISTENING"];

/**
 * With `withRepo` (--all), a first column names each row's repository by its directory.
 * Built as one string, column by column, with no array or padded copy per cell: `list --all`
 * prints a line for each of a thousand records.
 */
function table(rows: Row[], withRepo: boolean): string {
  const repoNames = new Map<string, string>();
  const repoOf = (repo: string) => {
    let name = repoNames.get(repo);
    if (name === undefined) {
      name = repoName(repo);
      repoNames.set(repo, name);
    }
    return name;
  };
  const head = withRepo ? HEAD : HEAD.slice(1);
  // Column by column, with indexed loops: in code this cold, for-of builds an object a step.
  const columns: string[][] = head.map((h) => [h]);
  const cell = withRepo ? 1 : 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    if (withRepo) columns[0]!.push(repoOf(r.repo));
    columns[cell]!.push(r.branch ?? "(detached)");
    columns[cell + 1]!.push(r.start === null ? "-" : `${r.start}-${r.end}`);
    columns[cell + 2]!.push(r.path);
    columns[cell + 3]!.push(r.state);
    columns[cell + 4]!.push(listeningCell(r));
  }
  const widths = columns.map(widest);
  let text = "";
  for (let i = 0; i <= rows.length; i++) text += `${line(columns, widths, i)}\n`;
  return text;
}

function widest(column: string[]): number {
  let width = 0;
  for (let i = 0; i < column.length; i++) width = Math.max(width, column[i]!.length);
  return width;
}

/** Line `i`: its cells padded to their column's width, two spaces apart, no space at the end. */
function line(columns: string[][], widths: number[], i: number): string {
  let last = columns.length - 1;
  while (last > 0 && columns[last]![i] === "") last--;
  let text = "";
  for (let c = 0; c < last; c++) text += columns[c]![i] + spaces(widths[c]! - columns[c]![i]!.length + 2);
  const end = columns[last]![i]!;
  // Asked of the cell, not of the line: a regular expression would flatten the line's pieces.
  return /\s$/.test(end) ? (text + end).trimEnd() : text + end;
}

const padding: string[] = [];

function spaces(n: number): string {
  padding[n] ??= " ".repeat(n);
  return padding[n];
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
    // Told apart by record, not by path: a worktree moved since its record was written has a new one.
    const shown = new Set<Allocation>();
    const rows = here ? repoRows(here, records, machine, shown) : [];
    if (args.all)
      for (let i = 0; i < records.length; i++) if (!shown.has(records[i]!)) rows.push(rowOf(records[i]!, machine));
    if (args.json) printJson(rows);
    else if (rows.length === 0) print("no allocations\n");
    else print(table(rows, Boolean(args.all)));
  },
});
