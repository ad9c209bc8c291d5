// Issue 15's bugs, each in real interactive shells (tmux): strict modes, names from the
// environment, SHARDS_SHELL in a child shell, copied repositories and moved worktrees,
// builtins shadowed by aliases and functions.
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, git, repo, type Sandbox, sandbox } from "./_helpers.ts";
import {
  gitDir,
  need,
  quote,
  SHELLS,
  Shell,
  type ShellName,
  type ShellOptions,
  shardVars,
  type Vars,
} from "./_tmux.ts";

function writeEnv(gitdir: string, vars: Vars, extra = ""): void {
  writeFileSync(
    join(gitdir, "shards.env"),
    `${Object.entries(vars)
      .map(([k, v]) => `${k}=${v}\n`)
      .join("")}${extra}`,
  );
}

const range = (start: number, root: string): Vars => ({
  SHARD_PORT_RANGE_START: String(start),
  SHARD_PORT_RANGE_END: String(start + 9),
  SHARD_PORT_COUNT: "10",
  SHARD_ROOT: root,
});

/** A main worktree and a linked one, each with a shards.env, and a directory outside. */
function world(sb: Sandbox) {
  const main = repo(sb, "main wt");
  const linked = join(sb.dir, "linked wt");
  git(sb, main, "worktree", "add", "-q", "-b", "feature", linked);
  const outside = join(sb.dir, "outside");
  mkdirSync(outside);
  const vars = { main: range(3010, main), linked: range(3020, linked) };
  writeEnv(gitDir(sb, main), vars.main);
  writeEnv(gitDir(sb, linked), vars.linked);
  return { main, linked, outside, vars };
}

async function withShell(sb: Sandbox, shell: ShellName, opts: ShellOptions, body: (sh: Shell) => Promise<void>) {
  const sh = await Shell.start(sb, shell, opts);
  try {
    await body(sh);
  } finally {
    sh.close();
    rmSync(sb.dir, { recursive: true, force: true, maxRetries: 10 });
  }
}

/** cd to each directory and compare the variables with what is expected there. */
async function walk(sh: Shell, steps: [string, Vars, string][]): Promise<void> {
  for (const [dir, want, label] of steps) {
    await sh.run(`cd ${sh.q(dir)}`);
    assert.equal(shardVars(await sh.env()), want, `${sh.shell}: ${label}`);
  }
}

const setVar = (shell: ShellName, k: string, v: string) =>
  shell === "fish" ? `set -gx ${k} ${quote(shell, v)}` : `export ${k}=${quote(shell, v)}`;

// 15.1, 15.10: the user's strict modes. bash: set -euo pipefail, failglob, nocasematch (and
// nullglob, extglob, an odd IFS); zsh: nounset, ksharrays, shwordsplit, errexit (and more).
const STRICT: Record<ShellName, string> = {
  bash: "set -euo pipefail; shopt -s failglob nocasematch nullglob extglob; IFS=:",
  zsh: "setopt nounset ksharrays shwordsplit errexit globsubst nomatch pipefail; IFS=:",
  fish: "",
};
for (const shell of SHELLS) {
  test(`15.1, 15.10 ${shell}: strict modes change nothing, the shell stays open`, async () => {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    const w = world(sb);
    // Lower-case keys must stay out, whatever nocasematch says (15.2).
    writeEnv(gitDir(sb, w.main), w.vars.main, "port=5\nshard_lower=1\nSHARD_NAME=main-wt\n");
    const hand = { PORT: "4242" };
    await withShell(sb, shell, { cwd: w.outside, after: STRICT[shell] }, async (sh) => {
      await sh.run(setVar(shell, "PORT", "4242"));
      await walk(sh, [
        [w.main, { ...hand, ...w.vars.main, SHARD_NAME: "main-wt" }, "main worktree"],
        [join(w.main, ".git"), { ...hand, ...w.vars.main, SHARD_NAME: "main-wt" }, "a subdirectory"],
        [w.linked, { ...hand, ...w.vars.linked }, "linked worktree"],
        [w.outside, hand, "outside"],
        [w.linked, { ...hand, ...w.vars.linked }, "linked again"],
      ]);
      const env = await sh.env();
      assert.is(env.port, undefined, "lower-case port");
      assert.is(env.shard_lower, undefined, "lower-case shard_lower");
    });
  });
}

// 15.3: names from the environment are checked before they are used as names.
for (const shell of SHELLS) {
  test(`15.3 ${shell}: _SHARDS_KEYS from the environment never runs code and never aborts the hook`, async () => {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    const w = world(sb);
    const pwned = join(sb.dir, "pwned");
    const env = {
      _SHARDS_KEYS: `SHARD_x[$(>${pwned})] SHARD_a-b PORT`,
      [`_SHARDS_OLD_SHARD_x[$(>${pwned})]`]: "1",
      _SHARDS_OLD_SHARD_x: "1",
      "_SHARDS_OLD_SHARD_a-b": "1",
      _SHARDS_OLD_PORT: "4242",
      // The snippets' own (unexported) state, planted in the environment.
      _shards_checked_keys: ` SHARD_x[$(>${pwned})] `,
      _shards_checked: "",
      _shards_exported: `SHARD_x[$(>${pwned})] SHARD_a-b PORT`,
      PORT: "3010",
    };
    await withShell(sb, shell, { cwd: w.outside, env }, async (sh) => {
      await walk(sh, [
        [w.main, { PORT: "4242", ...w.vars.main }, "main: the hook ran to the end, PORT (a valid name) put back"],
        [w.outside, { PORT: "4242" }, "outside"],
        [w.linked, { PORT: "4242", ...w.vars.linked }, "linked"],
      ]);
      assert.not.ok(existsSync(pwned), "a name from the environment ran code");
    });
  });
}

