// dist/cli.cjs compiles its bundle with V8's code cache, kept in the user's cache directory:
// a command then skips most of its compiling (~4 ms of the hook's ~10). The cache is code,
// so only a whole file of the user's own that nobody else may write is ever run.
import { spawnSync } from "node:child_process";
import { chmodSync, chownSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT, repo, sandbox, shards } from "./_helpers.ts";

const cacheDir = (home: string) => join(home, ".cache", "shards");
/**
 * The cache damaged where V8 does not look: inside its first copy, past the header V8
 * checks (version, flags, source length). Run, such a cache crashed node.
 */
const damagedInside = (file: Buffer) =>
  Buffer.from(file.map((b, i) => (i >= 64 && i < file.length / 2 ? b ^ 0x5a : b)));
const cacheOf = (dir: string, bundle: string) => {
  const name = readdirSync(dir).find((f) => f.startsWith(`${bundle}-`) && f.endsWith(".v8"));
  assert.ok(name, `no ${bundle} cache in ${dir}: ${readdirSync(dir).join(", ")}`);
  return join(dir, name!);
};

test("the compiled code is kept in ~/.cache/shards (XDG_CACHE_HOME when set), private, and used again", () => {
  const sb = sandbox();
  const r = repo(sb);
  const first = shards(sb, r, ["--version"]);
  assert.is(first.status, 0, first.stderr);
  const file = cacheOf(cacheDir(sb.home), "main");
  assert.is(statSync(file).mode & 0o777, 0o600);
  assert.is(statSync(cacheDir(sb.home)).mode & 0o777, 0o700);
  const before = statSync(file);
  const again = shards(sb, r, ["--version"]);
  assert.equal([again.status, again.stdout, again.stderr], [0, first.stdout, ""]);
  const after = statSync(file);
  assert.equal([after.ino, after.mtimeMs], [before.ino, before.mtimeMs], "a cache that was used is not written again");
  const xdg = join(sb.dir, "xdg-cache");
  assert.is(shards(sb, r, ["--version"], { XDG_CACHE_HOME: xdg }).status, 0);
  cacheOf(join(xdg, "shards"), "main");
});

test("the hook's bundle has its cache too, checked as well", () => {
  const sb = sandbox();
  const r = repo(sb);
  assert.is(shards(sb, r, ["install"]).status, 0);
  const add = spawnSync("git", ["worktree", "add", "-q", "../wt"], { cwd: r, env: sb.env, encoding: "utf8" });
  assert.match(add.stderr, "shards: wt -> ports");
  const file = cacheOf(cacheDir(sb.home), "post-checkout");
  writeFileSync(file, damagedInside(readFileSync(file)));
  const before = statSync(file).ino;
  const next = spawnSync("git", ["worktree", "add", "-q", "../wt2"], { cwd: r, env: sb.env, encoding: "utf8" });
  assert.match(next.stderr, "shards: wt2 -> ports 3020-3029");
  assert.ok(statSync(file).ino !== before, "replaced");
});

test("a damaged cache, one others may write, or one of another user's is not run but replaced", () => {
  const sb = sandbox();
  const r = repo(sb);
  const expected = shards(sb, r, ["list", "--json"]);
  assert.is(expected.status, 0, expected.stderr);
  const file = cacheOf(cacheDir(sb.home), "main");
  const good = readFileSync(file);
  const cases: [string, () => void][] = [
    ["damaged inside", () => writeFileSync(file, damagedInside(good))],
    ["cut short", () => writeFileSync(file, good.subarray(0, good.length >> 1))],
    [
      "writable by others",
      () => {
        writeFileSync(file, good);
        chmodSync(file, 0o666);
      },
    ],
    [
      "another user's",
      () => {
        writeFileSync(file, good, { mode: 0o600 });
        chownSync(file, 65534, 65534);
      },
    ],
  ];
  for (const [what, spoil] of cases) {
    spoil();
    const before = statSync(file);
    const run = shards(sb, r, ["list", "--json"]);
    assert.equal([run.status, run.stdout, run.stderr], [0, expected.stdout, ""], what);
    const after = statSync(file);
    assert.ok(after.ino !== before.ino, `${what}: the cache was replaced, so it was not used`);
    assert.equal([after.mode & 0o777, after.uid], [0o600, process.getuid!()], what);
  }
});

test("a cache directory that cannot be made costs nothing but the cache", () => {
  const sb = sandbox();
  const r = repo(sb);
  const blocked = join(sb.dir, "a-file");
  writeFileSync(blocked, "");
  const run = shards(sb, r, ["--version"], { XDG_CACHE_HOME: blocked });
  assert.equal([run.status, run.stderr], [0, ""]);
  assert.equal(
    readdirSync(sb.dir).filter((f) => f.endsWith(".tmp")),
    [],
  );
});

test("the bundles hold no import(), which code compiled by node:vm cannot run; c12 is reached through c12.cjs", () => {
  for (const bundle of ["main", "post-checkout"]) {
    const text = readFileSync(join(ROOT, "dist", `${bundle}.cjs`), "utf8");
    assert.not.match(text, /\bimport\(/, bundle);
  }
  const sb = sandbox();
  const r = repo(sb);
  writeFileSync(join(r, "shards.config.json"), '{ "portCount": 4 }\n');
  const run = shards(sb, r, ["allocate", "--json"]);
  assert.is(run.status, 0, run.stderr);
  assert.is(JSON.parse(run.stdout).count, 4);
});

test.run();
