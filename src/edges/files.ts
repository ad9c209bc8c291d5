// Writing files without surprises. Atomic replacement of a small file: a temp file beside
// it, written to the last byte, fsynced, renamed over it, so readers see the old bytes or
// the new ones, never a part, whatever kills the writer or fills the disk. And a mkdir -p
// that gives up where Node's loops.
// (Hand-written rather than write-file-atomic: that package loads node:crypto and
// worker_threads, about 5 ms of every `git worktree add`; see bench/RESULTS.md.)
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname } from "node:path";

/**
 * A regular file's text. Opened without blocking and checked before reading: a FIFO where
 * a file should be would otherwise hang us until someone writes to it. Throws like
 * readFileSync; a directory is `EISDIR`, anything else but a regular file (a FIFO) `ENOTREG`.
 */
export function readRegularFile(file: string): string {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      const [code, what] = stat.isDirectory() ? ["EISDIR", "is a directory"] : ["ENOTREG", "not a regular file"];
      throw Object.assign(new Error(`${code}: ${what}, open '${file}'`), { code, syscall: "open", path: file });
    }
    return readFileSync(fd, "utf8");
  } finally {
    closeSync(fd);
  }
}

/** Whether `path` is a directory (symbolic links followed); null when there is nothing there. */
export function isDirectory(path: string): boolean | null {
  try {
    return statSync(path).isDirectory();
  } catch {
    return null;
  }
}

/** A file's text, or null when it cannot be read (most often: it is not there). */
export function readText(file: string): string | null {
  try {
    return readRegularFile(file);
  } catch {
    return null;
  }
}

let counter = 0;

interface WriteOptions {
  /** Without it, a file that exists keeps its mode; a new one gets 0644. */
  mode?: number;
  /** false for copies that can be written again from the source of truth (shards.env). */
  fsync?: boolean;
  /** Runs when the new file is complete, right before it replaces the old one; throwing cancels. */
  beforeRename?: () => void;
}

export function writeFileAtomic(path: string, text: string, options: WriteOptions = {}): void {
  const { mode, fsync = true, beforeRename } = options;
  const temp = `${path}.${process.pid}.${counter++}.tmp`;
  let fd: number | undefined;
  try {
    fd = openSync(temp, "wx", 0o600);
    fchmodSync(fd, mode ?? existingMode(path) ?? 0o644);
    writeAll(fd, Buffer.from(text));
    if (fsync) fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    beforeRename?.();
    renameSync(temp, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
}

/** write(2) may write less than asked (a disk that fills up): go on until all is written or it fails. */
function writeAll(fd: number, bytes: Buffer): void {
  for (let done = 0; done < bytes.length; ) {
    const written = writeSync(fd, bytes, done, bytes.length - done);
    if (written <= 0) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    done += written;
  }
}

function existingMode(path: string): number | null {
  try {
    return statSync(path).mode & 0o7777;
  } catch {
    return null;
  }
}

/**
 * mkdir -p. Not fs.mkdirSync's `recursive`: where mkdir answers ENOENT under a parent that
 * exists (/proc, some FUSE file systems), Node's version retries forever, and this runs in
 * the git hook.
 */
export function makeDirectory(dir: string): void {
  try {
    mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return;
    if (code !== "ENOENT" || dirname(dir) === dir) throw error;
    makeDirectory(dirname(dir));
    try {
      mkdirSync(dir);
    } catch (again) {
      if ((again as NodeJS.ErrnoException).code !== "EEXIST") throw again;
    }
  }
}
