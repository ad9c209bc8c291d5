// The commands end to end, in real repositories with real git.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, git, json, repo, sandbox, shards } from "./_helpers.ts";

test("create three, list, destroy the middle one, create another: it reuses the freed range", () => {
  const sb = sandbox();
  const main = repo(sb, "app");
  const created = ["one", "two", "three"].map((b) => shards(sb, main, ["create", b]));
  for (const r of created) assert.is(r.status, 0, r.stderr);
  assert.equal(created[1].stdout, `${join(sb.dir, "app-two")}\ntwo -> ports 3010-3019\n`);
  assert.match(created[2].stdout, "three -> ports 3020-3029");

  const list = json(shards(sb, main, ["list", "--json"]));
  assert.equal(
    list.map((r: { branch: string; start: number | null; state: string }) => [r.branch, r.start, r.state]),
    [
      ["main", null, "none"],
      ["one", 3000, "ok"],
      ["three", 3020, "ok"],
      ["two", 3010, "ok"],
    ],
  );
  assert.equal(Object.keys(list[1]).sort(), [
    "branch",
    "count",
    "end",
    "intruders",
    "listening",
    "name",
    "path",
    "ports",
    "repo",
    "split",
    "start",
    "state",
  ]);
  const table = shards(sb, main, ["list"]).stdout;
  assert.match(table, /^BRANCH +PORTS +PATH +STATE/);
  assert.match(table, /\nmain +- +\S+app +none\n/);

  const destroyed = shards(sb, main, ["destroy", "two"]);
  assert.is(destroyed.status, 0, destroyed.stderr);
  assert.match(destroyed.stdout, "freed ports 3010-3019");
  assert.not.ok(existsSync(join(sb.dir, "app-two")));
  assert.match(git(sb, main, "branch", "--list", "two"), "two", "the branch is kept");

  const four = shards(sb, main, ["create", "feat/four", "--json"]);
  assert.equal(json(four), {
    path: join(sb.dir, "app-feat-four"),
    branch: "feat/four",
    start: 3010,
    end: 3019,
    count: 10,
    ports: {},
  });
});

test("create: --path, --from, --count, an existing branch, and bad input", () => {
  const sb = sandbox();
  const main = repo(sb);
  git(sb, main, "branch", "existing");
  const at = join(sb.dir, "custom place");
  const r = shards(sb, main, ["create", "existing", "--path", at, "--count", "3", "--json"]);
  assert.is(r.status, 0, r.stderr);
  assert.equal([json(r).path, json(r).count], [at, 3]);
  const from = shards(sb, main, ["create", "fresh", "--from", "existing"]);
  assert.is(from.status, 0, from.stderr);
  assert.is(shards(sb, main, ["create", "existing"]).status, 1, "checked out already");
  const badName = shards(sb, main, ["create", "bad..name"]);
  assert.equal([badName.status, badName.stderr.trim()], [1, 'shards: invalid branch name: "bad..name"']);
  const taken = shards(sb, main, ["create", "other", "--path", at]);
  assert.match(taken.stderr, "already exists");
});

test("create: a branch checked out in another worktree is an error that names that worktree", () => {
  const sb = sandbox();
  const main = repo(sb);
  assert.is(shards(sb, main, ["create", "alpha"]).status, 0);
  const holder = join(sb.dir, "repo-alpha");
  for (const args of [
    ["create", "alpha"],
    ["create", "alpha", "--path", join(sb.dir, "elsewhere")],
    ["create", "main"],
  ]) {
    const r = shards(sb, main, args);
    const where = args[1] === "main" ? main : holder;
    assert.equal([r.status, r.stdout], [1, ""], args.join(" "));
    assert.is(
      r.stderr,
      `shards: branch ${args[1]} is checked out in ${where}; pick another branch, or use that worktree\n`,
    );
  }
  assert.not.ok(existsSync(join(sb.dir, "elsewhere")));
});

