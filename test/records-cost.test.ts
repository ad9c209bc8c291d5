// Issue 16.3: rule 5's question (is each worktree still known to git, locked, is its
// repository there) is answered from directory listings, never with a system call per
// record: counted with strace over a new allocation beside 1,000 live records.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { repo, sandbox, tracedShards } from "./_helpers.ts";

test("a new allocation beside 1,000 records of 10 repositories: a few listings, no call per record", () => {
  const sb = sandbox();
  const live = join(sb.dir, "live");
  const allocations = Array.from({ length: 1000 }, (_, i) => {
    const repoDir = join(live, `repo${i % 10}`);
    const gitDir = join(repoDir, ".git/worktrees", `w${i}`);
    const path = join(live, `repo${i % 10}-w${i}`);
    mkdirSync(gitDir, { recursive: true });
    mkdirSync(path, { recursive: true });
    writeFileSync(join(gitDir, "gitdir"), `${path}/.git\n`);
    const start = 13000 + i * 10;
    return { gitDir, path, branch: `w${i}`, repo: repoDir, names: [], start, end: start + 9, count: 10 };
  });
  mkdirSync(sb.shardsHome, { recursive: true });
  writeFileSync(sb.registry, JSON.stringify({ version: 1, allocations }));
  const target = repo(sb, "target");
  const r = tracedShards(sb, target, ["-f", "-qq"], ["allocate"]);
  assert.is(r.status, 0, r.stderr);
  const calls = r.trace.filter((line) => line.includes(live));
  assert.ok(
    calls.length <= 50,
    `${calls.length} system calls on the records' paths:\n${calls.slice(0, 20).join("\n")}`,
  );
});

test.run();
