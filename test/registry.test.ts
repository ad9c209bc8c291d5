// The registry under real concurrent processes, and damaged files kept aside.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { overlaps } from "../src/core/records.ts";
import { CLI, git, json, repo, sandbox, shards, shardsAsync } from "./_helpers.ts";

function registry(path: string) {
  return JSON.parse(readFileSync(path, "utf8"));
}

function assertDisjoint(allocations: { start: number; end: number }[]) {
  for (const [i, a] of allocations.entries())
    for (const b of allocations.slice(i + 1))
      assert.not.ok(overlaps(a as never, b as never), `${a.start} overlaps ${b.start}`);
}

test("20 processes allocating at the same moment get 20 distinct ranges, all recorded", async () => {
  const sb = sandbox();
  const main = repo(sb);
  const dirs = Array.from({ length: 20 }, (_, i) => {
    const dir = join(sb.dir, `wt${i}`);
    git(sb, main, "worktree", "add", "-q", "-b", `b${i}`, dir);
    return dir;
  });
  const results = await Promise.all(dirs.map((d) => shardsAsync(sb, d, ["allocate", "--json"])));
  for (const r of results) assert.is(r.status, 0, r.stderr);
  const ranges = results.map((r) => JSON.parse(r.stdout));
  assert.is(new Set(ranges.map((r) => r.start)).size, 20);
  assertDisjoint(ranges);
  const doc = registry(sb.registry);
  assert.is(doc.version, 1);
  assert.is(doc.allocations.length, 20);
  assert.equal(ranges.map((r) => r.start).sort(), doc.allocations.map((r: { start: number }) => r.start).sort());
});

function damaged(content: string, name: string) {
  test(`a registry with ${name} is kept aside with one clear line, and work goes on`, () => {
    const sb = sandbox();
    const main = repo(sb);
    mkdirSync(sb.shardsHome, { recursive: true });
    writeFileSync(sb.registry, content);
    const r = shards(sb, main, ["allocate", "--json"]);
    assert.is(r.status, 0, r.stderr);
    const lines = r.stderr.trim().split("\n");
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0], /^shards: warning: registry .* was damaged .*kept it as /);
    assert.not.match(r.stderr, /\bat .*\.mjs/);
    const kept = readdirSync(sb.shardsHome).filter((f) => f.includes(".damaged-"));
    assert.is(kept.length, 1);
    assert.is(readFileSync(join(sb.shardsHome, kept[0]), "utf8"), content);
    assert.is(registry(sb.registry).allocations.length, 1);
    // The repaired file is clean: no second backup, no warning.
    const again = shards(sb, main, ["list"]);
    assert.is(again.stderr, "");
  });
}
damaged('{"version":1,"allocations":[{"gitDir":"/x","pa', "truncated JSON");
damaged("\u0000\u00ff garbage \n", "garbage");
damaged('{"version":1,"allocations":{"a":1}}', "wrong types");
damaged("[1,2,3]", "an array at the top");

test("valid records survive next to damaged ones, and nothing overlaps them afterwards", () => {
  const sb = sandbox();
  const main = repo(sb);
  const other = repo(sb, "other");
  const keep = {
    gitDir: join(other, ".git"),
    path: other,
    branch: "main",
    repo: other,
    names: [],
    start: 3000,
    end: 3009,
    count: 10,
  };
  mkdirSync(sb.shardsHome, { recursive: true });
  writeFileSync(
    sb.registry,
    JSON.stringify({
      version: 1,
      allocations: [
        keep,
        { ...keep, gitDir: "/dup", start: 3005, end: 3014 },
        { gitDir: "/z", path: "/z", repo: "/z", start: 0, end: 0, count: 0 },
        { start: "x" },
      ],
    }),
  );
  const r = json(shards(sb, main, ["allocate", "--json"]));
  // Rule 8: the overlapping record keeps its ports; only the rangeless ones are dropped.
  assert.is(r.start, 3020);
  assert.equal(
    registry(sb.registry).allocations.map((a: { start: number }) => a.start),
    [3000, 3005, 3020],
  );
});

test("a registry cut short keeps every record line that is whole", () => {
  const sb = sandbox();
  const repos = ["a", "b", "c"].map((n) => repo(sb, n));
  for (const dir of repos) shards(sb, dir, ["allocate"]);
  const text = readFileSync(sb.registry, "utf8");
  const cut = text.slice(0, text.lastIndexOf("\n{") + 20); // the third record's line cut short
  writeFileSync(sb.registry, cut);
  const r = shards(sb, repos[0], ["list", "--json"]);
  assert.match(r.stderr, "recovered 2 allocations");
  assert.equal(
    registry(sb.registry).allocations.map((a: { start: number }) => a.start),
    [3000, 3010],
  );
  // The third worktree gets its range back from its shards.env (rule 10), not a neighbour's.
  assert.is(json(shards(sb, repos[2], ["allocate", "--json"])).start, 3020);
});

test("a registry from a newer shards is refused, not rewritten", () => {
  const sb = sandbox();
  const main = repo(sb);
  mkdirSync(sb.shardsHome, { recursive: true });
  const future = '{"version":99,"allocations":[]}';
  writeFileSync(sb.registry, future);
  const r = shards(sb, main, ["allocate"]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /newer shards.*upgrade/);
  assert.is(readFileSync(sb.registry, "utf8"), future);
});

test("a registry path that is a directory is a one-line error", () => {
  const sb = sandbox();
  const main = repo(sb);
  mkdirSync(sb.registry, { recursive: true });
  const r = shards(sb, main, ["allocate"]);
  assert.is(r.status, 1);
  assert.is(r.stderr.trim().split("\n").length, 1);
  assert.match(r.stderr, /is a directory/);
});

test("a relative SHARDS_HOME is refused in one line; a relative XDG_STATE_HOME is ignored", () => {
  const sb = sandbox();
  const main = repo(sb);
  const r = shards(sb, main, ["allocate"], { SHARDS_HOME: "~/.shards" });
  assert.is(r.status, 1);
  assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /SHARDS_HOME.*absolute/);
  assert.is(existsSync(join(main, "~")), false);
  const { SHARDS_HOME: _, ...env } = sb.env;
  const relative = spawnSync(process.execPath, [CLI, "allocate"], {
    cwd: main,
    env: { ...env, XDG_STATE_HOME: "state" },
    encoding: "utf8",
  });
  assert.is(relative.status, 0, relative.stderr);
  assert.is(existsSync(join(main, "state")), false);
  assert.ok(existsSync(join(sb.home, ".local/state/shards/registry.json")));
});

test("a lock file left by an older shards (it names no holder) stops blocking within 10 s", () => {
  const sb = sandbox();
  const main = repo(sb);
  mkdirSync(sb.shardsHome, { recursive: true });
  writeFileSync(`${sb.registry}.lock`, "");
  const started = Date.now();
  const r = shards(sb, main, ["allocate"]);
  assert.is(r.status, 0, r.stderr);
  assert.ok(Date.now() - started < 10_000);
});

test.run();
