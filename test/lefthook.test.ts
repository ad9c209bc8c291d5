// lefthook, the real one (the npm package): with and without a post-checkout of its own in
// lefthook.yml, `git worktree add` allocates, lefthook's own post-checkout keeps running, and
// doctor fails whenever a new worktree would get no range.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, git, json, ROOT, type RunResult, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";

const LEFTHOOK = join(ROOT, "node_modules/.bin/lefthook");

function run(sb: Sandbox, cwd: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const r = spawnSync(cmd, args, { cwd, env: { ...sb.env, NO_COLOR: "1", ...env }, encoding: "utf8" });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function lefthookInstall(sb: Sandbox, r: string): void {
  const out = run(sb, r, LEFTHOOK, ["install"]);
  assert.is(out.status, 0, out.stdout + out.stderr);
}

function add(sb: Sandbox, r: string, branch: string): RunResult {
  const out = run(sb, r, "git", ["worktree", "add", "-b", branch, `../${branch}`]);
  assert.is(out.status, 0, out.stderr);
  return out;
}

function rangeOf(sb: Sandbox, dir: string): string {
  const env = json(shards(sb, dir, ["env", "--format", "json", "--no-allocate"]));
  return env.SHARD_PORT_RANGE_START ? `${env.SHARD_PORT_RANGE_START}-${env.SHARD_PORT_RANGE_END}` : "none";
}

function doctorHook(sb: Sandbox, cwd: string): { ok: boolean; message: string; fix: string | null } {
  return json(shards(sb, cwd, ["doctor", "--json"])).checks.find((c: { name: string }) => c.name === "hook");
}

function commitAll(sb: Sandbox, r: string, message: string): void {
  git(sb, r, "add", "-A");
  git(sb, r, "commit", "-qm", message);
}

const PRE_COMMIT = "pre-commit:\n  commands:\n    lint:\n      run: echo lint\n";

function ownPostCheckout(marker: string): string {
  return `post-checkout:\n  commands:\n    own:\n      run: echo "own {1}" >> '${marker}'\n`;
}

test("lefthook.yml without post-checkout: the plain hook survives lefthook install and allocates", () => {
  const sb = sandbox();
  const r = repo(sb);
  writeFileSync(join(r, "lefthook.yml"), PRE_COMMIT);
  commitAll(sb, r, "lefthook");
  lefthookInstall(sb, r);
  const out = shards(sb, r, ["install"]);
  assert.is(out.status, 0, out.stderr);
  assert.match(out.stdout, `installed the post-checkout hook in ${r}/.git/hooks`);
  assert.match(out.stdout, "lefthook leaves it alone while its config has no post-checkout");
  lefthookInstall(sb, r); // again, after ours: lefthook must leave it
  assert.match(readFileSync(join(r, ".git/hooks/post-checkout"), "utf8"), "# shards post-checkout hook");
  assert.match(add(sb, r, "x").stderr, "shards: x -> ports 3010-3019");
  assert.is(doctorHook(sb, r).ok, true);

  // The config gains a post-checkout: lefthook renames ours and never runs it. Doctor says so.
  const marker = join(sb.dir, "own");
  writeFileSync(join(r, "lefthook.yml"), PRE_COMMIT + ownPostCheckout(marker));
  commitAll(sb, r, "own post-checkout");
  lefthookInstall(sb, r);
  assert.ok(existsSync(join(r, ".git/hooks/post-checkout.old")));
  const broken = doctorHook(sb, r);
  assert.is(broken.ok, false, broken.message);
  const lost = add(sb, r, "lost");
  assert.not.match(lost.stderr, "shards: lost");
  assert.is(rangeOf(sb, join(sb.dir, "lost")), "none");
});

test("lefthook.yml with post-checkout: install adds a committed command; after the commit, worktrees allocate and lefthook's own runs", () => {
  const sb = sandbox();
  const r = repo(sb);
  const marker = join(sb.dir, "own");
  writeFileSync(join(r, "lefthook.yml"), PRE_COMMIT + ownPostCheckout(marker));
  commitAll(sb, r, "lefthook");
  lefthookInstall(sb, r);
  const out = shards(sb, r, ["install"]);
  assert.is(out.status, 0, out.stderr);
  assert.match(out.stdout, `added the shards command to post-checkout in ${r}/lefthook.yml`);
  assert.match(out.stdout, `commit ${r}/lefthook.yml`);
  const text = readFileSync(join(r, "lefthook.yml"), "utf8");
  const ours = text.replace(ownPostCheckout(marker).split("\n").slice(2).join("\n"), "");
  assert.not.match(ours, sb.dir, "no path of this machine in the committed config");
  assert.not.match(ours, ROOT);
  // Not committed yet: a new worktree would get nothing, and doctor says so.
  const before = doctorHook(sb, r);
  assert.is(before.ok, false);
  assert.match(before.message, "is not committed");
  commitAll(sb, r, "shards");
  lefthookInstall(sb, r); // again, after ours: lefthook leaves this machine's hook alone
  assert.is(doctorHook(sb, r).ok, true, doctorHook(sb, r).message);
  const x = add(sb, r, "x");
  assert.match(x.stdout + x.stderr, "shards: x -> ports 3010-3019");
  assert.is(rangeOf(sb, join(sb.dir, "x")), "3010-3019");
  assert.equal(
    readFileSync(marker, "utf8").trim().split("\n"),
    [`own ${"0".repeat(40)}`],
    "lefthook's own post-checkout ran",
  );
  // An ordinary checkout starts no shards.
  const co = run(sb, join(sb.dir, "x"), "git", ["checkout", "-q", "-b", "other"]);
  assert.not.match(co.stdout + co.stderr, "shards:");
  // Idempotent.
  assert.match(shards(sb, r, ["install"]).stdout, "installed and current");
  assert.is(readFileSync(join(r, "lefthook.yml"), "utf8"), text);

  // A teammate without shards (no machine hook): the add works, lefthook's own still runs.
  rmSync(join(r, ".git/hooks/shards-post-checkout"));
  const y = add(sb, r, "y");
  assert.not.match(y.stdout + y.stderr, "shards:");
  assert.is(
    readFileSync(marker, "utf8")
      .trim()
      .split("\n")
      .filter((l) => l === `own ${"0".repeat(40)}`).length,
    2,
  );
  // A teammate whose shards lives elsewhere: install writes their machine hook, the committed config is unchanged.
  const elsewhere = join(sb.dir, "elsewhere.cjs");
  symlinkSync(CLI, elsewhere);
  assert.is(shards(sb, r, ["install"], { SHARDS_HOOK_CLI: elsewhere }).status, 0);
  assert.is(readFileSync(join(r, "lefthook.yml"), "utf8"), text);
  const z = add(sb, r, "z");
  assert.match(z.stdout + z.stderr, /shards: z -> ports \d+-\d+/);

  // Uninstall takes the command out again.
  const un = shards(sb, r, ["uninstall"]);
  assert.is(un.status, 0, un.stderr);
  assert.is(readFileSync(join(r, "lefthook.yml"), "utf8"), PRE_COMMIT + ownPostCheckout(marker));
  assert.not.ok(existsSync(join(r, ".git/hooks/shards-post-checkout")));
});

test("lefthook: before `lefthook install`, doctor fails and install says to run it", () => {
  const sb = sandbox();
  const r = repo(sb);
  writeFileSync(join(r, "lefthook.yml"), ownPostCheckout(join(sb.dir, "own")));
  commitAll(sb, r, "lefthook");
  const out = shards(sb, r, ["install"]);
  assert.match(out.stdout, "run `lefthook install`");
  commitAll(sb, r, "shards");
  const check = doctorHook(sb, r);
  assert.is(check.ok, false);
  assert.match(check.fix!, "lefthook install");
});

test.run();
