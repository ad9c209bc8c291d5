// SPEC "Repository layouts": a bare repository (`git clone --bare`) and the `.bare` layout
// (`proj/.bare` + a `proj/.git` file `gitdir: ./.bare`). Neither has a worktree of its own:
// no allocation there, commands that need one exit 1 saying so, install works there.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { sanitizeRegistry } from "../src/core/records.ts";
import { git, json, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";

function bareLayout(sb: Sandbox): string {
  const src = repo(sb, "src");
  const proj = join(sb.dir, "proj");
  git(sb, sb.dir, "clone", "-q", "--bare", src, join(proj, ".bare"));
  writeFileSync(join(proj, ".git"), "gitdir: ./.bare\n");
  return proj;
}

function noWorktree(sb: Sandbox, cwd: string, bare = cwd): void {
  for (const args of [["env"], ["env", "--format", "json"], ["allocate"], ["exec", "--", "true"]]) {
    const r = shards(sb, cwd, args);
    assert.is(r.status, 1, `${args.join(" ")}: ${r.stdout}`);
    assert.is(r.stdout, "");
    assert.match(r.stderr, `shards: ${bare} is a bare repository: it has no worktree of its own`);
  }
  const records = existsSync(sb.registry)
    ? sanitizeRegistry(JSON.parse(readFileSync(sb.registry, "utf8"))).records
    : [];
  assert.not.ok(
    records.some((r) => r.path === bare || r.path === cwd),
    "a phantom range",
  );
}

test("the .bare layout: proj/ is no worktree; install there covers its worktrees; create puts them in proj/", () => {
  const sb = sandbox();
  const proj = bareLayout(sb);
  noWorktree(sb, proj);
  const install = shards(sb, proj, ["install"]);
  assert.is(install.status, 0, install.stderr);
  assert.match(install.stdout, `installed the post-checkout hook in ${proj}/.bare/hooks`);
  assert.match(install.stdout, "a bare repository has no worktree of its own: nothing allocated here");
  const doctor = json(shards(sb, proj, ["doctor", "--json"]));
  const checks = Object.fromEntries(doctor.checks.map((c: { name: string; ok: boolean }) => [c.name, c.ok]));
  assert.equal([checks.git, checks.hook], [true, true], JSON.stringify(doctor));
  const add = git(sb, proj, "worktree", "add", "-q", "-b", "feat", "feat");
  assert.is(add, "");
  const feat = join(proj, "feat");
  assert.is(json(shards(sb, feat, ["env", "--format", "json", "--no-allocate"])).SHARD_PORT_RANGE_START, "3000");
  const created = shards(sb, feat, ["create", "other"]);
  assert.is(created.status, 0, created.stderr);
  assert.is(created.stdout.split("\n")[0], join(proj, "other"));
  // From proj/ itself, where `git worktree add` is run in this layout.
  const fromTop = shards(sb, proj, ["create", "top"]);
  assert.is(fromTop.status, 0, fromTop.stderr);
  assert.equal(fromTop.stdout.split("\n").slice(0, 2), [join(proj, "top"), "top -> ports 3020-3029"]);
});

test("a bare repository: install installs the hook for its worktrees; commands that need a worktree say there is none", () => {
  const sb = sandbox();
  const src = repo(sb, "src");
  const bare = join(sb.dir, "app.git");
  git(sb, sb.dir, "clone", "-q", "--bare", src, bare);
  noWorktree(sb, bare);
  const install = shards(sb, bare, ["install"]);
  assert.is(install.status, 0, install.stderr);
  assert.match(install.stdout, `installed the post-checkout hook in ${bare}/hooks`);
  git(sb, bare, "worktree", "add", "-q", "-b", "w", join(sb.dir, "w"));
  assert.is(
    json(shards(sb, join(sb.dir, "w"), ["env", "--format", "json", "--no-allocate"])).SHARD_PORT_RANGE_START,
    "3000",
  );
  const created = shards(sb, join(sb.dir, "w"), ["create", "x"]);
  assert.is(created.stdout.split("\n")[0], join(sb.dir, "app-x"));
  const fromBare = shards(sb, bare, ["create", "y", "--json"]);
  assert.is(fromBare.status, 0, fromBare.stderr);
  assert.equal([json(fromBare).path, json(fromBare).start], [join(sb.dir, "app-y"), 3020]);
  noWorktree(sb, join(bare, "refs"), bare);
});

test.run();
