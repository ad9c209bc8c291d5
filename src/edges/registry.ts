// The registry: one JSON file for every allocation on this machine. Every change holds a
// lock (lock.ts: never taken from a live holder; a dead one's goes to one waiter) and
// replaces the file atomically (files.ts: temp file, every byte written, fsync, rename),
// after checking that the lock is still ours and keeping the previous file as
// registry.json.bak. A damaged file is kept aside, never deleted, and the tool goes on with
// what it recovered: the damaged file's whole lines, then the .bak.
import { linkSync, readdirSync, renameSync, rmSync, type Stats, statSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join } from "node:path";
import {
  type Allocation,
  overlaps,
  salvageRegistry,
  sanitizeRegistry,
  serializeRegistry,
  UnsupportedRegistryVersion,
} from "../core/records.ts";
import { ConfigError, RegistryError } from "../errors.ts";
import { logger } from "../output.ts";
import { makeDirectory, readText, writeFileAtomic } from "./files.ts";
import { acquireLock, isAlive, type Lock, LockLost, LockTimeout, WAIT_MS } from "./lock.ts";

/** A relative SHARDS_HOME would make one registry per directory (and ranges given twice). */
function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  const home = env.SHARDS_HOME;
  if (home) {
    const tilde = home.startsWith("~") ? " (a quoted ~ is not expanded)" : "";
    if (!isAbsolute(home))
      throw new ConfigError("SHARDS_HOME", home, "the environment", `must be an absolute path${tilde}`);
    return home;
  }
  // The XDG spec: a relative XDG_STATE_HOME is invalid and ignored.
  const xdg = env.XDG_STATE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".local/state"), "shards");
}

export function registryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), "registry.json");
}

export interface RegistryState {
  path: string;
  records: Allocation[];
  /** What was wrong with the file as found; empty when it was clean or absent. */
  problems: string[];
  text: string | null;
}

/** The file's text, null when there is none. Anything but a regular file is an error (a FIFO would hang the read). */
function readRegistryText(path: string): string | null {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new RegistryError(`cannot read ${path} (${code}); check its permissions or set SHARDS_HOME`);
  }
  if (!stat.isFile()) {
    const what = stat.isDirectory() ? "a directory" : "not a regular file";
    throw new RegistryError(`${path} is ${what}, not the registry file; move it away`);
  }
  const text = readText(path);
  if (text === null) throw new RegistryError(`cannot read ${path}; check its permissions or set SHARDS_HOME`);
  return text;
}

/** Reads and checks the registry as it is, changing nothing (doctor uses this too). */
export function inspectRegistry(path = registryPath()): RegistryState {
  const text = readRegistryText(path);
  if (text === null) return { path, records: [], problems: [], text };
  let doc: unknown;
  let problems: string[] = [];
  try {
    doc = JSON.parse(text);
  } catch {
    doc = salvageRegistry(text);
    problems = ["it is not valid JSON"];
  }
  try {
    const checked = sanitizeRegistry(doc);
    return { path, text, records: checked.records, problems: [...problems, ...checked.problems] };
  } catch (error) {
    if (error instanceof UnsupportedRegistryVersion)
      throw new RegistryError(`${path} was written by a newer shards (${error.message}); upgrade shards to use it`);
    throw error;
  }
}

/** Moves a damaged file aside and says so in one line. */
function keepAside(state: RegistryState, restored: number): void {
  const kept = `${state.path}.damaged-${new Date().toISOString().replaceAll(":", "-")}-${process.pid}`;
  renameSync(state.path, kept);
  const more = state.problems.length > 1 ? ` and ${state.problems.length - 1} more problems` : "";
  const backup = restored > 0 ? ` (${restored} of them from ${basename(backupPath(state.path))})` : "";
  const recovered = `recovered ${state.records.length + restored} allocations${backup}`;
  logger.warn(`registry ${state.path} was damaged (${state.problems[0]}${more}); kept it as ${kept} and ${recovered}`);
}

function busy(path: string, lockPath: string, pid: number | null): string {
  const holder = pid === null ? "an older shards" : `pid ${pid}`;
  const stuck = pid === null ? `remove ${lockPath}` : `end pid ${pid}`;
  const waited = `busy for ${WAIT_MS / 1000} s`;
  return `registry ${path} is locked by ${holder} (lock ${lockPath}), ${waited}; if it is stuck, ${stuck}`;
}

/**
 * Everything under the lock is synchronous: the critical section is a read, a pure
 * decision and a write, a few milliseconds with no event-loop turn in between, so that
 * many processes starting at once (ten agents, one `git worktree add` each) queue briefly.
 */
