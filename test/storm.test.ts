// The promise under a storm of faults (issue 12, "Done when"): 30 allocations at once over
// three repositories, while processes are stopped (SIGSTOP) and continued at random, and
// again while they are killed with SIGKILL at random moments. Afterwards the registry parses,
// every worktree's shards.env equals its record, and no two worktrees export one port.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { assertCoherent, killLeftovers, sleep, stopped, straced, tracee, waitFor, writingRegistry } from "./_faults.ts";
import { CLI, git, repo, type Sandbox, sandbox, shardsAsync } from "./_helpers.ts";

interface Outcome {
  status: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

function start(sb: Sandbox, cwd: string): { child: ChildProcess; done: Promise<Outcome> } {
  const child = spawn(process.execPath, [CLI, "allocate"], { cwd, env: sb.env, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  const done = new Promise<Outcome>((resolve) =>
    child.on("close", (status, signal) => resolve({ status, signal, stderr })),
  );
  return { child, done };
}

/** A process that was not killed either got its range or said in one line who holds the lock. */
function assertEndedWell(outcomes: Outcome[]): void {
  for (const o of outcomes) {
    if (o.signal === "SIGKILL") continue;
    if (o.status === 0) continue;
    assert.is(o.stderr.trim().split("\n").length, 1, o.stderr);
    assert.match(o.stderr, /is locked by pid \d+ \(lock /);
  }
}

test.after.each(killLeftovers);

test("30 parallel allocations over three repos, under a SIGSTOP storm and then a kill -9 storm", async () => {
  const sb = sandbox();
  const worktrees = ["alpha", "beta", "gamma"].flatMap((name) => {
    const main = repo(sb, name);
    return Array.from({ length: 10 }, (_, i) => {
      const dir = join(sb.dir, `${name}-${i}`);
      git(sb, main, "worktree", "add", "-q", "-b", `b${i}`, dir);
      return dir;
    });
  });
  const gitDirs = worktrees.map((dir) => git(sb, dir, "rev-parse", "--absolute-git-dir").trim());

  // The SIGSTOP storm: one of them is stopped inside the lock (at its registry fsync) for 6 s,
  // longer than a lock judged by its age would last; the others start meanwhile, and each
  // is stopped, maybe twice, for up to 2 s, holding the lock or waiting for it.
  const holder = straced(sb, worktrees[0], ["allocate"], ["fsync:signal=SIGSTOP:when=1"]);
  const pid = await tracee(holder);
  await waitFor(() => stopped(pid) && writingRegistry(sb, pid), "the first to stop inside the lock");
  setTimeout(() => process.kill(pid, "SIGCONT"), 6000);
  const stalled = worktrees.slice(1).map(async (dir) => {
    const run = start(sb, dir);
    for (let stops = Math.floor(Math.random() * 3); stops > 0 && run.child.exitCode === null; stops--) {
      await sleep(Math.random() * 400);
      run.child.kill("SIGSTOP");
      await sleep(200 + Math.random() * 1800);
      run.child.kill("SIGCONT");
    }
    return run.done;
  });
  assertEndedWell(await Promise.all([holder.done, ...stalled]));
  assertCoherent(sb, gitDirs);

  // The kill -9 storm: half of them (a new allocation or a repeated one) are killed, at any
  // moment from start-up to the write.
  const killed = worktrees.map((dir) => {
    const run = start(sb, dir);
    if (Math.random() < 0.5) setTimeout(() => run.child.kill("SIGKILL"), 50 + Math.random() * 800);
    return run.done;
  });
  assertEndedWell(await Promise.all(killed));
  assertCoherent(sb, gitDirs);

  // With the faults over, every worktree gets a range of its own, its shards.env that range.
  const calm = await Promise.all(worktrees.map((dir) => shardsAsync(sb, dir, ["allocate"])));
  for (const r of calm) assert.is(r.status, 0, r.stderr);
  const records = assertCoherent(sb, gitDirs);
  assert.is(records.length, 30);
  assert.equal(
    gitDirs.filter((g) => !records.some((r) => r.gitDir === g)),
    [],
  );
});

test.run();
