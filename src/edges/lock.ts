// The registry's inter-process lock, for the processes of one host (a pid names a process
// on this host only: a registry on a network filesystem shared by several hosts is not
// supported).
//
// The lock is a directory (`registry.json.lock`) holding one entry that names its holder:
// `<pid>-<start time>-<nonce>`. A process takes it by renaming a directory it prepared,
// entry inside, onto that name: rename succeeds where nothing or an empty directory is and
// fails on a directory with an entry, so one process wins. The lock is never taken from a
// holder that is alive, however long it stalls: a waiter looks the holder's pid up, with
// its start time so that a reused pid is not mistaken for it. A dead holder's entry is
// removed by its own name, which only that dead process ever had; that leaves the
// directory empty, and exactly one waiter's rename gets in. A waiter delayed between
// "dead" and that removal removes nothing: the name is gone, and a new holder's has
// another. No clock plays a part (mtime, a step of the wall clock), only whether the
// holder lives. (Hand-written rather than proper-lockfile: that package judges by mtime,
// and its graceful-fs costs ~7 ms of every `git worktree add`; see bench/RESULTS.md.)
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmdirSync,
  statSync,
  unlinkSync,
} from "node:fs";
import { join } from "node:path";
import { readText } from "./files.ts";

/** The longest wait for the lock: with node's start on top, no wait lasts more than 10 s. */
export const WAIT_MS = 9000;
/** A lock file of an older shards names no holder: it is removed once it has stood unchanged this long. */
const OLD_LOCK_MS = 5000;

/**
 * A monotonic clock in ms: a step of the wall clock neither ends a wait early nor makes it
 * endless. hrtime, not `performance.now()`: the first use of that loads perf_hooks (~1.5 ms
 * of every `git worktree add`).
 */
function monotonicMs(): number {
  return Number(process.hrtime.bigint() / 1_000_000n);
}

const pause = new Int32Array(new SharedArrayBuffer(4));
/** Sleeps without spinning and without giving the event loop a turn. */
function sleep(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

export class LockTimeout extends Error {
  constructor(
    readonly lock: string,
    /** The pid that held it when the wait ended; null for a lock of an older shards. */
    readonly holder: number | null,
  ) {
    super(`${lock} is held by ${holder === null ? "an older shards" : `pid ${holder}`}`);
  }
}

/** The lock was taken from its holder (removed by hand, or by an older shards that judged it by age). */
export class LockLost extends Error {}

export interface Lock {
  /** Throws LockLost unless this process still holds the lock: called right before a commit. */
  verify(): void;
  release(): void;
}

/** A process's state letter and start time (clock ticks since boot) from /proc; null without /proc or process. */
function processStat(pid: number | "self"): { state: string; start: string } | null {
  const text = readText(`/proc/${pid}/stat`);
  if (text === null) return null;
  // The command name (field 2) is in parentheses and may hold anything: count after it.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  return { state: fields[0], start: fields[19] };
}

let ownStat: ReturnType<typeof processStat> | undefined;
function selfStat() {
  if (ownStat === undefined) ownStat = processStat("self");
  return ownStat;
}

/**
 * Whether `pid` is a live process, and (where /proc tells, `start` given) the same process
 * that recorded `start`. A zombie is dead: it holds nothing any more.
 */
export function isAlive(pid: number, start?: string): boolean {
  if (selfStat()) {
    const stat = processStat(pid);
    return stat !== null && stat.state !== "Z" && stat.state !== "X" && (start === undefined || stat.start === start);
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function parseHolder(entry: string): { pid: number; start?: string } | null {
  const match = /^(\d+)-(\d+|-)-[a-z0-9]+$/.exec(entry);
  if (!match) return null;
  return { pid: Number(match[1]), start: match[2] === "-" ? undefined : match[2] };
}

/** Renames the prepared directory onto the lock; false when another holder's is there. */
function tryTake(ready: string, lock: string): boolean {
  try {
    renameSync(ready, lock);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR") return false;
    throw error;
  }
}

function removeIfThere(path: string): void {
  try {
    unlinkSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** Waits for a lock file left by an older shards (no holder named) to stand still OLD_LOCK_MS, then removes it. */
class OldLock {
  private seen = "";
  private since = 0;

  removeWhenStill(lock: string): void {
    let key: string;
    try {
      const stat = statSync(lock);
      key = `${stat.ino}:${stat.mtimeMs}`;
    } catch {
      return;
    }
    const now = monotonicMs();
    if (key !== this.seen) [this.seen, this.since] = [key, now];
    else if (now - this.since > OLD_LOCK_MS) {
      try {
        unlinkSync(lock);
      } catch {
        // Gone already, or a directory by now (unlink never removes one): look again.
      }
    }
  }
}

/**
 * Looks at the lock another process holds: removes the entries of dead holders (each by
 * its own name) and returns the live holder's pid, null when there is none (any more).
 */
function inspect(lock: string, old: OldLock): number | null | "old" {
  let entries: string[];
  try {
    entries = readdirSync(lock);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code !== "ENOTDIR") throw error;
    old.removeWhenStill(lock);
    return "old";
  }
  let live: number | null = null;
  for (const entry of entries) {
    const holder = parseHolder(entry);
    if (holder && isAlive(holder.pid, holder.start)) live = holder.pid;
    else removeIfThere(join(lock, entry));
  }
  return live;
}

/** Takes the lock `lock` (a directory), waiting up to 9 s; throws LockTimeout past that. */
export function acquireLock(lock: string): Lock {
  const nonce = Math.random().toString(36).slice(2, 10) || "0";
  const entry = `${process.pid}-${selfStat()?.start ?? "-"}-${nonce}`;
  // Beside the lock, so the rename stays in one directory (one filesystem).
  const ready = `${lock}.${process.pid}.${nonce}.tmp`;
  mkdirSync(ready);
  closeSync(openSync(join(ready, entry), "wx"));
  const old = new OldLock();
  const deadline = monotonicMs() + WAIT_MS;
  try {
    for (let attempt = 0; ; attempt++) {
      if (tryTake(ready, lock)) return held(lock, entry);
      const holder = inspect(lock, old);
      if (monotonicMs() > deadline) throw new LockTimeout(lock, typeof holder === "number" ? holder : null);
      // No holder left (a dead one's entry is removed): try again at once. Else short random
      // pauses: a holder needs milliseconds, and waiters must not march in step.
      if (holder !== null) sleep(1 + Math.random() * Math.min(10, 1 + attempt));
    }
  } catch (error) {
    removeIfThere(join(ready, entry));
    rmdirSync(ready);
    throw error;
  }
}

function held(lock: string, entry: string): Lock {
  const mine = join(lock, entry);
  return {
    verify() {
      if (!existsSync(mine)) throw new LockLost(lock);
    },
    release() {
      removeIfThere(mine);
      try {
        // Tidy: rmdir removes only an empty directory, never a next holder's.
        rmdirSync(lock);
      } catch {
        // Taken by the next holder already, or gone.
      }
    },
  };
}
