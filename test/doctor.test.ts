// shards doctor: quiet on a healthy repository, and each problem it claims to find, found,
// as one line with its fix.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, git, json, type RunResult, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";

const SHELL = { SHARDS_SHELL: "zsh", SHELL: "/bin/zsh" };

interface Check {
  name: string;
  ok: boolean;
  message: string;
  fix: string | null;
}

function doctor(sb: Sandbox, cwd: string, env: NodeJS.ProcessEnv = SHELL): RunResult {
  return shards(sb, cwd, ["doctor"], env);
}

function failing(sb: Sandbox, cwd: string, env: NodeJS.ProcessEnv = SHELL): Check[] {
  const r = shards(sb, cwd, ["doctor", "--json"], env);
  const doc = json<{ ok: boolean; checks: Check[] }>(r);
  const bad = doc.checks.filter((c) => !c.ok);
  assert.is(doc.ok, bad.length === 0);
  assert.is(r.status, bad.length === 0 ? 0 : 1);
  return bad;
}

/** A repository with the hook installed: healthy but for what a test breaks. */
function healthy(env: NodeJS.ProcessEnv = {}): { sb: Sandbox; r: string } {
  const sb = sandbox();
  const r = repo(sb);
  const out = shards(sb, r, ["install"], env);
  assert.is(out.status, 0, out.stderr);
  return { sb, r };
}

/** The one failing check, which must be `name`, and its line in the text output. */
function onlyProblem(sb: Sandbox, cwd: string, name: string, env: NodeJS.ProcessEnv = SHELL): Check {
  const bad = failing(sb, cwd, env);
  assert.equal(
    bad.map((c) => c.name),
    [name],
  );
  const text = doctor(sb, cwd, env);
  assert.is(text.status, 1);
  assert.is(text.stdout, "");
  assert.equal(text.stderr.trimEnd().split("\n"), [`shards: ${bad[0]!.message}; fix: ${bad[0]!.fix}`]);
  return bad[0]!;
}

test("a healthy repository: one line, exit 0; --json says ok for every check", () => {
  const { sb, r } = healthy();
  const text = doctor(sb, r);
  assert.is(text.status, 0, text.stderr);
  assert.is(text.stderr, "");
  assert.is(text.stdout, "all good (git, hook, config, registry, stale, shell)\n");
  const doc = json(shards(sb, r, ["doctor", "--json"], SHELL));
  assert.is(doc.ok, true);
  assert.equal(
    doc.checks.map((c: Check) => [c.name, c.ok, c.fix]),
    ["git", "hook", "config", "registry", "stale", "shell"].map((n) => [n, true, null]),
  );
});

test("not a git repository", () => {
  const sb = sandbox();
  const c = onlyProblem(sb, sb.dir, "git");
  assert.is(c.message, `${sb.dir} is not inside a git worktree`);
});

test("no hook installed", () => {
  const sb = sandbox();
  const r = repo(sb);
  const c = onlyProblem(sb, r, "hook");
  assert.match(c.message, `no shards post-checkout hook in ${r}/.git/hooks/post-checkout`);
  assert.match(c.fix!, "shards install");
});

test("a hook that is not ours where ours should be", () => {
  const { sb, r } = healthy();
  const hook = join(r, ".git/hooks/post-checkout");
  writeFileSync(hook, "#!/bin/sh\n# someone else\n");
  let c = onlyProblem(sb, r, "hook");
  assert.is(c.message, `${hook} is not shards' hook`);
  // ... with the hook an earlier install kept aside still there: install would refuse.
  writeFileSync(`${hook}.shards-previous`, "#!/bin/sh\n");
  c = onlyProblem(sb, r, "hook");
  assert.match(c.message, "post-checkout.shards-previous is there too");
  assert.match(c.fix!, "keep one of the two");
});

test("an out-of-date hook", () => {
  const { sb, r } = healthy();
  const hook = join(r, ".git/hooks/post-checkout");
  writeFileSync(hook, readFileSync(hook, "utf8").replace("# A new worktree", "# An old worktree"));
  const c = onlyProblem(sb, r, "hook");
  assert.match(c.message, "out of date");
  assert.match(c.fix!, "shards install");
});

test("the hook's CLI or node is gone", () => {
  for (const key of ["SHARDS_HOOK_CLI", "SHARDS_HOOK_NODE"]) {
    const sb0 = sandbox();
    // Read back from the hook as written, whatever the path holds: quotes, `$`, backticks.
    const dir = join(sb0.dir, "p'k g $HOME \\ `x`");
    const copy = join(dir, key === "SHARDS_HOOK_CLI" ? "cli.cjs" : "node");
    mkdirSync(dir);
    copyFileSync(key === "SHARDS_HOOK_CLI" ? CLI : process.execPath, copy);
    const { sb, r } = healthy({ [key]: copy });
    rmSync(copy);
    const c = onlyProblem(sb, r, "hook");
    assert.match(
      c.message,
      `the hook runs ${key === "SHARDS_HOOK_CLI" ? "the shards CLI" : "node"} at ${copy}, which is gone`,
    );
  }
});

test("an invalid config names the key and where it came from", () => {
  const { sb, r } = healthy();
  const c = onlyProblem(sb, r, "config", { ...SHELL, SHARDS_PORT_COUNT: "abc" });
  assert.match(c.message, 'invalid portCount "abc" in SHARDS_PORT_COUNT');
});

