// husky v9, the real one (the npm package), and any relative core.hooksPath: git takes the
// hooks of the worktree that `git worktree add` runs in, and husky's `.husky/_` is there only
// once `npm install` (husky) ran in it. install and doctor say what will and will not run.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { git, json, ROOT, type RunResult, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";

const HUSKY = join(ROOT, "node_modules/husky/bin.js");

function run(sb: Sandbox, cwd: string, cmd: string, args: string[]): RunResult {
  const r = spawnSync(cmd, args, { cwd, env: sb.env, encoding: "utf8" });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** What `npm install` does for husky: its `prepare` script, `husky`. */
function husky(sb: Sandbox, cwd: string): void {
  const r = run(sb, cwd, process.execPath, [HUSKY]);
  assert.is(r.status, 0, r.stderr);
  assert.ok(existsSync(join(cwd, ".husky/_/h")));
}

function add(sb: Sandbox, from: string, branch: string): string {
  const r = run(sb, from, "git", ["worktree", "add", "-b", branch, join(from, "..", branch)]);
  assert.is(r.status, 0, r.stderr);
  return r.stderr
    .split("\n")
    .filter((l) => l.startsWith("shards:"))
    .join("\n");
}

function hookCheck(sb: Sandbox, cwd: string): { ok: boolean; message: string } {
  return json(shards(sb, cwd, ["doctor", "--json"])).checks.find((c: { name: string }) => c.name === "hook");
}

test("husky, installed from a linked worktree: install and doctor say where the hook will not run; first access covers the rest", () => {
  const sb = sandbox();
  const r = repo(sb);
  writeFileSync(join(r, "package.json"), '{"name":"app","scripts":{"prepare":"husky"}}\n');
  git(sb, r, "add", "package.json");
  git(sb, r, "commit", "-qm", "package");
  husky(sb, r);
  git(sb, r, "worktree", "add", "-q", "-b", "first", "../first");
  const first = join(sb.dir, "first");

  const out = shards(sb, first, ["install"]);
  assert.is(out.status, 0, out.stderr);
  assert.match(out.stdout, "core.hooksPath is relative (.husky/_)");
  assert.match(out.stdout, "the hook runs for `git worktree add` from: none");
  assert.match(out.stdout, `not from ${first}: no ${first}/.husky/_ there until \`npm install\` runs in it`);
  assert.match(out.stdout, `not from ${r}: no current shards hook in ${r}/.husky/post-checkout`);
  assert.match(out.stdout, "get their range on first access");
  assert.is(hookCheck(sb, first).ok, false);
  // True: neither worktree's add allocates.
  assert.is(add(sb, first, "a1"), "");
  assert.is(add(sb, r, "a2"), "");

  // npm install in the linked worktree, and shards install in the main one: both covered.
  for (const w of ["a1", "a2"]) git(sb, r, "worktree", "remove", join(sb.dir, w));
  husky(sb, first);
  assert.is(shards(sb, r, ["install"]).status, 0);
  assert.is(hookCheck(sb, first).ok, true, hookCheck(sb, first).message);
  assert.is(hookCheck(sb, r).ok, true, hookCheck(sb, r).message);
  assert.match(add(sb, first, "b1"), /^shards: b1 -> ports \d+-\d+$/);
  assert.match(add(sb, r, "b2"), /^shards: b2 -> ports \d+-\d+$/);

  // A new worktree without npm install: doctor fails again, and its range comes on first access.
  const b2 = join(sb.dir, "b2");
  assert.is(hookCheck(sb, r).ok, false);
  assert.is(add(sb, b2, "c1"), "");
  const env = json(shards(sb, join(sb.dir, "c1"), ["env", "--format", "json"]));
  assert.ok(Number(env.SHARD_PORT_RANGE_START) >= 3000);
});

test("a relative core.hooksPath installed from a linked worktree: the main worktree's add runs no hook, and doctor says so", () => {
  const sb = sandbox();
  const r = repo(sb);
  git(sb, r, "config", "core.hooksPath", ".githooks");
  git(sb, r, "worktree", "add", "-q", "-b", "first", "../first");
  const first = join(sb.dir, "first");
  const out = shards(sb, first, ["install"]);
  assert.is(out.status, 0, out.stderr);
  assert.match(out.stdout, `installed the post-checkout hook in ${first}/.githooks`);
  assert.match(out.stdout, `the hook runs for \`git worktree add\` from: ${first}`);
  assert.match(out.stdout, `not from ${r}: no current shards hook in ${r}/.githooks/post-checkout`);
  const check = hookCheck(sb, first);
  assert.is(check.ok, false);
  assert.match(check.message, `git worktree add\` run from ${r}`);
  assert.is(add(sb, r, "x"), "");
  assert.match(add(sb, first, "y"), /^shards: y -> ports/);
  mkdirSync(join(r, ".githooks"), { recursive: true });
  assert.is(shards(sb, r, ["install"]).status, 0);
  assert.is(hookCheck(sb, r).ok, false, "x and y have no hook of their own yet");
});

test.run();
