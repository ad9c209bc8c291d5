// The registry write under real faults: a full disk never replaces the registry, the
// previous registry is kept as registry.json.bak (and used when the registry is damaged),
// and processes killed mid-write leave no temp files for good.
import { spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { killedInsideLock, killLeftovers } from "./_faults.ts";
import { json, repo, sandbox, shards } from "./_helpers.ts";

function mountTmpfs(dir: string, size: string): () => void {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cannot mount a tmpfs (root needed): ${r.stderr}`);
  return () => void spawnSync("umount", [dir]);
}

/** Fills the filesystem of `dir` up, then frees `free` bytes. */
function fillUp(dir: string, free: number): void {
  const fd = openSync(join(dir, "filler"), "w");
  const page = Buffer.alloc(4096, 1);
  try {
    while (writeSync(fd, page) === page.length);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  }
  ftruncateSync(fd, fstatSync(fd).size - free);
  closeSync(fd);
}

/** `count` records of worktrees that look alive (their directories exist), one a line as shards writes them. */
function liveRegistry(dir: string, count: number): string {
  const lines = Array.from({ length: count }, (_, i) => {
    const path = join(dir, "live", `worktree-${i}`);
    mkdirSync(join(path, ".git"), { recursive: true });
    const start = 10000 + i * 10;
    return JSON.stringify({
      gitDir: join(path, ".git"),
      path,
      branch: `b${i}`,
      repo: path,
      names: [],
      start,
      end: start + 9,
      count: 10,
    });
  });
  return `{"version":1,"allocations":[\n${lines.join(",\n")}\n]}\n`;
}

test.after.each(killLeftovers);

test("a disk that fills up mid-write: one line, exit 1, and the registry stays as it was", () => {
  const sb = sandbox();
  const main = repo(sb);
  const unmount = mountTmpfs(sb.shardsHome, "64k");
  try {
    const before = liveRegistry(sb.dir, 31);
    writeFileSync(sb.registry, before);
    assert.ok(before.length > 4096 && before.length < 8192, `${before.length} bytes: two pages`);
    fillUp(sb.shardsHome, 4096);
    const r = shards(sb, main, ["allocate"]);
    assert.is(r.status, 1, r.stderr);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /no space left/);
    assert.is(readFileSync(sb.registry, "utf8"), before);
    assert.equal(
      readdirSync(sb.shardsHome).filter((f) => f.endsWith(".tmp")),
      [],
    );
    assert.is(existsSync(join(main, ".git/shards.env")), false);
  } finally {
    unmount();
  }
});

test("the previous registry is kept as registry.json.bak, and a registry emptied later is recovered from it", () => {
  const sb = sandbox();
  const [a, b, c] = ["a", "b", "c"].map((n) => repo(sb, n));
  for (const dir of [a, b, c]) assert.is(shards(sb, dir, ["allocate"]).status, 0);
  const backup = `${sb.registry}.bak`;
  const kept = JSON.parse(readFileSync(backup, "utf8")).allocations;
  assert.equal(
    kept.map((r: { start: number }) => r.start),
    [3000, 3010],
  );
  writeFileSync(sb.registry, "");
  const r = shards(sb, a, ["list", "--all", "--json"]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /recovered 2 allocations .*registry\.json\.bak/);
  assert.equal(
    JSON.parse(readFileSync(sb.registry, "utf8")).allocations.map((r: { path: string }) => r.path),
    [a, b],
  );
  // The recovered registry keeps a's and b's ranges taken: a new worktree lands after them.
  const d = repo(sb, "d");
  assert.is(json(shards(sb, d, ["allocate", "--json"])).start, 3020);
  // With no registry to keep (removed by hand), the write leaves the .bak as it was.
  const previous = readFileSync(backup, "utf8");
  rmSync(sb.registry);
  assert.is(shards(sb, d, ["allocate"]).status, 0);
  assert.is(readFileSync(backup, "utf8"), previous);
});

test("temp files of processes killed mid-write are removed by the next writer; a live process's are kept", async () => {
  const sb = sandbox();
  const [a, b] = [repo(sb, "a"), repo(sb, "b")];
  const dead = await killedInsideLock(sb, a);
  assert.ok(existsSync(`${sb.registry}.${dead}.0.tmp`));
  const live = `${sb.registry}.${process.pid}.0.tmp`;
  writeFileSync(live, "");
  assert.is(shards(sb, b, ["allocate"]).status, 0);
  assert.equal(
    readdirSync(sb.shardsHome).filter((f) => f.endsWith(".tmp")),
    [live.split("/").pop()],
  );
});

test.run();
