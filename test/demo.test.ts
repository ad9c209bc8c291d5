// `npm run demo` from a clean clone: the main job in a few seconds, in a world of its own,
// with nothing left behind and nothing written to the caller's HOME or state.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT, sandbox } from "./_helpers.ts";

test("the demo makes a repository, three worktrees with ports, lists them, and leaves nothing", () => {
  const sb = sandbox();
  const tmp = join(sb.dir, "tmp");
  mkdirSync(tmp);
  const homeBefore = readdirSync(sb.home, { recursive: true }).sort();
  const started = Date.now();
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/demo.mjs")], {
    cwd: sb.dir,
    env: { ...sb.env, TMPDIR: tmp },
    encoding: "utf8",
    timeout: 30_000,
  });
  assert.is(r.status, 0, r.stdout + r.stderr);
  assert.ok(Date.now() - started < 10_000, "a few seconds");
  const rows = r.stdout.split("\n").filter((l) => / ok(\s|$)/.test(l));
  assert.equal(
    rows.map((l) => l.split(/\s+/)[0]),
    ["main", "feature-a", "feature-b", "feature-c"],
  );
  assert.is(
    r.stderr.split("\n").filter((l) => /^shards: feature-[abc] -> ports \d+-\d+$/.test(l)).length,
    3,
    "the hook allocated each",
  );
  assert.equal(readdirSync(tmp), [], "the throwaway directory is gone");
  assert.equal(readdirSync(sb.home, { recursive: true }).sort(), homeBefore, "HOME untouched");
  assert.not.ok(existsSync(sb.shardsHome), "the caller's SHARDS_HOME untouched");
});

test.run();