// 15.4: a shell started from one with the integration, but without it, is not "loaded".
test("15.4: SHARDS_SHELL does not make doctor believe a child shell has the integration", async () => {
  if (!need("tmux", "bash")) return;
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build`);
  const sb = sandbox();
  const w = world(sb);
  const bin = join(sb.dir, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "shards"), `#!/bin/sh\nexec ${quote("bash", process.execPath)} ${quote("bash", CLI)} "$@"\n`);
  chmodSync(join(bin, "shards"), 0o755);
  await withShell(sb, "bash", { cwd: w.main, env: { PATH: `${bin}:${sb.env.PATH}` } }, async (sh) => {
    const shellCheck = async () => {
      const out = await sh.capture((f) => `shards doctor --json > ${f} 2>/dev/null || true`, 20_000);
      return JSON.parse(out).checks.find((c: { name: string }) => c.name === "shell");
    };
    const level = async () => Number(await sh.capture((f) => `echo $SHLVL > ${f}`));
    const parent = await level();
    let check = await shellCheck();
    assert.is(check.ok, true, `the shell with the integration: ${check.message}`);
    sh.type("HISTFILE= bash --norc --noprofile -i"); // no history written as the test ends
    assert.is(await level(), parent + 1, "the child bash runs");
    check = await shellCheck();
    assert.is(check.ok, false, `a child bash without the integration: ${check.message}`);
    sh.type("exit");
  });
});

// 15.5 (and 12.10): a copied repository's shards.env names the original; 15.6: a moved
// worktree's names its old path. Both are ignored whole until shards writes the file again.
for (const shell of SHELLS) {
  test(`15.5, 15.6 ${shell}: a copy's or a moved worktree's shards.env is ignored`, async () => {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    const w = world(sb);
    const copy = join(sb.dir, "copy of main");
    cpSync(w.main, copy, { recursive: true });
    const moved = join(sb.dir, "moved wt");
    await withShell(sb, shell, { cwd: w.outside }, async (sh) => {
      await walk(sh, [
        [w.linked, w.vars.linked, "linked, before the move"],
        [copy, {}, "the copy: not the original's ports"],
        [w.main, w.vars.main, "the original"],
        [join(copy, ".git"), {}, "inside the copy again"],
      ]);
      git(sb, w.main, "worktree", "move", w.linked, moved);
      await walk(sh, [[moved, {}, "moved: the old SHARD_ROOT is not exported"]]);
      // What the CLI writes on its next run there.
      writeEnv(gitDir(sb, moved), range(3020, moved));
      await walk(sh, [
        [moved, range(3020, moved), "moved, once shards.env is written again"],
        [w.outside, {}, "outside"],
      ]);
    });
  });
}

test("15.5 bash: the same worktree reached through a symlink is the worktree", async () => {
  if (!need("tmux", "bash")) return;
  const sb = sandbox();
  const w = world(sb);
  const link = join(sb.dir, "link to main");
  spawnSync("ln", ["-s", w.main, link]);
  await withShell(sb, "bash", { cwd: w.outside }, async (sh) => {
    await walk(sh, [[link, w.vars.main, "via the symlink ($PWD is the link's path)"]]);
  });
});

// 15.7: aliases and functions named like the builtins the snippets use. Each shadow fails
// and leaves a line in the log when a _shards_ function calls it, and passes everything
// else on (the shell's own startup files use these builtins too).
const SHADOW: Record<ShellName, (log: string) => string> = {
  bash: (log) =>
    ["read", "export", "test", "unset", "shopt"]
      .map(
        (n) =>
          `${n}() { if [[ \${FUNCNAME[*]} == *_shards_* ]]; then echo ${n} >> ${log}; return 1; fi; builtin ${n} "$@"; }`,
      )
      .concat([
        `cd() { builtin cd "$@" && echo cd >> ${log}.cd; }`,
        `alias read='echo alias >> ${log}; false'`,
        `alias export='echo alias >> ${log}; false'`,
      ])
      .join("\n"),
  zsh: (log) =>
    ["read", "test", "unset", "sysread", "emulate", "zmodload", "typeset"]
      .map(
        (n) =>
          `${n}() { if [[ \${funcstack[*]} == *_shards_* ]]; then echo ${n} >> ${log}; return 1; fi; builtin ${n} "$@"; }`,
      )
      .concat([`cd() { builtin cd "$@" && echo cd >> ${log}.cd; }`, `alias export='echo alias >> ${log}; false'`])
      .join("\n"),
  fish: (log) =>
    ["contains", "realpath"]
      .map(
        (n) =>
          `function ${n}; if status stack-trace | string match -q '*_shards_*'; echo ${n} >> ${log}; return 1; end; builtin ${n} $argv; end`,
      )
      .concat([`function cd; builtin cd $argv; and echo cd >> ${log}.cd; end`])
      .join("\n"),
};
for (const shell of SHELLS) {
  test(`15.7 ${shell}: aliases and functions named like builtins change nothing`, async () => {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    const w = world(sb);
    const log = join(sb.dir, "shadow.log");
    // Before the snippet is sourced: aliases are expanded when it is read.
    await withShell(sb, shell, { cwd: w.outside, before: SHADOW[shell](log) }, async (sh) => {
      await walk(sh, [
        [w.main, w.vars.main, "main"],
        [w.linked, w.vars.linked, "linked"],
        [w.outside, {}, "outside"],
        [w.main, w.vars.main, "main again"],
      ]);
      assert.is(existsSync(log) ? readFileSync(log, "utf8") : "", "", "the snippet called a shadowed builtin");
      assert.ok(existsSync(`${log}.cd`), "the user's cd function ran (it is theirs to keep)");
    });
  });
}

test.run();
