// Faults caused for real in real shards processes: strace injections (a stall, a stop, a
// kill at one system call), and polling for what a process is doing meanwhile.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { CLI, type RunResult, type Sandbox } from "./_helpers.ts";

/** Every strace and tracee started and not yet ended: see `killLeftovers`. */
const leftovers = new Set<number>();

/**
 * A test that fails half-way leaves its tracee stopped (SIGSTOP at a syscall), and the run
 * would wait for it forever: files that use `straced` kill what is left after each test.
 */
export function killLeftovers(): void {
  for (const pid of leftovers) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  leftovers.clear();
}

export interface Traced {
  /** The strace process; the shards process is its child. */
  strace: ChildProcess;
  done: Promise<RunResult>;
}

/**
 * Runs `shards <args>` under strace. `inject` are strace -e inject= specs (e.g.
 * "fsync:delay_enter=3000000:when=1", "fsync:signal=SIGSTOP"); `extra` are more strace options.
 */
export function straced(sb: Sandbox, cwd: string, args: string[], inject: string[], extra: string[] = []): Traced {
  const syscalls = [...new Set(inject.map((spec) => spec.split(":")[0]))].join(",");
  const injections = inject.flatMap((spec) => ["-e", `inject=${spec}`]);
  const options = ["-f", "-qq", ...extra, "-e", `trace=${syscalls}`, ...injections];
  if (!extra.includes("-o")) options.unshift("-o", "/dev/null");
  const strace = spawn("strace", [...options, process.execPath, CLI, ...args], { cwd, env: sb.env });
  leftovers.add(strace.pid!);
  let stdout = "";
  let stderr = "";
  strace.stdout!.on("data", (d) => (stdout += d));
  strace.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<RunResult>((resolve) =>
    strace.on("close", (status, signal) => {
      leftovers.delete(strace.pid!);
      resolve({ status, signal, stdout, stderr });
    }),
  );
  return { strace, done };
}

/**
 * The pid of the shards process that strace runs: its child whose command line is ours (strace
 * first forks short-lived children of its own to test ptrace, so the first child may not be it).
 */
export async function tracee(traced: Traced): Promise<number> {
  const pid = traced.strace.pid!;
  // Node running our CLI, not a child that still has strace's own command line (which names
  // the CLI too): strace may fork one that never becomes shards, and that pid goes away.
  const isShards = (child: string) => {
    try {
      const [program, script] = readFileSync(`/proc/${child}/cmdline`, "utf8").split("\0");
      return program === process.execPath && script === CLI;
    } catch {
      return false;
    }
  };
  let child = "";
  await waitFor(() => {
    const children = existsSync(`/proc/${pid}`) ? readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8") : "";
    child = children.trim().split(" ").find(isShards) ?? "";
    return child !== "";
  }, "strace to start shards");
  const shardsPid = Number(child);
  leftovers.add(shardsPid);
  return shardsPid;
}

/** Polls `condition` until it holds; fails after `ms` (generous: the machine is shared). */
export async function waitFor(condition: () => boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

/** True once some process is writing the registry: its temp file is there. */
export function writingRegistry(sb: Sandbox, pid?: number): boolean {
  if (!existsSync(sb.shardsHome)) return false;
  const temp = new RegExp(`^registry\\.json\\.${pid ?? "\\d+"}\\.\\d+\\.tmp$`);
  return readdirSync(sb.shardsHome).some((name) => temp.test(name));
}

/** A shards process that took the lock and was killed with SIGKILL inside it (at its registry fsync); its pid. */
export async function killedInsideLock(sb: Sandbox, cwd: string): Promise<number> {
  const r = await straced(sb, cwd, ["allocate"], ["fsync:signal=SIGKILL"]).done;
  if (r.signal === null && r.status === 0) throw new Error("the holder was not killed");
  // It died writing: its temp file, named with its pid, is left.
  const temp = readdirSync(sb.shardsHome).find((name) => /^registry\.json\.\d+\.\d+\.tmp$/.test(name));
  if (!temp) throw new Error("the holder died before it wrote");
  return Number(temp.split(".")[2]);
}

/** True while `pid` is stopped (by a signal, or by strace holding it). */
export function stopped(pid: number): boolean {
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  return /^[tT]$/.test(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

interface Range {
  start: number;
  end: number;
  count: number;
}

/** The range a shards.env exports (read as data, the way the shells do), or null. */
function exported(gitDir: string): Range | null {
  const file = join(gitDir, "shards.env");
  if (!existsSync(file)) return null;
  const vars = Object.fromEntries(
    readFileSync(file, "utf8")
      .split("\n")
      .map((line) => line.split("=")),
  );
  const [start, end] = ["START", "END"].map((k) => Number(vars[`SHARD_PORT_RANGE_${k}`]));
  return { start, end, count: Number(vars.SHARD_PORT_COUNT) };
}

/**
 * What must hold after any fault: the registry parses, every worktree's shards.env equals
 * its record, and no two worktrees export one port. Returns the records.
 */
export function assertCoherent(sb: Sandbox, gitDirs: string[]): (Range & { gitDir: string })[] {
  const records: (Range & { gitDir: string })[] = JSON.parse(readFileSync(sb.registry, "utf8")).allocations;
  const exports: (Range & { gitDir: string })[] = [];
  for (const gitDir of gitDirs) {
    const range = exported(gitDir);
    if (!range) continue;
    const record = records.find((r) => r.gitDir === gitDir);
    assert.ok(record, `${gitDir}/shards.env exports ${range.start}-${range.end} without a record`);
    assert.equal(range, { start: record!.start, end: record!.end, count: record!.count }, `${gitDir}/shards.env`);
    exports.push({ gitDir, ...range });
  }
  for (const [i, a] of exports.entries())
    for (const b of exports.slice(i + 1))
      assert.ok(a.end < b.start || b.end < a.start, `${a.gitDir} and ${b.gitDir} both export ${b.start}`);
  for (const [i, a] of records.entries())
    for (const b of records.slice(i + 1))
      assert.ok(a.end < b.start || b.end < a.start, `records overlap at ${a.start}`);
  return records;
}
