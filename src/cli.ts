// The `shards` entry: it chooses which bundle to load, and loads it with V8's code cache.
// The git hook runs `shards post-checkout` inside every `git worktree add`, so that path gets
// a bundle of its own (no citty, no other command). Compiling a bundle costs more than the
// hook's own work (~4 ms): the compiled code is kept in the user's cache directory and used
// while the bundle and node are the same (the bundle's build id and node's version name
// the file; V8 checks its own version, flags and the source's length too).
//
// V8 does not check the cache's contents unless told to (--verify-snapshot-checksum, which
// also checks node's whole startup snapshot, ~2 ms a start; or set through node:v8, ~1.8 ms
// to load), and a cache damaged inside crashes node, the hook's included. So the file holds
// the cache twice, and only a file whose two halves are the same is run.
import {
  closeSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { isAbsolute, join } from "node:path";
import { Script } from "node:vm";

/** The sha-256 of each bundle, cut to 16 digits, filled in by scripts/build.mjs. */
declare const BUNDLE_IDS: Record<string, string>;

const name = process.argv[2] === "post-checkout" ? "post-checkout" : "main";
const file = join(import.meta.dirname, `${name}.cjs`);

function cacheFile(env = process.env): string | null {
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : env.HOME && isAbsolute(env.HOME) ? join(env.HOME, ".cache") : null;
  return base && join(base, "shards", `${name}-${BUNDLE_IDS[name]}-${process.version}-${process.arch}.v8`);
}

/**
 * The cached code, if it is a file of our own that nobody else may write (it is code that
 * runs), whole and undamaged: its two copies the same.
 */
function readCache(path: string): Buffer | undefined {
  try {
    const fd = openSync(path, "r");
    try {
      const stat = fstatSync(fd);
      const ours = stat.isFile() && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0;
      if (!ours || stat.size === 0 || stat.size % 2 !== 0) return undefined;
      // One read of the size fstat gave (readFileSync(fd) asks again and reads twice).
      const data = Buffer.allocUnsafeSlow(stat.size);
      if (readSync(fd, data, 0, stat.size, 0) !== stat.size) return undefined;
      const first = data.subarray(0, stat.size / 2);
      return first.equals(data.subarray(stat.size / 2)) ? first : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/** Both copies written and synced before they replace anything. Best effort. */
function writeCache(path: string, script: Script): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    mkdirSync(join(path, ".."), { recursive: true, mode: 0o700 });
    const fd = openSync(tmp, "wx", 0o600);
    try {
      const data = script.createCachedData();
      const twice = Buffer.concat([data, data]);
      for (let at = 0; at < twice.length; ) at += writeSync(fd, twice, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // Never made, or gone.
    }
  }
}

const cache = cacheFile();
const cachedData = cache ? readCache(cache) : undefined;
const wrapped = `(function (exports, require, module, __filename, __dirname) {${readFileSync(file, "utf8")}\n})`;
const script = new Script(wrapped, { filename: file, cachedData });
// After the command: the cache then holds the functions it ran too, not just the top level.
if (cache && (cachedData === undefined || script.cachedDataRejected))
  process.once("exit", () => writeCache(cache, script));
const module = { exports: {} };
// This file's own require: it resolves from dist/ as the bundle's would (node:module, for
// createRequire, costs ~0.6 ms to load). This file only ever runs bundled as CommonJS.
script.runInThisContext()(module.exports, require, module, file, import.meta.dirname);
