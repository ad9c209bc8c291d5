// Removing shards from a machine: `shards uninstall --all` takes the hook out of every
// repository the registry knows (putting back what was there), removes every shards.env,
// and names the state directory for the user to delete.
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { git, repo, sandbox, shards } from "./_helpers.ts";

test("uninstall --all: every repository's hook removed or put back, every shards.env removed, the state named", () => {
  const sb = sandbox();
  const a = repo(sb, "a");
  const b = repo(sb, "b");
  writeFileSync(join(b, "shards.config.json"), '{"envFile": ".env"}');
  writeFileSync(join(b, ".env"), "MINE=1\n");
  const previous = "#!/bin/sh\necho theirs\n";
  writeFileSync(join(b, ".git/hooks/post-checkout"), previous, { mode: 0o750 });
  for (const r of [a, b]) assert.is(shards(sb, r, ["install"]).status, 0);
  const wt = join(sb.dir, "a-wt");
  git(sb, a, "worktree", "add", "-q", "-b", "wt", wt);
  const envFiles = [join(a, ".git/shards.env"), join(a, ".git/worktrees/a-wt/shards.env"), join(b, ".git/shards.env")];
  for (const f of envFiles) assert.ok(existsSync(f), f);

  const r = shards(sb, sb.home, ["uninstall", "--all"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, "");
  assert.not.ok(existsSync(join(a, ".git/hooks/post-checkout")), "a's hook is gone");
  assert.is(readFileSync(join(b, ".git/hooks/post-checkout"), "utf8"), previous, "b's own hook is back");
  assert.is(statSync(join(b, ".git/hooks/post-checkout")).mode & 0o777, 0o750);
  for (const f of envFiles) assert.not.ok(existsSync(f), `${f} removed`);
  assert.match(r.stdout, `removed the shards post-checkout hook from ${join(a, ".git/hooks")}\n`);
  assert.match(
    r.stdout,
    `removed the shards post-checkout hook from ${join(b, ".git/hooks")} and put back the one that was there\n`,
  );
  assert.match(r.stdout, "removed 3 shards.env files\nremoved the ports' block from 1 envFile\n");
  assert.is(readFileSync(join(b, ".env"), "utf8"), "MINE=1\n", "the envFile holds what it held before");
  assert.match(
    r.stdout,
    `the registry is in ${sb.shardsHome}: delete it (rm -r ${sb.shardsHome}), then npm uninstall -g git-shards\n`,
  );
  // A second run finds nothing to do, and says so.
  const again = shards(sb, sb.home, ["uninstall", "--all"]);
  assert.is(again.status, 0, again.stderr);
  assert.not.match(again.stdout, "removed the shards");
});

test("uninstall --all also covers the repository it runs in when the registry does not know it", () => {
  const sb = sandbox();
  const here = repo(sb, "here");
  assert.is(shards(sb, here, ["install"]).status, 0);
  writeFileSync(sb.registry, JSON.stringify({ version: 1, allocations: [] }));
  const r = shards(sb, here, ["uninstall", "--all"]);
  assert.is(r.status, 0, r.stderr);
  assert.not.ok(existsSync(join(here, ".git/hooks/post-checkout")));
});

test("uninstall --all outside a repository is fine; plain uninstall there is not", () => {
  const sb = sandbox();
  const r = shards(sb, sb.home, ["uninstall"]);
  assert.is(r.status, 1);
  assert.match(r.stderr, "not inside a git worktree");
  assert.is(shards(sb, sb.home, ["uninstall", "--all"]).status, 0);
});

test.run();
