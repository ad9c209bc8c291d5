// The registry lock under real faults (rule 9): a live holder keeps it however long it
// stalls, a dead holder's lock goes to exactly one waiter, a holder that lost it writes
// nothing, and no wait lasts more than 10 s.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  assertCoherent,
  killedInsideLock,
  killLeftovers,
  sleep,
  stopped,
  straced,
  tracee,
  waitFor,
  writingRegistry,
} from "./_faults.ts";
import { git, repo, sandbox, shards, shardsAsync } from "./_helpers.ts";

const gitDirs = (...dirs: string[]) => dirs.map((d) => join(d, ".git"));

test.after.each(killLeftovers);

test("a holder stopped inside the lock for 6 s keeps it; the waiter waits and gets a range of its own", async () => {
  const sb = sandbox();
  const [a, b] = [repo(sb, "a"), repo(sb, "b")];
  const holder = straced(sb, a, ["allocate"], ["fsync:signal=SIGSTOP:when=1"]);
  const pid = await tracee(holder);
  await waitFor(() => stopped(pid) && writingRegistry(sb, pid), "the holder to stop at its registry fsync");
  const waiter = shardsAsync(sb, b, ["allocate"]);
  await sleep(6000);
  process.kill(pid, "SIGCONT");
  const [h, w] = await Promise.all([holder.done, waiter]);
  assert.is(h.status, 0, h.stderr);
  assert.is(w.status, 0, w.stderr);
  assert.is(assertCoherent(sb, gitDirs(a, b)).length, 2);
});

test("a holder on a slow disk whose lock looks an hour old (a clock step) keeps it", async () => {
  const sb = sandbox();
  const [a, b] = [repo(sb, "a"), repo(sb, "b")];
  const holder = straced(sb, a, ["allocate"], ["fsync:delay_enter=4000000:when=1"]);
  await waitFor(() => writingRegistry(sb), "the holder to write");
  const old = new Date(Date.now() - 3600_000);
  utimesSync(`${sb.registry}.lock`, old, old);
  const [h, w] = await Promise.all([holder.done, shardsAsync(sb, b, ["allocate"])]);
  assert.is(h.status, 0, h.stderr);
  assert.is(w.status, 0, w.stderr);
  assert.is(assertCoherent(sb, gitDirs(a, b)).length, 2);
});

test("a dead holder's lock goes to one waiter only, even when another is delayed inside its takeover", async () => {
  const sb = sandbox();
  const [dead, w1, w2, w3] = ["dead", "w1", "w2", "w3"].map((n) => repo(sb, n));
  await killedInsideLock(sb, dead);
  const lock = `${sb.registry}.lock`;
  // Looking old as well, so that a takeover by age would also start at once.
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old);
  // Every call of the first waiter that moves or removes the dead holder's lock is delayed:
  // its takeover step stalls, with the lock judged dead.
  const log = join(sb.dir, "w1.strace");
  let deadLock: string[];
  try {
    deadLock = readdirSync(lock).map((name) => join(lock, name));
  } catch {
    deadLock = [lock];
  }
  const first = straced(
    sb,
    w1,
    ["allocate"],
    ["rename:delay_enter=4000000", "link:delay_enter=4000000", "unlink:delay_enter=4000000"],
    ["-o", log, ...deadLock.flatMap((p) => ["-P", p])],
  );
  const inTakeover = () => /\b(rename|link|unlink)\([^\n]*$/.test(readText(log));
  await waitFor(inTakeover, "the first waiter to stall in its takeover");
  // Meanwhile a second waiter takes the lock over and stalls while it writes.
  const second = straced(sb, w2, ["allocate"], ["fsync:delay_enter=5000000:when=1"]);
  await waitFor(() => writingRegistry(sb), "the second waiter to hold the lock");
  // The first waiter's takeover goes on; a third process comes while it does.
  await waitFor(() => readText(log).includes("(DELAYED)"), "the first waiter's takeover to go on");
  await sleep(300);
  const third = shardsAsync(sb, w3, ["allocate"]);
  const results = await Promise.all([first.done, second.done, third]);
  for (const r of results) assert.is(r.status, 0, r.stderr);
  assert.is(assertCoherent(sb, gitDirs(w1, w2, w3)).length, 3);
});

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

