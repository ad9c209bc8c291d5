// Issue 14.5 and 14.6: the `envFile` block, read back by the real dotenv parser, kept
// byte-exact outside its markers, written by the hook, removed on release, never written
// into a tracked file, excluded from `git status`; and SHARD_NAME.
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "dotenv";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { withEnvBlock } from "../src/core/env.ts";
import { git, json, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";

const USER_TEXT = "# mine\nFOO=1\nBAR='a b'\n\nexport BAZ=2\n";

function withConfig(sb: Sandbox, name = "repo", config: object = { envFile: ".env", names: ["web", "api"] }): string {
  const main = repo(sb, name);
  writeFileSync(join(main, "shards.config.json"), JSON.stringify(config));
  return main;
}

test("allocation keeps the block in .env: dotenv reads it, every other byte stays, git status stays clean", () => {
  const sb = sandbox();
  const main = withConfig(sb);
  writeFileSync(join(main, ".env"), USER_TEXT);
  assert.is(shards(sb, main, ["allocate"]).status, 0);
  const text = readFileSync(join(main, ".env"), "utf8");
  assert.ok(text.startsWith(USER_TEXT), "the user's lines come first, unchanged");
  const parsed = parse(text);
  assert.equal(
    [parsed.FOO, parsed.BAR, parsed.SHARD_PORT_WEB, parsed.SHARD_PORT_API, parsed.SHARD_ROOT, parsed.SHARD_NAME],
    ["1", "a b", "3000", "3001", main, "repo"],
  );
  assert.is(withEnvBlock(text, null), USER_TEXT);
  assert.not.match(git(sb, main, "status", "--porcelain"), ".env");
  assert.match(readFileSync(join(main, ".git/info/exclude"), "utf8"), "\n/.env\n");
  // Asking again changes nothing; a new range rewrites the block in place.
  shards(sb, main, ["allocate"]);
  assert.is(readFileSync(join(main, ".env"), "utf8"), text);
  writeFileSync(join(main, ".env"), `${text}AFTER=1\n`);
  shards(sb, main, ["release"]);
  assert.is(readFileSync(join(main, ".env"), "utf8"), `${USER_TEXT}AFTER=1\n`, "release takes out the block only");
  shards(sb, main, ["allocate", "--count", "5"]);
  const again = readFileSync(join(main, ".env"), "utf8");
  assert.match(again, "SHARD_PORT_COUNT=5\n");
  assert.is(withEnvBlock(again, null), `${USER_TEXT}AFTER=1\n`);
  // A line someone added inside the block goes with it: no old port is left behind.
  writeFileSync(join(main, ".env"), again.replace("SHARD_PORT_COUNT=5\n", "SHARD_PORT_COUNT=5\n# note\n"));
  shards(sb, main, ["release"]);
  assert.is(readFileSync(join(main, ".env"), "utf8"), `${USER_TEXT}AFTER=1\n`, "the edited block is taken out whole");
});

test("a file shards created is removed on release; a path with spaces reads back exactly", () => {
  const sb = sandbox();
  const main = withConfig(sb, "my repo", { envFile: ".env.local" });
  shards(sb, main, ["allocate"]);
  const file = join(main, ".env.local");
  assert.is(parse(readFileSync(file, "utf8")).SHARD_ROOT, main);
  assert.is(parse(readFileSync(file, "utf8")).SHARD_NAME, "my-repo");
  shards(sb, main, ["release"]);
  assert.not.ok(existsSync(file));
});

test("the hook writes the block into the new worktree", () => {
  const sb = sandbox();
  const main = withConfig(sb);
  assert.is(shards(sb, main, ["install"]).status, 0);
  const wt = join(sb.dir, "feature");
  git(sb, main, "worktree", "add", "-q", "-b", "feature", wt);
  const parsed = parse(readFileSync(join(wt, ".env"), "utf8"));
  assert.equal([parsed.SHARD_PORT_RANGE_START, parsed.SHARD_ROOT, parsed.SHARD_NAME], ["3010", wt, "feature"]);
  assert.is(git(sb, wt, "status", "--porcelain"), "");
});

test("a tracked file is never written: one warning says why", () => {
  const sb = sandbox();
  const main = withConfig(sb);
  writeFileSync(join(main, ".env"), USER_TEXT);
  git(sb, main, "add", ".env");
  git(sb, main, "commit", "-qm", "env");
  const r = shards(sb, main, ["allocate"]);
  assert.is(r.status, 0);
  assert.match(r.stderr, /^shards: warning: not writing the ports to .*\.env: git tracks it/);
  assert.is(r.stderr.split("\n").length, 2);
  assert.is(readFileSync(join(main, ".env"), "utf8"), USER_TEXT);
});

test("a symbolic link, a directory or a missing directory is never written: one warning says why", () => {
  const sb = sandbox();
  const main = withConfig(sb);
  const shared = join(sb.dir, "shared.env");
  writeFileSync(shared, USER_TEXT);
  symlinkSync(shared, join(main, ".env"));
  const r = shards(sb, main, ["allocate"]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /^shards: warning: not writing the ports to .*\.env: it is a symbolic link/);
  assert.is(r.stderr.split("\n").length, 2);
  shards(sb, main, ["release"]);
  assert.ok(lstatSync(join(main, ".env")).isSymbolicLink(), "the link stays");
  assert.is(readFileSync(shared, "utf8"), USER_TEXT, "the file it points to stays");
  for (const [envFile, why] of [
    ["config", "it is not a regular file"],
    ["sub/dir/.env", "its directory .*/sub/dir does not exist"],
    ["shards.config.json/.env", "its directory .*/shards.config.json does not exist"],
  ]) {
    const sb2 = sandbox();
    const other = withConfig(sb2, "repo", { envFile });
    mkdirSync(join(other, "config"));
    const a = shards(sb2, other, ["allocate", "--json"]);
    assert.is(a.status, 0, a.stderr);
    assert.is(json(a).start, 3000, envFile);
    assert.match(a.stderr, new RegExp(`^shards: warning: not writing the ports to .*: ${why} \\(set envFile`), envFile);
    assert.is(shards(sb2, other, ["release"]).status, 0, envFile);
  }
});

test("envFile must stay inside the worktree", () => {
  for (const bad of ["../x.env", "/etc/x", ".git/x", "", 3]) {
    const sb = sandbox();
    const main = withConfig(sb, "repo", { envFile: bad });
    const r = shards(sb, main, ["allocate"]);
    assert.is(r.status, 1, String(bad));
    assert.match(r.stderr, "invalid envFile");
  }
});

test("SHARD_NAME: from the directory, unique on the machine, stable, in shards.env", () => {
  const sb = sandbox();
  const a = repo(sb, "x/app");
  const b = repo(sb, "y/app");
  assert.is(json(shards(sb, a, ["env", "--format", "json"])).SHARD_NAME, "app");
  assert.is(json(shards(sb, b, ["env", "--format", "json"])).SHARD_NAME, "app-2");
  assert.is(json(shards(sb, b, ["env", "--format", "json"])).SHARD_NAME, "app-2");
  assert.match(readFileSync(join(b, ".git/shards.env"), "utf8"), "SHARD_NAME=app-2\n");
});

test.run();