function withLock<T>(path: string, fn: (lock: Lock) => T): T {
  const lockPath = `${path}.lock`;
  let lock: Lock;
  try {
    makeDirectory(dirname(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RegistryError(`cannot create ${dirname(path)} (${code}); set SHARDS_HOME to a writable directory`);
  }
  try {
    lock = acquireLock(lockPath);
  } catch (error) {
    if (error instanceof LockTimeout) throw new RegistryError(busy(path, lockPath, error.holder));
    const code = (error as NodeJS.ErrnoException).code;
    throw new RegistryError(`cannot lock ${path} (${code}); make ${dirname(path)} writable or set SHARDS_HOME`);
  }
  try {
    return fn(lock);
  } finally {
    lock.release();
  }
}

const backupPath = (path: string) => `${path}.bak`;

/**
 * Keeps the registry about to be replaced as registry.json.bak: a hard link, no copy,
 * renamed over the previous .bak, which thus stays when there is no registry to keep. A
 * second line of defence only: where it fails (a filesystem without hard links) the
 * write goes on.
 */
function keepBackup(path: string): void {
  const link = `${path}.${process.pid}.bak.tmp`;
  try {
    linkSync(path, link);
    renameSync(link, backupPath(path));
  } catch {
    // No backup this time.
  }
}

/** Writes the records, unless the lock was lost meanwhile (then LockLost, and nothing written). */
function write(path: string, records: readonly Allocation[], lock: Lock): void {
  try {
    writeFileAtomic(path, serializeRegistry(records), {
      beforeRename: () => {
        lock.verify();
        keepBackup(path);
      },
    });
  } catch (error) {
    if (error instanceof LockLost) throw error;
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    if (code === "ENOSPC" || code === "EDQUOT")
      throw new RegistryError(`cannot write ${path}: no space left on its disk (${code}); the registry is unchanged`);
    throw new RegistryError(`cannot write ${path} (${code}); make ${dirname(path)} writable or set SHARDS_HOME`);
  }
}

/**
 * What is left of processes killed at the wrong moment: registry temp files
 * (registry.json.<pid>.<n>.tmp) and prepared lock directories (registry.json.lock.<pid>.<nonce>.tmp)
 * of pids that are gone. Runs under the lock, so no live writer's temp file is in play.
 */
function removeLeftovers(path: string): void {
  const base = basename(path);
  const leftover = /^(?:\.lock)?\.(\d+)\.[a-z0-9]+\.tmp$/;
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return;
  }
  for (const name of names) {
    const match = name.startsWith(base) ? leftover.exec(name.slice(base.length)) : null;
    // Recursive: a prepared lock directory holds its holder's entry.
    if (match && !isAlive(Number(match[1]))) rmSync(join(dirname(path), name), { recursive: true, force: true });
  }
}

/** The records of registry.json.bak that no recovered record contradicts (same worktree, or an overlap). */
function fromBackup(path: string, recovered: readonly Allocation[]): Allocation[] {
  let backup: RegistryState;
  try {
    backup = inspectRegistry(backupPath(path));
  } catch {
    return [];
  }
  return backup.records.filter((r) => !recovered.some((k) => k.gitDir === r.gitDir || overlaps(k, r)));
}

/** The records, for commands that only read. A damaged file is repaired under the lock. */
export function readRecords(path = registryPath()): Allocation[] {
  const state = inspectRegistry(path);
  if (state.problems.length === 0) return state.records;
  return updateRecords((records) => ({ records: null, result: records }), { path });
}

export interface Update<T> {
  /** The new records, or null to leave the file as it is. */
  records: Allocation[] | null;
  result: T;
}

/** Lost locks in a row before giving up: each means someone removed it by hand or an older shards took it. */
const MAX_LOST = 3;

/**
 * Runs `fn` on the current records under the lock and writes its records once. `fn` may
 * do I/O of its own that must happen inside the lock (shards.env files): it runs after the
 * registry is read and before it is written; `afterWrite` runs after the write. When the
 * lock turns out lost at the commit, nothing is written and it all runs again from a
 * fresh read.
 */
export function updateRecords<T>(
  fn: (records: Allocation[]) => Update<T>,
  { path = registryPath(), afterWrite }: { path?: string; afterWrite?: (result: T) => void } = {},
): T {
  for (let lost = 0; ; lost++) {
    try {
      return withLock(path, (lock) => transaction(path, lock, fn, afterWrite));
    } catch (error) {
      if (!(error instanceof LockLost)) throw error;
      if (lost + 1 >= MAX_LOST)
        throw new RegistryError(`lost the lock ${path}.lock ${MAX_LOST} times while writing; is a tool removing it?`);
    }
  }
}

function transaction<T>(
  path: string,
  lock: Lock,
  fn: (records: Allocation[]) => Update<T>,
  afterWrite?: (result: T) => void,
): T {
  removeLeftovers(path);
  const state = inspectRegistry(path);
  let records = state.records;
  if (state.problems.length > 0) {
    records = [...records, ...fromBackup(path, records)];
    keepAside(state, records.length - state.records.length);
    write(path, records, lock);
  }
  const update = fn(records);
  if (update.records) write(path, update.records, lock);
  afterWrite?.(update.result);
  return update.result;
}
