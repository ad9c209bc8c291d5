// Records that must not vanish (rules 5, 8, 9, 10), with the real CLI and real git: a
// damaged record keeps its ports, a lost registry is rebuilt from the worktrees' shards.env
// files, a copied repository does not take the original's range, and a moved repository or
// a locked worktree away on an unmounted disk keeps its range.
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { git, json, repo, type Sandbox, sandbox, shards, tracedShards } from "./_helpers.ts";

const allocations = (sb: Sandbox) => JSON.parse(readFileSync(sb.registry, "utf8")).allocations;
const start = (sb: Sandbox, cwd: string, ...args: string[]) =>
  json(shards(sb, cwd, ["allocate", "--json", ...args])).start;

function shardsEnv(start: number, end: number, root: string): string {
  return `SHARD_PORT_RANGE_START=${start}\nSHARD_PORT_RANGE_END=${end}\nSHARD_PORT_COUNT=${end - start + 1}\nSHARD_ROOT=${root}\n`;
}

test("12.8: records with a bad name, branch or an overlap keep their ports and stay in the file as they are", () => {
  const sb = sandbox();
  const main = repo(sb);
  const other = repo(sb, "other");
  const base = { gitDir: join(other, ".git"), path: other, branch: "main", repo: other, names: [] };
  const raw = [
    { ...base, names: [1], start: 3000, end: 3009, count: 10 },
    { ...base, gitDir: join(sb.dir, "x/.git"), branch: 7, start: 3010, end: 3019, count: 10 },
    { ...base, gitDir: join(sb.dir, "y/.git"), start: 3015, end: 3024, count: 10 },
  ];
  mkdirSync(sb.shardsHome, { recursive: true });
  writeFileSync(sb.registry, JSON.stringify({ version: 1, allocations: raw }));
  const r = shards(sb, main, ["allocate", "--json"]);
  assert.is(r.stderr, "");
  assert.is(json(r).start, 3030);
  assert.equal(allocations(sb).slice(0, 3), raw);
});

test("12.8: a record with ports but no git dir is never dropped, not even by prune; doctor names it", () => {
  const sb = sandbox();
  const main = repo(sb);
  mkdirSync(sb.shardsHome, { recursive: true });
  const raw = { path: "/somewhere", start: 3000, end: 3009, count: 10 };
  writeFileSync(sb.registry, JSON.stringify({ version: 1, allocations: [raw] }));
  assert.is(start(sb, main), 3010);
  assert.is(shards(sb, main, ["prune"]).stdout, "nothing to prune\n");
  assert.equal(allocations(sb)[0], raw);
  const doctor = json(shards(sb, main, ["doctor", "--json"]));
  const registry = doctor.checks.filter((c: { name: string; ok: boolean }) => c.name === "registry" && !c.ok);
  assert.match(registry[0].message, "3000-3009 (/somewhere): no gitDir");
});

test("12.9: an emptied or cut registry: a new worktree never gets a range a sibling still exports", () => {
  for (const damage of ["", '{"version":1,"allocations":[\n{"gitDir":"/cut']) {
    const sb = sandbox();
    const main = repo(sb);
    assert.is(start(sb, main), 3000);
    assert.is(json(shards(sb, main, ["create", "b", "--json"])).start, 3010);
    writeFileSync(sb.registry, damage);
    const c = json(shards(sb, main, ["create", "c", "--json"]));
    assert.is(c.start, 3020, `after ${JSON.stringify(damage)}`);
    assert.equal(
      allocations(sb).map((a: { start: number }) => a.start),
      [3000, 3010, 3020],
      "the siblings' ranges are held again",
    );
    assert.is(start(sb, main), 3000);
  }
});