test("a holder whose lock was taken while it was stopped writes nothing, and retries from a fresh read", async () => {
  const sb = sandbox();
  const [a, b] = [repo(sb, "a"), repo(sb, "b")];
  const holder = straced(sb, a, ["allocate"], ["fsync:signal=SIGSTOP:when=1"]);
  const pid = await tracee(holder);
  await waitFor(() => stopped(pid) && writingRegistry(sb, pid), "the holder to stop at its registry fsync");
  // Its lock goes away (removed by hand, or taken by an older shards that judged it by age).
  rmSync(`${sb.registry}.lock`, { recursive: true, force: true });
  assert.is(shards(sb, b, ["allocate"]).status, 0);
  process.kill(pid, "SIGCONT");
  const h = await holder.done;
  assert.is(h.status, 0, h.stderr);
  assert.is(assertCoherent(sb, gitDirs(a, b)).length, 2);
});

test("past 10 s a waiter gives up with one line naming the lock and its holder; the hook lets git finish", async () => {
  const sb = sandbox();
  const [a, b, c] = ["a", "b", "c"].map((n) => repo(sb, n));
  assert.is(shards(sb, b, ["install"]).status, 0);
  const holder = straced(sb, a, ["allocate"], ["fsync:signal=SIGSTOP:when=1"]);
  const pid = await tracee(holder);
  try {
    await waitFor(() => stopped(pid) && writingRegistry(sb, pid), "the holder to stop at its registry fsync");
    const timed = async <T>(run: () => Promise<T>) => {
      const started = Date.now();
      const result = await run();
      return { result, ms: Date.now() - started };
    };
    const [command, hook] = await Promise.all([
      timed(() => shardsAsync(sb, c, ["allocate"])),
      timed(
        () =>
          new Promise<{ status: number | null; stderr: string }>((done) => {
            const child = spawn("git", ["worktree", "add", "-q", "-b", "feat", join(sb.dir, "b-feat")], {
              cwd: b,
              env: sb.env,
            });
            let stderr = "";
            child.stderr.on("data", (d) => (stderr += d));
            child.on("close", (status) => done({ status, stderr }));
          }),
      ),
    ]);
    const lock = `${sb.registry}.lock`;
    assert.is(command.result.status, 1);
    assert.is(command.result.stderr.trim().split("\n").length, 1, command.result.stderr);
    assert.ok(command.result.stderr.includes(lock), command.result.stderr);
    assert.match(command.result.stderr, `pid ${pid}`);
    assert.ok(command.ms < 11_000, `the command waited ${command.ms} ms`);
    assert.is(hook.result.status, 0, hook.result.stderr);
    assert.match(hook.result.stderr, /^shards: warning: no ports allocated: .*pid \d+/m);
    assert.ok(hook.ms < 11_000, `git worktree add waited ${hook.ms} ms`);
    assert.ok(git(sb, b, "worktree", "list").includes("b-feat"));
  } finally {
    process.kill(pid, "SIGKILL");
    await holder.done;
  }
});

test("a dead holder's lock with a future mtime (the clock was set back) does not block", async () => {
  const sb = sandbox();
  const [dead, b] = [repo(sb, "dead"), repo(sb, "b")];
  await killedInsideLock(sb, dead);
  const future = new Date(Date.now() + 3600_000);
  utimesSync(`${sb.registry}.lock`, future, future);
  const started = Date.now();
  const r = shards(sb, b, ["allocate"]);
  assert.is(r.status, 0, r.stderr);
  assert.ok(Date.now() - started < 5000, `waited ${Date.now() - started} ms`);
});

test.run();