test("create --count with the hook installed: the hook's allocation has that count, the range is printed once", () => {
  const sb = sandbox();
  const main = repo(sb);
  assert.is(shards(sb, main, ["install"]).status, 0);
  const r = shards(sb, main, ["create", "x", "--count", "3"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `${join(sb.dir, "repo-x")}\nx -> ports 3010-3012\n`);
  assert.not.match(r.stderr, "shards:", "the hook's own line is not printed as well");
  // git's lines as git prints them: "Preparing worktree" (stderr) before "HEAD is now at" (stdout).
  assert.match(r.stderr, /^Preparing worktree \(new branch 'x'\)\nHEAD is now at /);
  assert.equal(json(shards(sb, join(sb.dir, "repo-x"), ["allocate", "--json"])).count, 3);
  // Without --count, the hook's range is the one create prints.
  const plain = shards(sb, main, ["create", "y", "--json"]);
  assert.equal([json(plain).start, json(plain).count], [3020, 10]);
});

test("allocate --count different from the range's size is an error that names the range", () => {
  const sb = sandbox();
  const main = repo(sb);
  assert.is(shards(sb, main, ["allocate"]).status, 0);
  const r = shards(sb, main, ["allocate", "--count", "5"]);
  assert.equal([r.status, r.stdout], [1, ""]);
  assert.is(r.stderr, "shards: this worktree has ports 3000-3009 (10 ports); run `shards release` first to get 5\n");
  assert.is(shards(sb, main, ["allocate", "--count", "10"]).status, 0, "the same count is no change");
});

test("create: a full pool leaves no worktree and no branch behind", () => {
  const sb = sandbox({ SHARDS_MAX_PORT: "3009" });
  const main = repo(sb);
  assert.is(shards(sb, main, ["allocate"]).status, 0);
  const r = shards(sb, main, ["create", "late"]);
  assert.is(r.status, 1);
  assert.match(r.stderr, "no free block of 10 ports in the pool 3000-3009 (1 ranges taken)");
  assert.not.ok(existsSync(join(sb.dir, "repo-late")));
  assert.is(git(sb, main, "branch", "--list", "late"), "");
});

test("exhaustion counts the ranges in this pool, not the machine's", () => {
  const sb = sandbox();
  const other = repo(sb, "other");
  shards(sb, other, ["allocate"]);
  const main = repo(sb);
  writeFileSync(join(main, "shards.config.json"), '{"basePort": 6100, "maxPort": 6119}');
  shards(sb, main, ["allocate"]);
  shards(sb, main, ["create", "two"]);
  const r = shards(sb, main, ["create", "three"]);
  assert.match(r.stderr, "in the pool 6100-6119 (2 ranges taken)");
});

test("list, which and destroy follow a worktree that moved or switched branch", () => {
  const sb = sandbox();
  const main = repo(sb);
  const wt = json(shards(sb, main, ["create", "feature", "--json"]));
  const moved = join(sb.dir, "moved");
  git(sb, main, "worktree", "move", wt.path, moved);
  git(sb, moved, "checkout", "-q", "-b", "renamed");
  const row = json(shards(sb, main, ["list", "--json"])).find((r: { start: number }) => r.start === wt.start);
  assert.equal([row.path, row.branch, row.state], [moved, "renamed", "ok"]);
  assert.equal(json(shards(sb, main, ["which", String(wt.start), "--json"])).owner, {
    path: moved,
    branch: "renamed",
    name: null,
  });
  assert.match(shards(sb, main, ["destroy", "renamed"]).stdout, `freed ports ${wt.start}-${wt.end}`);
});

test("a bad config stops release, list and prune too, before anything is written", () => {
  const sb = sandbox();
  const main = repo(sb);
  shards(sb, main, ["allocate"]);
  writeFileSync(join(main, ".shardsrc"), "portCount=0");
  for (const args of [["release"], ["list"], ["prune"]]) {
    const r = shards(sb, main, args);
    assert.equal([r.status, r.stderr.trim().split("\n").length], [1, 1], args[0]);
    assert.match(r.stderr, /invalid portCount 0 in .*\.shardsrc/);
  }
  assert.ok(existsSync(join(main, ".git/shards.env")), "nothing was released");
});

test("allocate is stable, and release frees the range and removes shards.env", () => {
  const sb = sandbox();
  const main = repo(sb);
  const first = json(shards(sb, main, ["allocate", "--json"]));
  assert.equal(json(shards(sb, main, ["allocate", "--json", main])), first);
  // Every command works from any directory inside the worktree.
  const sub = join(main, "sub/deeper");
  mkdirSync(sub, { recursive: true });
  assert.equal(json(shards(sb, sub, ["allocate", "--json"])), first);
  assert.equal(json(shards(sb, main, ["allocate", "--json", sub])), first);
  assert.is(json(shards(sb, sub, ["env", "--format", "json"])).SHARD_ROOT, main);
  assert.equal(
    json(shards(sb, sub, ["list", "--json"])).map((r: { path: string }) => r.path),
    [main],
  );
  assert.is(shards(sb, sub, ["exec", "--", "sh", "-c", 'echo "$SHARD_PORT_RANGE_START"']).stdout, "3000\n");
  const envFile = join(main, ".git/shards.env");
  assert.match(readFileSync(envFile, "utf8"), /^SHARD_PORT_RANGE_START=3000\n/);
  const released = shards(sb, sub, ["release"]);
  assert.equal([released.status, released.stdout], [0, "released ports 3000-3009 (main)\n"]);
  assert.not.ok(existsSync(envFile));
  const again = shards(sb, main, ["release"]);
  assert.equal([again.status, again.stdout], [0, `no ports to release for ${main}\n`]);
});

test("a lost registry: the worktree's shards.env range is adopted again", () => {
  const sb = sandbox();
  const main = repo(sb);
  shards(sb, main, ["allocate", "--count", "4"]);
  writeFileSync(
    join(main, ".git/shards.env"),
    `SHARD_PORT_RANGE_START=3500\nSHARD_PORT_RANGE_END=3503\nSHARD_PORT_COUNT=4\nSHARD_ROOT=${main}\n`,
  );
  rmSync(sb.registry);
  assert.equal(json(shards(sb, main, ["allocate", "--json"])).start, 3500);
});

test("env: every format, --no-allocate, and a worktree moved with git worktree move", () => {
  const sb = sandbox();
  const main = repo(sb);
  const wt = join(sb.dir, "w t");
  git(sb, main, "worktree", "add", "-q", "-b", "b", wt);
  const none = shards(sb, wt, ["env", "--no-allocate", "--format", "json"]);
  assert.equal([none.status, none.stdout], [0, "{}\n"]);
  assert.is(shards(sb, wt, ["env", "--no-allocate"]).stdout, "");
  const sh = shards(sb, wt, ["env"]).stdout;
  assert.is(
    sh,
    `export SHARD_PORT_RANGE_START='3000'\nexport SHARD_PORT_RANGE_END='3009'\nexport SHARD_PORT_COUNT='10'\nexport SHARD_ROOT='${wt}'\nexport SHARD_NAME='w-t'\n`,
  );
  assert.match(shards(sb, wt, ["env", "--format", "fish"]).stdout, "set -gx SHARD_PORT_COUNT '10'\n");
  assert.match(shards(sb, wt, ["env", "--format", "dotenv"]).stdout, "SHARD_PORT_RANGE_END=3009\n");
  assert.is(json(shards(sb, wt, ["env", "--no-allocate", "--format", "json"])).SHARD_PORT_RANGE_START, "3000");
  const bad = shards(sb, wt, ["env", "--format", "xml"]);
  assert.equal([bad.status, bad.stdout], [2, ""]);
  assert.match(bad.stderr, "USAGE");

  const moved = join(sb.dir, "moved");
  git(sb, main, "worktree", "move", wt, moved);
  assert.is(shards(sb, main, ["prune", "--dry-run"]).stdout, "nothing to prune\n", "a moved worktree is not stale");
  const env = json(shards(sb, moved, ["env", "--format", "json"]));
  assert.equal([env.SHARD_PORT_RANGE_START, env.SHARD_ROOT], ["3000", moved]);
});

test("prune frees the ranges of worktrees that are gone, and --dry-run only says so", () => {
  const sb = sandbox();
  const main = repo(sb);
  shards(sb, main, ["create", "gone"]);
  shards(sb, main, ["create", "kept"]);
  rmSync(join(sb.dir, "repo-gone"), { recursive: true, force: true });
  const listed = json(shards(sb, main, ["list", "--json"]));
  assert.is(listed.find((r: { branch: string }) => r.branch === "gone").state, "stale");
  const dry = shards(sb, main, ["prune", "--dry-run"]);
  assert.match(dry.stdout, /^would free ports 3000-3009 \(gone, /);
  const pruned = shards(sb, main, ["prune"]);
  assert.match(pruned.stdout, /^freed ports 3000-3009 \(gone, /);
  assert.is(shards(sb, main, ["prune"]).stdout, "nothing to prune\n");
  assert.equal(json(shards(sb, main, ["allocate", "--json"])).start, 3000, "the freed range is reused");
});

test("list --all shows every repository; outside a repository, list needs --all", () => {
  const sb = sandbox();
  const a = repo(sb, "a");
  const b = repo(sb, "b");
  shards(sb, a, ["allocate"]);
  shards(sb, b, ["allocate"]);
  assert.is(json(shards(sb, a, ["list", "--json"])).length, 1);
  const all = json(shards(sb, sb.home, ["list", "--all", "--json"]));
  assert.equal(
    all.map((r: { repo: string }) => r.repo),
    [a, b],
  );
  const outside = shards(sb, sb.home, ["list"]);
  assert.equal([outside.status, outside.stderr.includes("not inside a git worktree")], [1, true]);
});

test("errors outside a repository are one line, no stack", () => {
  const sb = sandbox();
  for (const args of [["allocate"], ["env"], ["exec", "--", "true"], ["create", "x"], ["destroy", "x"]]) {
    const r = shards(sb, sb.home, args);
    assert.is(r.status, 1, args.join(" "));
    assert.is(r.stderr, `shards: not inside a git worktree: ${sb.home} (run shards inside a git repository)\n`);
  }
  const missing = shards(sb, sb.home, ["create"]);
  assert.equal([missing.status, missing.stdout], [2, ""]);
  assert.match(missing.stderr, "BRANCH");
});

test("destroy: refuses the main worktree, keeps a dirty one without --force", () => {
  const sb = sandbox();
  const main = repo(sb);
  shards(sb, main, ["create", "dirty"]);
  const wt = join(sb.dir, "repo-dirty");
  writeFileSync(join(wt, "new-file"), "x");
  const refused = shards(sb, main, ["destroy", "dirty"]);
  assert.equal([refused.status, existsSync(wt)], [1, true]);
  assert.match(refused.stderr, "--force");
  assert.is(
    json(shards(sb, main, ["list", "--json"])).find((r: { branch: string }) => r.branch === "dirty").state,
    "ok",
  );
  assert.is(shards(sb, main, ["destroy", wt, "--force"]).status, 0);
  assert.match(shards(sb, main, ["destroy", main]).stderr, "main worktree");
});

test("exec: variables in, exit code out", () => {
  const sb = sandbox();
  const main = repo(sb);
  const r = shards(sb, main, ["exec", "--", "sh", "-c", 'echo "$SHARD_PORT_RANGE_START $SHARD_ROOT"; exit 7']);
  assert.equal([r.status, r.stdout], [7, `3000 ${main}\n`]);
  assert.is(shards(sb, main, ["exec", "--", "true", "--help"]).status, 0, "flags after -- are the command's");
  const missing = shards(sb, main, ["exec", "--", "no-such-command-xyz"]);
  assert.equal([missing.status, missing.stderr], [127, "shards: cannot run no-such-command-xyz: command not found\n"]);
  // A command killed outright: shards dies of the same signal, with nothing to say.
  for (const signal of ["KILL", "SEGV"]) {
    const killed = shards(sb, main, ["exec", "--", "sh", "-c", `kill -${signal} $$`]);
    assert.equal([killed.signal, killed.stderr], [`SIG${signal}`, ""], signal);
  }
});

test("exec: a signal to shards reaches the command, and shards dies of it too", async () => {
  const sb = sandbox();
  const main = repo(sb);
  const marker = join(sb.dir, "got-term");
  const child = spawn(
    process.execPath,
    [
      CLI,
      "exec",
      "--",
      "sh",
      "-c",
      `trap 'echo term > "${marker}"; trap - TERM; kill -TERM $$' TERM; echo ready; while :; do sleep 0.05; done`,
    ],
    {
      cwd: main,
      env: sb.env,
    },
  );
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  // Never a hang: an exec that ends before its command is ready fails the test.
  await new Promise<void>((ready, fail) => {
    child.stdout.on("data", () => ready());
    child.on("exit", (c, s) => fail(new Error(`exec ended first (${c ?? s}): ${stderr}`)));
  });
  child.kill("SIGTERM");
  const [code, signal] = await new Promise<[number | null, string | null]>((done) =>
    child.on("exit", (c, s) => done([c, s])),
  );
  assert.equal([code, signal], [null, "SIGTERM"]);
  assert.is(readFileSync(marker, "utf8"), "term\n");
});

test("--version, --help and unknown commands", () => {
  const sb = sandbox();
  const pkg = JSON.parse(readFileSync(join(CLI, "../../package.json"), "utf8"));
  assert.is(shards(sb, sb.home, ["--version"]).stdout.trim(), pkg.version);
  const help = shards(sb, sb.home, ["--help"]);
  assert.is(help.status, 0);
  for (const c of ["allocate", "release", "create", "destroy", "list", "prune", "env", "exec", "hook"])
    assert.match(help.stdout, c);
  const unknown = shards(sb, sb.home, ["frobnicate"]);
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, "unknown command frobnicate");
});

test.run();