test("12.9: the siblings that have a record are not looked into: a new range reads no shards.env of theirs", () => {
  const sb = sandbox();
  const r = repo(sb);
  for (const wt of ["a", "b"]) {
    git(sb, r, "worktree", "add", "-q", `../${wt}`);
    assert.is(shards(sb, join(sb.dir, wt), ["allocate"]).status, 0);
  }
  git(sb, r, "worktree", "add", "-q", "../c");
  const run = tracedShards(sb, join(sb.dir, "c"), ["-f", "-e", "trace=openat"], ["allocate"]);
  assert.is(run.status, 0, run.stderr);
  const read = run.trace.filter((l) => /\/worktrees\/(a|b)\//.test(l));
  assert.equal(read, []);
});

test("12.10: a copied repository ignores the original's shards.env and never moves the original", () => {
  const sb = sandbox();
  const main = repo(sb);
  // The registry was lost; the original still exports 3040-3049.
  writeFileSync(join(main, ".git/shards.env"), shardsEnv(3040, 3049, main));
  const copy = join(sb.dir, "copy");
  cpSync(main, copy, { recursive: true });
  const fromCopy = json(shards(sb, copy, ["env", "--format", "json"]));
  assert.equal([fromCopy.SHARD_PORT_RANGE_START, fromCopy.SHARD_ROOT], ["3000", copy]);
  assert.match(
    readFileSync(join(copy, ".git/shards.env"), "utf8"),
    `SHARD_ROOT=${copy}\n`,
    "the copy's file is replaced",
  );
  assert.is(start(sb, main), 3040);
});

test("15.6 (CLI): after git worktree move, the next run rewrites shards.env with the new SHARD_ROOT", () => {
  const sb = sandbox();
  const main = repo(sb);
  const wt = join(sb.dir, "wt");
  const moved = join(sb.dir, "moved");
  shards(sb, main, ["create", "b", "--path", wt]);
  git(sb, main, "worktree", "move", wt, moved);
  const file = join(main, ".git/worktrees/wt/shards.env");
  assert.match(readFileSync(file, "utf8"), `SHARD_ROOT=${wt}\n`);
  assert.is(json(shards(sb, moved, ["env", "--format", "json"])).SHARD_PORT_RANGE_START, "3000");
  assert.match(readFileSync(file, "utf8"), `SHARD_ROOT=${moved}\n`);
});

test("12.9: a deleted worktree's leftover shards.env does not hold its range once it was removed", () => {
  const sb = sandbox();
  const main = repo(sb);
  assert.is(json(shards(sb, main, ["create", "gone", "--json"])).start, 3000);
  rmSync(join(sb.dir, "repo-gone"), { recursive: true, force: true });
  writeFileSync(sb.registry, "");
  assert.is(json(shards(sb, main, ["create", "next", "--json"])).start, 3000);
});

test("12.11: only a range shards could have handed out is adopted from shards.env", () => {
  const cases: [number, number, string][] = [
    [1, 65535, "the whole port space"],
    [3300, 3309, "an excluded port (3306)"],
    [6000, 6009, "a port browsers refuse (6000)"],
    [40000, 40009, "outside the pool"],
  ];
  for (const [from, to, what] of cases) {
    const sb = sandbox();
    const main = repo(sb);
    writeFileSync(join(main, ".git/shards.env"), shardsEnv(from, to, main));
    assert.is(start(sb, main), 3000, what);
    assert.is(json(shards(sb, main, ["create", "next", "--json"])).start, 3010, what);
  }
  const sb = sandbox();
  const main = repo(sb);
  writeFileSync(join(main, ".git/shards.env"), shardsEnv(3500, 3509, main));
  assert.is(start(sb, main), 3500, "a sound range is adopted");
});

test("12.12: a moved repository keeps its range (stale) until prune, which names it", () => {
  const sb = sandbox();
  const a = repo(sb, "a");
  assert.is(start(sb, a), 3000);
  renameSync(a, join(sb.dir, "a-moved"));
  const b = repo(sb, "b");
  assert.is(start(sb, b), 3010);
  const listed = json(shards(sb, b, ["list", "--all", "--json"]));
  assert.is(listed.find((r: { path: string }) => r.path === a).state, "stale");
  const pruned = shards(sb, b, ["prune"]);
  assert.match(pruned.stdout, `freed ports 3000-3009 (main, ${a})`);
  assert.is(json(shards(sb, b, ["create", "c", "--json"])).start, 3000);
});

test("12.12: a full pool takes a stale range, and says whose", () => {
  const env = { SHARDS_BASE_PORT: "4100", SHARDS_MAX_PORT: "4119" };
  const sb = sandbox(env);
  const a = repo(sb, "a");
  assert.is(start(sb, a), 4100);
  rmSync(a, { recursive: true, force: true });
  const b = repo(sb, "b");
  assert.is(start(sb, b), 4110);
  const c = shards(sb, repo(sb, "c"), ["allocate", "--json"]);
  assert.is(json(c).start, 4100);
  assert.match(c.stderr, `took ports 4100-4109 of ${a}`);
});

test("12.12: a locked worktree whose directory is away keeps its range; an unlocked one is removed", () => {
  const sb = sandbox();
  const main = repo(sb);
  assert.is(json(shards(sb, main, ["create", "away", "--json"])).start, 3000);
  assert.is(json(shards(sb, main, ["create", "gone", "--json"])).start, 3010);
  const away = join(sb.dir, "repo-away");
  git(sb, main, "worktree", "lock", "--reason", "on a USB disk", away);
  renameSync(away, join(sb.dir, "unmounted"));
  rmSync(join(sb.dir, "repo-gone"), { recursive: true, force: true });
  assert.is(json(shards(sb, main, ["create", "next", "--json"])).start, 3010, "the removed worktree's range is reused");
  assert.is(shards(sb, main, ["prune", "--dry-run"]).stdout, "nothing to prune\n");
  assert.is(json(shards(sb, main, ["create", "more", "--json"])).start, 3020);
});

test.run();