test("a registry that does not parse, and one with overlapping records; doctor changes neither", () => {
  const { sb, r } = healthy();
  writeFileSync(sb.registry, "{ nope");
  let c = onlyProblem(sb, r, "registry");
  assert.match(c.message, "it is not valid JSON");
  assert.match(c.fix!, "shards prune");
  assert.is(readFileSync(sb.registry, "utf8"), "{ nope");

  const rec = (start: number, path: string) => ({
    gitDir: join(path, ".git"),
    path,
    branch: "main",
    repo: path,
    names: [],
    start,
    end: start + 9,
    count: 10,
  });
  repo(sb, `${basename(r)}-other`);
  const overlapping = JSON.stringify({ version: 1, allocations: [rec(3000, r), rec(3005, `${r}-other`)] });
  writeFileSync(sb.registry, overlapping);
  c = onlyProblem(sb, r, "registry");
  assert.match(c.message, "overlaps 3000-3009");
  assert.is(readFileSync(sb.registry, "utf8"), overlapping);

  writeFileSync(sb.registry, JSON.stringify({ version: 99, allocations: [] }));
  c = onlyProblem(sb, r, "registry");
  assert.match(c.message, "written by a newer shards");
  rmSync(sb.registry);
  mkdirSync(sb.registry);
  c = onlyProblem(sb, r, "registry");
  assert.match(c.message, "is a directory");
});

test("stale allocations", () => {
  const { sb, r } = healthy();
  git(sb, r, "worktree", "add", "-q", "-b", "gone", "../gone");
  rmSync(join(sb.dir, "gone"), { recursive: true });
  git(sb, r, "worktree", "prune");
  const c = onlyProblem(sb, r, "stale");
  assert.match(c.message, `1 stale allocation: 3010-3019 (${sb.dir}/gone)`);
  assert.is(c.fix, "run `shards prune`");
});

/** `shards doctor --json` on a terminal, as a person runs it (script(1) gives it a pty). */
function doctorOnTerminal(
  sb: Sandbox,
  cwd: string,
  env: NodeJS.ProcessEnv,
  shell?: string,
): { ok: boolean; checks: Check[] } {
  const doctor = `'${process.execPath}' '${CLI}' doctor --json`;
  const command = shell ? `${shell} "${doctor}; :"` : doctor;
  const r = spawnSync("script", ["-qec", command, "/dev/null"], {
    cwd,
    env: { ...sb.env, ...env },
    encoding: "utf8",
  });
  return JSON.parse(r.stdout.replaceAll("\r\n", "\n"));
}

test("no shell integration in an interactive shell; the fix names the user's shell", () => {
  const { sb, r } = healthy();
  for (const [shell, fix] of [
    ["/bin/zsh", 'eval "$(shards hook zsh)"` to ~/.zshrc'],
    ["/usr/bin/fish", "shards hook fish | source"],
    ["/bin/bash", 'eval "$(shards hook bash)"` to ~/.bashrc'],
  ]) {
    const doc = doctorOnTerminal(sb, r, { SHELL: shell! });
    const bad = doc.checks.filter((c) => !c.ok);
    assert.equal([doc.ok, bad.map((c) => c.name)], [false, ["shell"]]);
    assert.match(bad[0].fix!, fix!);
  }
  assert.is(doctorOnTerminal(sb, r, { SHELL: "/bin/bash", SHARDS_SHELL: "bash" }).ok, true);
  // A zsh started from a bash that has the hook: the fix is zsh's (`; :` keeps zsh doctor's parent).
  const nested = doctorOnTerminal(sb, r, { SHELL: "/bin/bash", SHARDS_SHELL: "bash:1", SHLVL: "1" }, "zsh -fc");
  assert.match(nested.checks.find((c) => c.name === "shell")!.fix!, 'eval "$(shards hook zsh)"` to ~/.zshrc');
  // Scripts, CI and agents have no prompt: not a problem there.
  assert.equal(failing(sb, r, { SHELL: "/bin/bash" }), []);
  assert.equal(failing(sb, r, { SHARDS_SHELL: "direnv" }), []);
});

test("several problems: one line each", () => {
  const sb = sandbox();
  const r = repo(sb);
  const text = doctor(sb, r, { SHARDS_PORT_COUNT: "0" });
  assert.is(text.status, 1);
  const lines = text.stderr.trimEnd().split("\n");
  assert.is(lines.length, 2, text.stderr); // no hook, bad config
  for (const l of lines) assert.match(l, /^shards: .+; fix: .+$/);
});

test("husky layout", () => {
  // husky: the block in .husky/post-checkout is the hook.
  const sb = sandbox();
  const r = repo(sb);
  mkdirSync(join(r, ".husky/_"), { recursive: true });
  // husky's stub (test/husky.test.ts runs the real husky).
  writeFileSync(join(r, ".husky/_/post-checkout"), '#!/usr/bin/env sh\n. "$(dirname "$0")/h"\n', { mode: 0o755 });
  git(sb, r, "config", "core.hooksPath", ".husky/_");
  assert.equal(
    failing(sb, r).map((c) => c.name),
    ["hook"],
  );
  assert.is(shards(sb, r, ["install"]).status, 0);
  assert.equal(failing(sb, r), []);
  // lefthook: test/lefthook.test.ts, with the real lefthook.
});

test.run();
