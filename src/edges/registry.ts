// The registry: one JSON file for every allocation on this machine. Every change holds a
// lock (lock.ts: a killed holder's lock goes stale in 5 s) and replaces the file
// atomically (files.ts: temp file, fsync, rename). A damaged file is kept
// aside, never deleted, and the tool goes on with what it recovered.
import { renameSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import {
  type Allocation,
  UnsupportedRegistryVersion,
  salvageRegistry,
  sanitizeRegistry,
  serializeRegistry,
} from "../core/records.ts";
import { RegistryError } from "../errors.ts";
import { makeDirectory, readRegularFile, writeFileAtomic } from "./files.ts";
import { LockTimeout, acquireLock } from "./lock.ts";
import { logger } from "../output.ts";

function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SHARDS_HOME || join(env.XDG_STATE_HOME || join(homedir(), ".local/state"), "shards");
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

function readText(path: string): string | null {
  try {
    return readRegularFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "EISDIR") throw new RegistryError(`${path} is a directory, not the registry file; move it away`);
    if (code === "ENOTREG") throw new RegistryError(`${path} is not a regular file (a FIFO?), not the registry; move it away`);
    throw new RegistryError(`cannot read ${path} (${code}); check its permissions or set SHARDS_HOME`);
  }
}

/** Reads and checks the registry as it is, changing nothing (doctor uses this too). */
export function inspectRegistry(path = registryPath()): RegistryState {
  const text = readText(path);
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
function keepAside(state: RegistryState): void {
  const backup = `${state.path}.damaged-${new Date().toISOString().replaceAll(":", "-")}-${process.pid}`;
  renameSync(state.path, backup);
  const more = state.problems.length > 1 ? ` and ${state.problems.length - 1} more problems` : "";
  logger.warn(
    `registry ${state.path} was damaged (${state.problems[0]}${more}); kept it as ${backup} and recovered ${state.records.length} allocations`,
  );
}

/**
 * Everything under the lock is synchronous: the critical section is a read, a pure
 * decision and a write, a few milliseconds with no event-loop turn in between, so that
 * many processes starting at once (ten agents, one `git worktree add` each) queue briefly.
 */
function withLock<T>(path: string, fn: () => T): T {
  const lock = `${path}.lock`;
  let release: () => void;
  try {
    makeDirectory(dirname(path));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new RegistryError(`cannot create ${dirname(path)} (${code}); set SHARDS_HOME to a writable directory`);
  }
  try {
    release = acquireLock(lock);
  } catch (error) {
    if (error instanceof LockTimeout)
      throw new RegistryError(`registry ${path} is locked by another shards process; if none is running, remove ${lock}`);
    const code = (error as NodeJS.ErrnoException).code;
    throw new RegistryError(`cannot lock ${path} (${code}); make ${dirname(path)} writable or set SHARDS_HOME`);
  }
  try {
    return fn();
  } finally {
    release();
  }
}

function write(path: string, records: readonly Allocation[]): void {
  try {
    writeFileAtomic(path, serializeRegistry(records));
  } catch (error) {
    throw new RegistryError(`cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); make ${dirname(path)} writable or set SHARDS_HOME`);
  }
}

/** The records, for commands that only read. A damaged file is repaired under the lock. */
export function readRecords(path = registryPath()): Allocation[] {
  const state = inspectRegistry(path);
  if (state.problems.length === 0) return state.records;
  return updateRecords((records) => ({ records: null, result: records }), path);
}

export interface Update<T> {
  /** The new records, or null to leave the file as it is. */
  records: Allocation[] | null;
  result: T;
}

/**
 * Runs `fn` on the current records under the lock and writes its records once. `fn` may
 * do I/O of its own that must happen inside the lock (shards.env files): it runs after the
 * registry is read and before it is written; `afterWrite` runs after the write.
 */
export function updateRecords<T>(
  fn: (records: Allocation[]) => Update<T>,
  path = registryPath(),
  afterWrite?: (result: T) => void,
): T {
  return withLock(path, () => {
    const state = inspectRegistry(path);
    if (state.problems.length > 0) {
      keepAside(state);
      write(path, state.records);
    }
    const update = fn(state.records);
    if (update.records) write(path, update.records);
    afterWrite?.(update.result);
    return update.result;
  });
}
