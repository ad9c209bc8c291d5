// The hook never changes git's status: not when git's output goes to a reader that is
// already gone (`git worktree add ... 2>&1 | true`), not when shards fails there too.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { repo, type Sandbox, sandbox, shards } from "./_helpers.ts";

function addIntoClosedPipe(sb: Sandbox, main: string, branch: string, env: NodeJS.ProcessEnv = {}) {
  // `sleep` keeps git from starting before `true` has exited: the pipe is closed for sure.
  const line = `sleep 0.3; git worktree add -q -b ${branch} ../${branch} 2>&1 | true; echo "rc=\${PIPESTATUS[0]}"`;
  return spawnSync("bash", ["-c", `exec 3>&1; ( ${line} ) 2>/dev/null`], {
    cwd: main,
    env: { ...sb.env, ...env },
    encoding: "utf8",
  });
}

test("git worktree add 2>&1 | true exits 0 with the hook, and the worktree gets its range", () => {
  const sb = sandbox();
  const main = repo(sb);
  assert.is(shards(sb, main, ["install"]).status, 0);
  const r = addIntoClosedPipe(sb, main, "x");
  assert.is(r.stdout, "rc=0\n", r.stderr);
  assert.ok(existsSync(join(sb.dir, "x/.git/../README")));
  assert.match(readFileSync(join(main, ".git/worktrees/x/shards.env"), "utf8"), "SHARD_PORT_RANGE_START=3010");
});

test("a shards error into a closed pipe still exits 0, and so does a gone CLI", () => {
  const sb = sandbox();
  const main = repo(sb);
  assert.is(shards(sb, main, ["install"]).status, 0);
  assert.is(addIntoClosedPipe(sb, main, "bad", { SHARDS_PORT_COUNT: "abc" }).stdout, "rc=0\n");
  const gone = sandbox();
  const other = repo(gone);
  assert.is(shards(gone, other, ["install"], { SHARDS_HOOK_CLI: join(gone.dir, "gone/cli.cjs") }).status, 0);
  assert.is(addIntoClosedPipe(gone, other, "y").stdout, "rc=0\n");
});

test("a chained hook keeps its own status and git's default SIGPIPE", () => {
  const sb = sandbox();
  const main = repo(sb);
  const previous = join(main, ".git/hooks/post-checkout");
  // It writes into the closed pipe: with SIGPIPE at its default it dies of it (141).
  writeFileSync(previous, "#!/bin/sh\ni=0; while [ $i -lt 1000 ]; do echo previous; i=$((i+1)); done\nexit 0\n", {
    mode: 0o755,
  });
  assert.is(shards(sb, main, ["install"]).status, 0);
  const r = addIntoClosedPipe(sb, main, "z");
  assert.is(r.stdout, "rc=141\n", "the chained hook's status is git's");
});

test.run();
