// The registry's inter-process lock: a file created with O_EXCL, which succeeds for one
// process only. Whoever holds it works synchronously for a few milliseconds (read, decide,
// write) and removes it. A lock older than STALE_MS was left by a process that died holding
// it (SIGKILL, power loss) and is taken over.
// (Hand-written rather than proper-lockfile: that package's graceful-fs patches fs and
// loads node:stream, ~7 ms of every `git worktree add`; see bench/RESULTS.md. Its mtime
// refresh is not needed either: nothing holds this lock for more than milliseconds.)
import { closeSync, linkSync, openSync, renameSync, rmSync, statSync, unlinkSync } from "node:fs";

const STALE_MS = 5000;
const WAIT_MS = 15_000;

const pause = new Int32Array(new SharedArrayBuffer(4));
/** Sleeps without spinning and without giving the event loop a turn. */
function sleep(ms: number): void {
  Atomics.wait(pause, 0, 0, ms);
}

export class LockTimeout extends Error {}

function ageMs(path: string): number | null {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return null;
  }
}

/** Moves a stale lock out of the way; false when that failed (another process was first). */
function takeOver(path: string, attempt: number): boolean {
  // Renamed, not removed: of several processes that found it stale, one wins the rename.
  const aside = `${path}.stale-${process.pid}-${attempt}`;
  try {
    renameSync(path, aside);
  } catch {
    return false;
  }
  // Between our look at its age and the rename, another waiter may have taken over the
  // stale lock and made a fresh one: that one is live, so it goes back, unless yet another
  // process holds the name by now (link, unlike rename, never replaces).
  const age = ageMs(aside);
  const fresh = age !== null && age <= STALE_MS;
  if (fresh) {
    try {
      linkSync(aside, path);
    } catch {
      // Taken again already.
    }
  }
  rmSync(aside, { recursive: true, force: true });
  return !fresh;
}

/** Takes the lock `path` (a file), waiting up to 15 s; returns its release. */
export function acquireLock(path: string): () => void {
  const deadline = Date.now() + WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      closeSync(openSync(path, "wx"));
      return () => unlinkSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const age = ageMs(path);
    if (age !== null && age > STALE_MS && takeOver(path, attempt)) continue;
    if (Date.now() > deadline) throw new LockTimeout(path);
    // Short random pauses: the holder needs milliseconds, and waiters must not march in step.
    sleep(1 + Math.random() * Math.min(10, 1 + attempt));
  }
}
