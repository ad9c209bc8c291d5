// The git hook end to end: real git in temp repositories, the built CLI, and marker files
// that prove what ran and how often.
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type Allocation, overlaps, sanitizeRegistry } from "../src/core/records.ts";
import { CLI, git, json, type RunResult, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";

const NULL_ID = "0".repeat(40);

/** git with its whole result: the hook's output lands in git's stderr. */
function gitRun(sb: Sandbox, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  const r = spawnSync("git", args, { cwd, env: { ...sb.env, ...env }, encoding: "utf8" });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function gitAsync(sb: Sandbox, cwd: string, args: string[]): Promise<RunResult> {
  return new Promise((done) => {
    const child = spawn("git", args, { cwd, env: sb.env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status, signal) => done({ status, signal, stdout, stderr }));
  });
}

/** A "node" that logs each start to a marker file, then runs the real node: counts CLI starts. */
function markerNode(sb: Sandbox, dir = join(sb.dir, "bin")): { env: NodeJS.ProcessEnv; starts: () => string[] } {
  const marker = join(sb.dir, "node-starts");
  mkdirSync(dir, { recursive: true });
  const node = join(dir, "node");
  writeFileSync(node, `#!/bin/sh\necho "$*" >> '${marker}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
  const starts = () => (existsSync(marker) ? readFileSync(marker, "utf8").split("\n").filter(Boolean) : []);
  return { env: { SHARDS_HOOK_NODE: node }, starts };
}

function shardLines(output: string): string[] {
  return output.split("\n").filter((l) => l.startsWith("shards:"));
}

function install(sb: Sandbox, cwd: string, env: NodeJS.ProcessEnv = {}): RunResult {
  const r = shards(sb, cwd, ["install"], env);
  assert.is(r.status, 0, `shards install failed:\n${r.stdout}${r.stderr}`);
  return r;
}

function records(sb: Sandbox): Allocation[] {
  return sanitizeRegistry(JSON.parse(readFileSync(sb.registry, "utf8"))).records;
}

function rangeOf(sb: Sandbox, dir: string): string {
  const env = json(shards(sb, dir, ["env", "--format", "json", "--no-allocate"]));
  return env.SHARD_PORT_RANGE_START ? `${env.SHARD_PORT_RANGE_START}-${env.SHARD_PORT_RANGE_END}` : "none";
}

const mode = (file: string) => statSync(file).mode & 0o7777;

test("git worktree add after install allocates and git's output shows the range", () => {
  const sb = sandbox();
  const r = repo(sb);
  const out = install(sb, r);
  assert.match(out.stdout, `installed the post-checkout hook in ${r}/.git/hooks`);
  assert.match(out.stdout, "main -> ports 3000-3009");
  const add = gitRun(sb, r, ["worktree", "add", "-b", "feature-x", "../feature-x"]);
  assert.is(add.status, 0, add.stderr);
  assert.equal(shardLines(add.stderr), ["shards: feature-x -> ports 3010-3019"]);
  assert.is(rangeOf(sb, join(sb.dir, "feature-x")), "3010-3019");
});

test("the hook finds the new worktree's shards.env from its .git file: no git process of its own", () => {
  const sb = sandbox();
  const r = repo(sb);
  install(sb, r);
  const trace = join(sb.dir, "trace");
  const add = spawnSync("strace", ["-f", "-e", "trace=execve", "-o", trace, "git", "worktree", "add", "../wt"], {
    cwd: r,
    env: sb.env,
    encoding: "utf8",
  });
  assert.match(add.stderr, "shards: wt -> ports 3010-3019");
  const execs = readFileSync(trace, "utf8")
    .split("\n")
    .filter((l) => /execve\(/.test(l) && !/ENOENT/.test(l));
  assert.equal(
    execs.filter((l) => l.includes('"rev-parse"')),
    [],
  );
});

test("git checkout and git switch between branches start no node", () => {
  const sb = sandbox();
  const r = repo(sb);
  const node = markerNode(sb);
  install(sb, r, node.env);
  gitRun(sb, r, ["worktree", "add", "-b", "feature-x", "../feature-x"]);
  assert.is(node.starts().length, 1, "the new worktree starts the CLI once");
  assert.match(node.starts()[0]!, `post-checkout --listening-on-stdin ${NULL_ID}`);
  const wt = join(sb.dir, "feature-x");
  for (const [cwd, args] of [
    [r, ["checkout", "-q", "-b", "other"]],
    [r, ["switch", "-q", "main"]],
    [r, ["checkout", "-q", "other"]],
    [wt, ["switch", "-q", "-c", "feature-y"]],
    [wt, ["checkout", "-q", "feature-x"]],
    [r, ["checkout", "-q", "--", "README"]],
  ] as const) {
    const run = gitRun(sb, cwd, [...args]);
    assert.is(run.status, 0, run.stderr);
    assert.equal(shardLines(run.stderr), []);
  }
  assert.is(node.starts().length, 1, "no checkout started node");
});

test("install is idempotent; an older shards hook is updated in place", () => {
  const sb = sandbox();
  const r = repo(sb);
  const hooks = join(r, ".git/hooks");
  const hook = join(hooks, "post-checkout");
  install(sb, r);
  const bytes = readFileSync(hook);
  const listing = readdirSync(hooks).sort();
  const mtime = statSync(hook).mtimeMs;
  const again = install(sb, r);
  assert.match(again.stdout, "is installed and current");
  assert.equal(readFileSync(hook), bytes);
  assert.equal(readdirSync(hooks).sort(), listing);
  assert.is(statSync(hook).mtimeMs, mtime);
  // An older version of our hook: replaced, not chained.
  writeFileSync(hook, bytes.toString().replace("# A new worktree", "# An older worktree"));
  assert.match(install(sb, r).stdout, "updated the post-checkout hook");
  assert.equal(readFileSync(hook), bytes);
  assert.equal(readdirSync(hooks).sort(), listing);
  assert.is(mode(hook), 0o755);
});

test("git worktree add --no-checkout runs no hook; shards env allocates on first access", () => {
  const sb = sandbox();
  const r = repo(sb);
  install(sb, r);
  const add = gitRun(sb, r, ["worktree", "add", "--no-checkout", "-b", "bare-ish", "../nc"]);
  assert.is(add.status, 0, add.stderr);
  assert.equal(shardLines(add.stderr), []);
  const nc = join(sb.dir, "nc");
  assert.is(rangeOf(sb, nc), "none");
  const env = json(shards(sb, nc, ["env", "--format", "json"]));
  assert.is(env.SHARD_PORT_RANGE_START, "3010");
  assert.is(rangeOf(sb, nc), "3010-3019");
});

test("30 git worktree add at once over 3 repositories: 33 ranges, no overlap, a valid registry", async () => {
  const sb = sandbox();
  const repos = ["a", "b", "c"].map((name) => repo(sb, name));
  for (const r of repos) install(sb, r);
  // Concurrent `git worktree add` in one repository can trip over each other inside git
  // itself ("fatal: failed to read .git/worktrees/<other>/commondir"), before any worktree
  // or hook exists; such an add is started again, as a person would (with -B, as the
  // branch may exist by then). Shards is not involved.
  const add = async (r: string, args: string[]) => {
    for (let attempt = 0; ; attempt++) {
      const res = await gitAsync(sb, r, attempt === 0 ? args : args.map((a) => (a === "-b" ? "-B" : a)));
      if (res.status === 0 || attempt === 5 || !/^fatal: failed to read .*\/worktrees\//m.test(res.stderr)) return res;
    }
  };
  const adds = repos.flatMap((r, i) =>
    Array.from({ length: 10 }, (_, k) =>
      add(r, ["worktree", "add", "-q", "-b", `w${k}`, join(sb.dir, `wt-${i}-${k}`)]),
    ),
  );
  const results = await Promise.all(adds);
  for (const res of results) {
    assert.is(res.status, 0, res.stderr);
    assert.is(shardLines(res.stderr).length, 1, res.stderr);
    assert.match(res.stderr, /^shards: w\d -> ports \d+-\d+$/m);
  }
  const doc = JSON.parse(readFileSync(sb.registry, "utf8"));
  const { records: recs, problems } = sanitizeRegistry(doc);
  assert.equal(problems, []);
  assert.is(recs.length, 33);
  assert.is(new Set(recs.map((r) => r.gitDir)).size, 33);
  for (const a of recs)
    for (const b of recs) if (a !== b) assert.not.ok(overlaps(a, b), `${a.path} overlaps ${b.path}`);
  // First fit: the 33 ranges are the first 33 slots (3300-3309 holds 3306, excluded by default).
  const slots = Array.from({ length: 34 }, (_, i) => 3000 + 10 * i).filter((start) => start !== 3300);
  assert.equal(
    recs.map((r) => r.start).sort((x, y) => x - y),
    slots,
  );
});

test("an existing hook is chained: runs once with its arguments and stdin, its exit status is git's, uninstall restores bytes and mode", () => {
  const sb = sandbox();
  const r = repo(sb);
  const hook = join(r, ".git/hooks/post-checkout");
  const marker = join(sb.dir, "theirs");
  const original = `#!/bin/sh\n# theirs\nprintf '%s|' "$@" >> '${marker}'\nprintf 'stdin=%s\\n' "$(cat)" >> '${marker}'\nexit 3\n`;
  writeFileSync(hook, original);
  chmodSync(hook, 0o751);
  const out = install(sb, r);
  assert.match(out.stdout, "the one that was there runs after it, as post-checkout.shards-previous");

  const add = gitRun(sb, r, ["worktree", "add", "-b", "feature-x", "../feature-x"]);
  assert.is(add.status, 3, "git exits with the chained hook's status");
  assert.equal(shardLines(add.stderr), ["shards: feature-x -> ports 3010-3019"]);
  const head = git(sb, join(sb.dir, "feature-x"), "rev-parse", "HEAD").trim();
  assert.equal(readFileSync(marker, "utf8").split("\n").filter(Boolean), [`${NULL_ID}|${head}|1|stdin=`]);
  assert.is(rangeOf(sb, join(sb.dir, "feature-x")), "3010-3019");

  // An ordinary checkout: theirs runs once more, ours starts nothing.
  const co = gitRun(sb, r, ["checkout", "-q", "-b", "other"]);
  assert.is.not(co.status, 0);
  assert.equal(shardLines(co.stderr), []);
  assert.is(readFileSync(marker, "utf8").split("\n").filter(Boolean).length, 2);

  // Their stdin reaches them, on both paths.
  for (const first of [head, NULL_ID]) {
    const direct = spawnSync(hook, [first, head, "1"], { cwd: r, env: sb.env, input: "piped", encoding: "utf8" });
    assert.is(direct.status, 3);
  }
  const lines = readFileSync(marker, "utf8").split("\n").filter(Boolean);
  assert.equal(lines.slice(2), [`${head}|${head}|1|stdin=piped`, `${NULL_ID}|${head}|1|stdin=piped`]);

  const un = shards(sb, r, ["uninstall"]);
  assert.is(un.status, 0, un.stderr);
  assert.match(un.stdout, "put back the one that was there");
  assert.is(readFileSync(hook, "utf8"), original);
  assert.is(mode(hook), 0o751);
  assert.not.ok(existsSync(`${hook}.shards-previous`));
});

test("the chained hook and husky's lines below our block run with the new worktree's SHARD_* variables", () => {
  const sb = sandbox();
  const r = repo(sb);
  writeFileSync(join(r, "shards.config.json"), '{"names": ["web"], "exportPort": true}');
  const marker = join(sb.dir, "theirs");
  const show = `echo "$SHARD_PORT_RANGE_START-$SHARD_PORT_RANGE_END web=$SHARD_PORT_WEB port=$PORT root=$SHARD_ROOT" >> '${marker}'`;
  writeFileSync(
    join(r, ".git/hooks/post-checkout"),
    `#!/bin/sh
${show}
`,
    { mode: 0o755 },
  );
  install(sb, r);
  const wt = join(sb.dir, "with space");
  assert.is(gitRun(sb, r, ["worktree", "add", "-b", "x", wt]).status, 0);
  assert.is(
    readFileSync(marker, "utf8"),
    `3010-3019 web=3010 port=3010 root=${wt}
`,
  );
  // An ordinary checkout: nothing of ours is set.
  gitRun(sb, wt, ["checkout", "-q", "-b", "y"], { SHARD_PORT_RANGE_START: "" });
  assert.is(readFileSync(marker, "utf8").split("\n")[1], "- web= port= root=");

  // husky: the user's lines below our block, run by husky with sh -e.
  const sb2 = sandbox();
  const r2 = repo(sb2);
  huskyLayout(sb2, r2);
  const marker2 = join(sb2.dir, "theirs");
  writeFileSync(
    join(r2, ".husky/post-checkout"),
    `echo "$SHARD_PORT_RANGE_START-$SHARD_PORT_RANGE_END" >> '${marker2}'
`,
  );
  install(sb2, r2);
  assert.is(gitRun(sb2, r2, ["worktree", "add", "-b", "x", "../x"]).status, 0);
  assert.is(readFileSync(marker2, "utf8"), "3010-3019\n");
});

test("uninstall: nothing installed is no error; a hook install created is removed", () => {
  const sb = sandbox();
  const r = repo(sb);
  const hooks = join(r, ".git/hooks");
  const before = readdirSync(hooks).sort();
  const none = shards(sb, r, ["uninstall"]);
  assert.is(none.status, 0, none.stderr);
  assert.match(none.stdout, "no shards hook installed");
  install(sb, r);
  const un = shards(sb, r, ["uninstall"]);
  assert.is(un.status, 0, un.stderr);
  assert.match(un.stdout, "removed the shards post-checkout hook");
  assert.equal(readdirSync(hooks).sort(), before);
  assert.is(shards(sb, r, ["uninstall"]).status, 0);
});

test("uninstall leaves a hook that replaced ours, and says so", () => {
  const sb = sandbox();
  const r = repo(sb);
  const hook = join(r, ".git/hooks/post-checkout");
  writeFileSync(hook, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  install(sb, r);
  writeFileSync(hook, "#!/bin/sh\n# another tool\n", { mode: 0o755 });
  const un = shards(sb, r, ["uninstall"]);
  assert.is(un.status, 0);
  assert.match(un.stderr, "shards: warning:");
  assert.is(readFileSync(hook, "utf8"), "#!/bin/sh\n# another tool\n");
  // Installing again must not clobber either of them.
  const again = shards(sb, r, ["install"]);
  assert.is(again.status, 1);
  assert.match(again.stderr, "post-checkout.shards-previous exist");
});

test("core.hooksPath: install writes where git looks, relative or absolute", () => {
  for (const value of [".githooks", "ABS"]) {
    const sb = sandbox();
    const r = repo(sb);
    const dir = value === "ABS" ? join(sb.dir, "shared hooks") : join(r, value);
    git(sb, r, "config", "core.hooksPath", value === "ABS" ? dir : value);
    install(sb, r);
    assert.ok(existsSync(join(dir, "post-checkout")));
    assert.not.ok(existsSync(join(r, ".git/hooks/post-checkout")));
    const add = gitRun(sb, r, ["worktree", "add", "-b", "x", "../x"]);
    assert.is(add.status, 0, add.stderr);
    assert.equal(shardLines(add.stderr), ["shards: x -> ports 3010-3019"]);
  }
});

test("a global core.hooksPath: install says it is machine-wide, and another repository allocates too", () => {
  const sb = sandbox();
  const r = repo(sb);
  const other = repo(sb, "other");
  const dir = join(sb.dir, "global hooks");
  git(sb, r, "config", "--global", "core.hooksPath", dir);
  const out = install(sb, r);
  assert.match(
    out.stdout,
    `core.hooksPath is set globally (in ${sb.home}/.gitconfig), so this install is machine-wide`,
  );
  assert.match(out.stdout, `every repository that uses ${dir} allocates`);
  const add = gitRun(sb, other, ["worktree", "add", "-b", "x", "../x"]);
  assert.equal(shardLines(add.stderr), ["shards: x -> ports 3010-3019"]);
  // A repository's own hooksPath is not machine-wide.
  git(sb, r, "config", "core.hooksPath", ".githooks");
  assert.not.match(install(sb, r).stdout, "machine-wide");
});

test("install from a linked worktree lands in the shared hooks directory", () => {
  const sb = sandbox();
  const r = repo(sb);
  git(sb, r, "worktree", "add", "-q", "-b", "first", "../first");
  const first = join(sb.dir, "first");
  const out = install(sb, first);
  assert.match(out.stdout, `in ${r}/.git/hooks`);
  assert.match(out.stdout, "first -> ports 3000-3009");
  assert.ok(existsSync(join(r, ".git/hooks/post-checkout")));
  assert.not.ok(existsSync(join(r, ".git/worktrees/first/hooks")));
  const add = gitRun(sb, first, ["worktree", "add", "-b", "second", "../second"]);
  assert.equal(shardLines(add.stderr), ["shards: second -> ports 3010-3019"]);
});

test("paths with spaces, quotes, $ and backticks: repository, worktree, node and CLI", () => {
  const sb = sandbox();
  const weird = `we ird 'q' "dq" $HOME \`echo hi\` \\`;
  const r = repo(sb, weird);
  // The recorded node and CLI live under a weird directory too.
  const bin = join(sb.dir, `b'in "$x" \`y\` \\`);
  const node = markerNode(sb, bin);
  symlinkSync(CLI, join(bin, "cl'i $PWD.mjs"));
  install(sb, r, { ...node.env, SHARDS_HOOK_CLI: join(bin, "cl'i $PWD.mjs") });
  const target = join(sb.dir, `wt ${weird}`);
  const add = gitRun(sb, r, ["worktree", "add", "-b", "odd", target]);
  assert.is(add.status, 0, add.stderr);
  assert.equal(shardLines(add.stderr), ["shards: odd -> ports 3010-3019"]);
  assert.is(node.starts().length, 1);
  assert.ok(records(sb).some((rec) => rec.path === target));
});

test("a bad config during git worktree add: the add succeeds, one warning names the key", () => {
  const sb = sandbox();
  const r = repo(sb);
  install(sb, r);
  const add = gitRun(sb, r, ["worktree", "add", "-b", "bad", "../bad"], { SHARDS_PORT_COUNT: "abc" });
  assert.is(add.status, 0, add.stderr);
  assert.equal(shardLines(add.stderr), [
    'shards: warning: no ports allocated: invalid portCount "abc" in SHARDS_PORT_COUNT: must be a whole number',
  ]);
  assert.ok(existsSync(join(sb.dir, "bad/README")));
  // A config file committed in the repository, as the new worktree sees it.
  writeFileSync(join(r, ".shardsrc"), "basePort=70000\n");
  git(sb, r, "add", ".shardsrc");
  git(sb, r, "commit", "-qm", "config");
  const add2 = gitRun(sb, r, ["worktree", "add", "-b", "bad2", "../bad2"]);
  assert.is(add2.status, 0, add2.stderr);
  const lines = shardLines(add2.stderr);
  assert.is(lines.length, 1, add2.stderr);
  assert.match(lines[0]!, /^shards: warning: no ports allocated: invalid basePort 70000 in .*\.shardsrc/);
});

test("the recorded node or CLI is gone: one warning line, the add succeeds", () => {
  for (const gone of ["SHARDS_HOOK_CLI", "SHARDS_HOOK_NODE"]) {
    const sb = sandbox();
    const r = repo(sb);
    install(sb, r, { [gone]: join(sb.dir, "uninstalled/thing") });
    const add = gitRun(sb, r, ["worktree", "add", "-b", "x", "../x"]);
    assert.is(add.status, 0, add.stderr);
    const lines = shardLines(add.stderr);
    assert.is(lines.length, 1, add.stderr);
    assert.match(
      lines[0]!,
      `shards: warning: no ports allocated: ${gone === "SHARDS_HOOK_CLI" ? "shards" : "node"} is gone from ${sb.dir}/uninstalled/thing`,
    );
  }
});

test("SHA-256 repositories: the 64-zero null id is a new worktree too", () => {
  const sb = sandbox();
  const r = join(sb.dir, "sha256");
  mkdirSync(r);
  git(sb, r, "init", "-q", "--object-format=sha256");
  git(sb, r, "commit", "-q", "--allow-empty", "-m", "init");
  const node = markerNode(sb);
  install(sb, r, node.env);
  const add = gitRun(sb, r, ["worktree", "add", "-b", "x", "../x"]);
  assert.equal(shardLines(add.stderr), ["shards: x -> ports 3010-3019"]);
  gitRun(sb, r, ["checkout", "-q", "-b", "y"]);
  assert.is(node.starts().length, 1);
});

/** husky v9's layout, simulated: core.hooksPath=.husky/_, stubs that source `h`, which runs .husky/<hook> with sh -e. */
function huskyLayout(sb: Sandbox, r: string): void {
  const underscore = join(r, ".husky/_");
  mkdirSync(underscore, { recursive: true });
  writeFileSync(join(underscore, ".gitignore"), "*");
  writeFileSync(
    join(underscore, "h"),
    '#!/usr/bin/env sh\nn=$(basename "$0")\ns=$(dirname "$(dirname "$0")")/$n\n[ -f "$s" ] || exit 0\nexport PATH="node_modules/.bin:$PATH"\nsh -e "$s" "$@"\nexit $?\n',
  );
  for (const name of ["post-checkout", "pre-commit"])
    writeFileSync(join(underscore, name), '#!/usr/bin/env sh\n. "${0%/*}/h"\n', { mode: 0o755 });
  git(sb, r, "config", "core.hooksPath", ".husky/_");
}

test("husky: install adds a block to .husky/post-checkout (created), ordinary checkouts start no node, uninstall removes it", () => {
  const sb = sandbox();
  const r = repo(sb);
  huskyLayout(sb, r);
  const stub = readFileSync(join(r, ".husky/_/post-checkout"));
  const node = markerNode(sb);
  const out = install(sb, r, node.env);
  assert.match(out.stdout, `${r}/.husky/post-checkout (husky runs it)`);
  assert.equal(readFileSync(join(r, ".husky/_/post-checkout")), stub, "husky's generated files are left alone");
  const add = gitRun(sb, r, ["worktree", "add", "-b", "x", "../x"]);
  assert.is(add.status, 0, add.stderr);
  assert.equal(shardLines(add.stderr), ["shards: x -> ports 3010-3019"]);
  gitRun(sb, r, ["checkout", "-q", "-b", "y"]);
  gitRun(sb, r, ["checkout", "-q", "main"]);
  assert.is(node.starts().length, 1);
  assert.match(install(sb, r, node.env).stdout, "installed and current");
  assert.is(shards(sb, r, ["uninstall"]).status, 0);
  assert.not.ok(existsSync(join(r, ".husky/post-checkout")));
});

test("husky: an existing .husky/post-checkout keeps its content, runs once, and gets its bytes back", () => {
  const sb = sandbox();
  const r = repo(sb);
  huskyLayout(sb, r);
  const file = join(r, ".husky/post-checkout");
  const marker = join(sb.dir, "theirs");
  for (const original of [`#!/bin/sh\necho "$1" >> '${marker}'\n`, `echo "$1" >> '${marker}'`]) {
    writeFileSync(file, original);
    install(sb, r);
    const text = readFileSync(file, "utf8");
    assert.ok(text.includes(original.replace("#!/bin/sh\n", "")), "their lines are kept");
    assert.ok(
      !original.startsWith("#!") || text.startsWith("#!/bin/sh\n# >>> shards >>>"),
      "the block goes right after the #! line",
    );
    const name = `b${original.length}`;
    const add = gitRun(sb, r, ["worktree", "add", "-b", name, `../${name}`]);
    assert.is(add.status, 0, add.stderr);
    assert.is(shardLines(add.stderr).length, 1);
    assert.is(
      readFileSync(marker, "utf8")
        .split("\n")
        .filter((l) => l === NULL_ID).length,
      original.startsWith("#!") ? 1 : 2,
    );
    assert.is(shards(sb, r, ["uninstall"]).status, 0);
    assert.is(readFileSync(file, "utf8"), original);
  }
});

test.run();
