// The environment a command really meets: a reader that went away, a full disk behind
// stdout, a deleted current directory, odd files where shards expects its own, a child that
// dies of SIGPIPE, a Ctrl-C at a terminal. One line or nothing, the right exit code, never a
// stack trace or a hang.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, git, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";
import { need, poll } from "./_tmux.ts";

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const cli = `${q(process.execPath)} ${q(CLI)}`;

/** Runs a bash line in `cwd`; `rc` is what it prints last (PIPESTATUS and the like). */
function bash(sb: Sandbox, cwd: string, line: string) {
  return spawnSync("bash", ["-c", line], { cwd, env: sb.env, encoding: "utf8", timeout: 20_000 });
}

function oneLine(r: { status: number | null; stderr: string; signal?: NodeJS.Signals | null }, pattern: RegExp) {
  assert.is(r.signal ?? null, null, "no hang");
  assert.is(r.status, 1, r.stderr);
  assert.is(r.stderr.split("\n").length, 2, `one line: ${r.stderr}`);
  assert.match(r.stderr, pattern);
}

for (const [what, args] of [
  ["env | true", "env"],
  ["list --all | head -c 0", "list --all"],
  ["hook bash | true", "hook bash"],
  ["help | true", "help"],
  ["allocate --json | true", "allocate --json"],
] as const) {
  test(`shards ${what}: a closed pipe ends the command quietly`, () => {
    const sb = sandbox();
    const main = repo(sb);
    shards(sb, main, ["allocate"]);
    const reader = what.includes("head") ? "head -c 0" : "true";
    // The reader is gone before shards writes: give it time to exit first.
    const r = bash(sb, main, `{ sleep 0.3; ${cli} ${args}; } | ${reader}; echo "rc=\${PIPESTATUS[0]}" >&2`);
    assert.is(r.stderr, "rc=0\n");
  });
}

test("shards env > /dev/full: one line, exit 1", () => {
  const sb = sandbox();
  const main = repo(sb);
  oneLine(
    bash(sb, main, `${cli} env > /dev/full`),
    /^shards: cannot write to stdout: ENOSPC: no space left on device$/m,
  );
  oneLine(bash(sb, main, `${cli} list --json > /dev/full`), /^shards: cannot write to stdout/);
});

test("a deleted current directory: one line, exit 1", () => {
  const sb = sandbox();
  const main = repo(sb);
  for (const args of ["list", "allocate", "env", "prune", "doctor"]) {
    const r = bash(sb, main, `mkdir gone && cd gone && rmdir ../gone && ${cli} ${args}`);
    oneLine(r, /^shards: the current directory no longer exists; cd to one that does\n$/);
  }
});

test(".git/hooks that is a file: install says so in one line", () => {
  const sb = sandbox();
  const main = repo(sb);
  rmSync(join(main, ".git/hooks"), { recursive: true, force: true });
  writeFileSync(join(main, ".git/hooks"), "not a directory\n");
  oneLine(shards(sb, main, ["install"]), /^shards: .*\.git\/hooks.*not a directory/);
});

test("a commondir that points at a missing directory: one line", () => {
  const sb = sandbox();
  const main = repo(sb);
  const wt = join(sb.dir, "wt");
  git(sb, main, "worktree", "add", "-q", "-b", "wt", wt);
  writeFileSync(join(main, ".git/worktrees/wt/commondir"), "/nowhere/at/all\n");
  for (const args of [["allocate"], ["env"], ["list"]]) oneLine(shards(sb, wt, args), /^shards: .*\/nowhere\/at\/all/);
});

test("a FIFO where registry.json or .git should be: one line, never a hang", () => {
  const sb = sandbox();
  const main = repo(sb);
  mkdirSync(sb.shardsHome, { recursive: true });
  spawnSync("mkfifo", [sb.registry]);
  const started = Date.now();
  const r = spawnSync(process.execPath, [CLI, "allocate"], {
    cwd: main,
    env: sb.env,
    encoding: "utf8",
    timeout: 20_000,
  });
  oneLine(r, /registry\.json.*not a regular file/);
  assert.ok(Date.now() - started < 10_000);

  const odd = join(sb.dir, "odd");
  mkdirSync(odd);
  spawnSync("mkfifo", [join(odd, ".git")]);
  const g = spawnSync(process.execPath, [CLI, "allocate"], {
    cwd: odd,
    env: sb.env,
    encoding: "utf8",
    timeout: 20_000,
  });
  oneLine(g, /\.git/);
});

test("exec: a command that dies of SIGPIPE gives 141", () => {
  const sb = sandbox();
  const main = repo(sb);
  const r = bash(sb, main, `${cli} exec -- yes | head -1 >/dev/null; echo "rc=\${PIPESTATUS[0]}"`);
  assert.is(r.stdout, "rc=141\n", r.stderr);
});

test("exec: one Ctrl-C at a terminal reaches the command once", async () => {
  if (!need("tmux")) return;
  const sb = sandbox();
  const main = repo(sb);
  const marker = join(sb.dir, "ints");
  const ready = join(sb.dir, "ready");
  // node counts every SIGINT it is sent (a sh trap would merge two that come close together).
  const counter = `const fs = require("fs"); process.on("SIGINT", () => { fs.appendFileSync(${JSON.stringify(marker)}, "int\\n"); setTimeout(() => process.exit(0), 1000); }); fs.writeFileSync(${JSON.stringify(ready)}, ""); setInterval(() => {}, 1000);`;
  const child = `${q(process.execPath)} -e ${q(counter)}`;
  const socket = join(sb.dir, "tmux.sock");
  const tmux = (...args: string[]) => spawnSync("tmux", ["-S", socket, ...args], { env: sb.env, encoding: "utf8" });
  const done = join(sb.dir, "done");
  tmux(
    "new-session",
    "-d",
    "-x",
    "80",
    "-y",
    "24",
    "-c",
    main,
    `bash -c ${q(`${cli} exec -- ${child}; echo $? > ${q(done)}`)}`,
  );
  try {
    await poll(() => spawnSync("test", ["-e", ready]).status === 0, 15_000, "the command to start");
    tmux("send-keys", "C-c");
    const status = await poll(
      () => spawnSync("cat", [done], { encoding: "utf8" }).stdout.trim(),
      15_000,
      "exec to end",
    );
    assert.is(readFileSync(marker, "utf8"), "int\n", "the command got one SIGINT");
    assert.is(status, "0", "the command's status passes through");
  } finally {
    tmux("kill-server");
  }
});

test.run();
