// The shell integration (shell/): real bash, zsh, fish and direnv, driven through tmux as a
// person types. Each test has its own sandbox (HOME, SHARDS_HOME, rc files) and tmux server.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { basename, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, git, ROOT, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";
import {
  gitDir,
  need,
  processesBetween,
  quote,
  SHELLS,
  Shell,
  type ShellName,
  SNIPPET,
  shardVars,
  type Vars,
} from "./_tmux.ts";

function writeEnv(gitdir: string, vars: Vars): void {
  writeFileSync(
    join(gitdir, "shards.env"),
    Object.entries(vars)
      .map(([k, v]) => `${k}=${v}\n`)
      .join(""),
  );
}

const range = (start: number, count: number, root: string | null, extra: Vars = {}): Vars => ({
  SHARD_PORT_RANGE_START: String(start),
  SHARD_PORT_RANGE_END: String(start + count - 1),
  SHARD_PORT_COUNT: String(count),
  ...extra,
  ...(root === null ? {} : { SHARD_ROOT: root }),
});

/**
 * Worktrees whose paths have spaces, quotes, `$`, backticks and newlines: a main worktree
 * (with a subdirectory and a nested repository), a linked one, one whose `.git` file names
 * its git dir by a relative path, a linked one of a repository under a directory whose name
 * has a newline, a linked one without a range (no shards.env), and a plain directory
 * outside any repository. The others get a shards.env; `vars` says what each exports.
 */
function world(sb: Sandbox) {
  const main = repo(sb, "main repo $HOME 'q' `b`");
  const deep = join(main, "src/deep dir");
  mkdirSync(deep, { recursive: true });
  const nested = join(main, "vendor/nested");
  mkdirSync(nested, { recursive: true });
  git(sb, nested, "init", "-q");
  const linked = join(sb.dir, 'linked "wt" $x');
  git(sb, main, "worktree", "add", "-q", "-b", "feature", linked);
  const rel = join(sb.dir, "rel wt");
  git(sb, main, "worktree", "add", "-q", "-b", "rel", rel);
  const relGitdir = gitDir(sb, rel);
  writeFileSync(join(rel, ".git"), `gitdir: ../${basename(main)}/.git/worktrees/${basename(relGitdir)}\n`);
  const nlMain = repo(sb, "nl\nrepo");
  const nl = join(sb.dir, "nl\nwt");
  git(sb, nlMain, "worktree", "add", "-q", "-b", "nl", nl);
  const norange = join(sb.dir, "no range wt");
  git(sb, main, "worktree", "add", "-q", "-b", "norange", norange);
  const outside = join(sb.dir, "outside dir");
  mkdirSync(outside);

  const vars = {
    main: range(3010, 10, main, { SHARD_PORT_WEB: "3010", PORT: "3010" }),
    linked: range(3020, 5, linked, { SHARD_PORT_API: "3021" }),
    nested: range(3040, 10, nested),
    rel: range(3050, 10, rel),
    nl: range(3060, 10, null), // shards leaves out a SHARD_ROOT with a newline
  };
  writeEnv(gitDir(sb, main), vars.main);
  writeEnv(gitDir(sb, linked), vars.linked);
  writeEnv(gitDir(sb, nested), vars.nested);
  writeEnv(relGitdir, vars.rel);
  writeEnv(gitDir(sb, nl), vars.nl);
  return { main, deep, nested, linked, rel, nl, norange, outside, vars };
}

const exportCmd = (shell: ShellName, vars: Vars) =>
  shell === "fish"
    ? Object.entries(vars)
        .map(([k, v]) => `set -gx ${k} ${quote(shell, v)}`)
        .join("; ")
    : `export ${Object.entries(vars)
        .map(([k, v]) => `${k}=${quote(shell, v)}`)
        .join(" ")}`;

async function withShell(
  sb: Sandbox,
  shell: ShellName,
  opts: Parameters<typeof Shell.start>[2],
  body: (sh: Shell) => Promise<void>,
) {
  const sh = await Shell.start(sb, shell, opts);
  try {
    await body(sh);
  } finally {
    sh.close();
    rmSync(sb.dir, { recursive: true, force: true });
  }
}

/** The integration's own variables in an environment. */
const bookkeeping = (env: Vars) => Object.keys(env).filter((k) => k.startsWith("_SHARDS_"));

for (const shell of SHELLS) {
  test(`${shell}: the variables follow cd; what was there before comes back`, async () => {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    const w = world(sb);
    const pcLog = join(sb.dir, "pc.log");
    // A prompt hook the user had before: it must keep running, beside ours.
    const before = {
      bash: `PROMPT_COMMAND='echo pc >> ${pcLog}'`,
      zsh: `my_precmd() { echo pc >> ${pcLog} }\nprecmd_functions+=(my_precmd)`,
      fish: `function my_pwd --on-variable PWD; echo pc >> ${pcLog}; end`,
    }[shell];
    await withShell(sb, shell, { cwd: w.outside, before }, async (sh) => {
      const hand = { PORT: "4242", SHARD_PORT_API: "by hand" };
      await sh.run(exportCmd(shell, hand));
      const step = async (dir: string, want: Vars, label: string) => {
        await sh.run(`cd ${sh.q(dir)}`);
        const env = await sh.env();
        assert.equal(shardVars(env), want, `${shell}: ${label}`);
      };
      assert.equal(shardVars(await sh.env()), hand, "outside, before");
      await step(w.main, { ...hand, ...w.vars.main }, "main worktree");
      await step(w.deep, { ...hand, ...w.vars.main }, "a subdirectory");
      await step(w.nested, { ...hand, ...w.vars.nested }, "a nested repository: the nearest .git wins");
      await step(w.linked, { ...hand, ...w.vars.linked }, "a linked worktree (SHARD_PORT_WEB and PORT go back)");
      await step(w.rel, { ...hand, ...w.vars.rel }, "a worktree whose .git names a relative git dir");
      await step(w.nl, { ...hand, ...w.vars.nl }, "a git dir whose path has a newline");
      await step(w.main, { ...hand, ...w.vars.main }, "main again");
      await step(w.norange, hand, "a worktree without shards.env: nothing of main's stays");
      await step(w.main, { ...hand, ...w.vars.main }, "main again");
      await step(w.outside, hand, "outside again: what was there comes back");
      const env = await sh.env();
      assert.equal(bookkeeping(env), [], "no bookkeeping left outside a worktree");

      // The hook keeps $? (the exit status of the command line before) for the prompt.
      sh.type(`cd ${sh.q(w.linked)}; false`);
      const status = await sh.capture((f) => (shell === "fish" ? `echo $status > ${f}` : `echo $? > ${f}`));
      assert.is(status.trim(), "1", "$? survives the hook");

      // Sourced twice (the rc file does): installed once; the user's hook still runs.
      if (shell === "bash") {
        const pc = await sh.capture((f) => `printf '%s\\n' "\${PROMPT_COMMAND[@]}" > ${f}`);
        assert.is(pc, `_shards_hook\necho pc >> ${pcLog}\n`);
      } else if (shell === "zsh") {
        const hooks = await sh.capture((f) => `print -rl -- precmd $precmd_functions chpwd $chpwd_functions > ${f}`);
        assert.is(hooks, "precmd\nmy_precmd\n_shards_hook\nchpwd\n_shards_chpwd\n");
      } else {
        const handlers = await sh.capture((f) => `functions --handlers -t variable > ${f}`);
        assert.is(handlers.match(/_shards_on_pwd/g)?.length, 1, handlers);
        assert.ok(handlers.includes("my_pwd"), handlers);
      }
      assert.ok(readFileSync(pcLog, "utf8").split("\n").length > 5, "the user's own hook ran too");
    });
  });

  // The common case, which bash and zsh take without their save-and-restore loops: nothing
  // of ours set before entering a worktree from outside, nothing saved when leaving it. A
  // saved value the shell inherits with no key that it belongs to is garbage: the first
  // entry drops it, the shortcut after it must not leave it behind.
  test(`${shell}: with nothing set by hand, in and out of worktrees leaves nothing behind`, async () => {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    const w = world(sb);
    const before = exportCmd(shell, { _SHARDS_OLD_SHARD_PORT_WEB: "stale" });
    await withShell(sb, shell, { cwd: w.outside, before }, async (sh) => {
      const step = async (dir: string, want: Vars, label: string) => {
        await sh.run(`cd ${sh.q(dir)}`);
        const env = await sh.env();
        assert.equal(shardVars(env), want, `${shell}: ${label}`);
        return env;
      };
      await step(w.main, w.vars.main, "into main from outside");
      await step(w.outside, {}, "out of main");
      await step(w.deep, w.vars.main, "into main's subdirectory from outside");
      await step(w.linked, w.vars.linked, "main to linked: PORT and SHARD_PORT_WEB go");
      let env = await step(w.outside, {}, "out of linked");
      assert.equal(bookkeeping(env), [], "no bookkeeping left");
      // A PORT set by hand where it is not ours stays; where it is ours, it comes back after.
      await step(w.linked, w.vars.linked, "into linked again");
      await sh.run(exportCmd(shell, { PORT: "4242" }));
      await step(w.outside, { PORT: "4242" }, "out of linked: the hand-set PORT stays");
      await step(w.main, w.vars.main, "into main: its PORT");
      env = await step(w.outside, { PORT: "4242" }, "out of main: the hand-set PORT again");
      assert.equal(bookkeeping(env), [], "no bookkeeping left at the end");
    });
  });

  if (shell === "zsh")
    // What the shortcut asks of $parameters (zsh/parameter) is asked of nothing else.
    test("zsh without $parameters: a hand-set PORT comes back after a worktree that exports one", async () => {
      if (!need("tmux", shell)) return;
      const sb = sandbox();
      const w = world(sb);
      await withShell(sb, shell, { cwd: w.outside, before: "unset parameters" }, async (sh) => {
        await sh.run(exportCmd(shell, { PORT: "4242" }));
        await sh.run(`cd ${sh.q(w.main)}`);
        assert.equal(shardVars(await sh.env()), w.vars.main, "main's PORT");
        await sh.run(`cd ${sh.q(w.outside)}`);
        assert.equal(shardVars(await sh.env()), { PORT: "4242" }, "the hand-set PORT again");
      });
    });

  test(`${shell}: a tampered shards.env is read as data: nothing runs, PATH stays`, async () => {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    // SHARD_ROOT must name the worktree (rule 10): its path has what a shell would run.
    const main = repo(sb, "tampered $(touch x) `touch y` ; \"' \\n \\");
    const pwned = join(sb.dir, "pwned");
    const t = (n: number) => `${pwned}${n}`;
    writeFileSync(
      join(gitDir(sb, main), "shards.env"),
      [
        `SHARD_PORT_RANGE_START=$(touch ${t(1)})`,
        `SHARD_PORT_RANGE_END=\`touch ${t(2)}\``,
        `SHARD_PORT_COUNT=10;touch ${t(3)}`,
        "PATH=/evil",
        "SHARD_X=1;touch y",
        `SHARD_Y=1 && touch ${t(4)}`,
        "SHARD_Z=1\r",
        `SHARD_ROOT=$(touch ${t(5)})`,
        `export SHARD_E=1`,
        " SHARD_SPACE=1",
        "shard_lower=1",
        "SHARD_É=1",
        "SHARD_LONG=123456",
        "SHARD_EMPTY=",
        "LD_PRELOAD=/evil.so",
        `PORT=$(touch ${t(6)})3000`,
        "SHARD_PORT_WEB=3011",
        `SHARD_ROOT=${main}`,
        "garbage without equals",
        "SHARD_LAST=3012", // no newline at the end of the file
      ].join("\n"),
    );
    await withShell(sb, shell, { cwd: sb.dir }, async (sh) => {
      const path = (await sh.env()).PATH;
      await sh.run(`cd ${sh.q(main)}`);
      const env = await sh.env();
      assert.equal(shardVars(env), {
        SHARD_PORT_WEB: "3011",
        SHARD_ROOT: main,
        SHARD_LAST: "3012",
      });
      assert.is(env.PATH, path, "PATH untouched");
      assert.is(env.LD_PRELOAD, undefined);
      for (let i = 1; i <= 6; i++) assert.not.ok(existsSync(t(i)), `${t(i)} was created: data ran`);
      for (const f of ["y", "x"]) assert.not.ok(existsSync(join(main, f)) || existsSync(join(sb.dir, f)), "data ran");
      await sh.run(`cd ${sh.q(sb.dir)}`);
      assert.equal(shardVars(await sh.env()), {});
      for (let i = 1; i <= 6; i++) assert.not.ok(existsSync(t(i)), `${t(i)} was created: data ran`);
    });
  });

  test(`${shell}: the prompt path starts no process (strace)`, async () => {
    if (!need("tmux", shell, "strace")) return;
    const sb = sandbox();
    const w = world(sb);
    const log = join(sb.dir, "strace.log");
    const mark = (name: string) => join(sb.dir, name);
    const sh = await Shell.start(sb, shell, { cwd: w.outside, strace: log });
    try {
      const seen: string[] = [];
      const print = async () =>
        seen.push(
          await sh.capture(
            (f) => `printf '%s|%s|%s\\n' "$SHARD_PORT_RANGE_START" "$PORT" "$SHARD_ROOT" > ${f}`,
            15_000,
          ),
        );
      // Only builtins from here to markB: any process is the snippet's.
      await sh.run(`echo > ${sh.q(mark("markA"))}`, 15_000);
      await sh.run(`cd ${sh.q(w.main)}`, 15_000);
      await print();
      await sh.run(`cd ${sh.q(w.deep)}`, 15_000);
      await print();
      await sh.run("true", 15_000); // prompts with $PWD unchanged
      await sh.run("true", 15_000);
      await sh.run(`cd ${sh.q(w.linked)}`, 15_000);
      await print();
      await sh.run(`cd ${sh.q(w.rel)}`, 15_000);
      await print();
      await sh.run(`cd ${sh.q(w.outside)}`, 15_000);
      await print();
      await sh.run(`echo > ${sh.q(mark("markB"))}`, 15_000);
      // The control: an external command between markB and markC must be seen.
      await sh.run(`env > /dev/null; echo > ${sh.q(mark("markC"))}`, 15_000);
      await sh.exit();
      assert.equal(seen, [
        `3010|3010|${w.main}\n`,
        `3010|3010|${w.main}\n`,
        `3020||${w.linked}\n`,
        `3050||${w.rel}\n`,
        "||\n",
      ]);
      const text = readFileSync(log, "utf8");
      assert.equal(processesBetween(text, "markA", "markB"), [], "the prompt path started a process");
      assert.ok(processesBetween(text, "markB", "markC").length > 0, "the strace control saw no process for `env`");
    } finally {
      sh.close();
      rmSync(sb.dir, { recursive: true, force: true });
    }
  });
}

test("bash: coexists with PROMPT_COMMAND as an array (bash 5.1+), installed once", async () => {
  if (!need("tmux", "bash")) return;
  const v = /(\d+)\.(\d+)/.exec(spawnSync("bash", ["-c", "echo $BASH_VERSION"], { encoding: "utf8" }).stdout);
  if (!v || Number(v[1]) * 100 + Number(v[2]) < 501)
    return console.warn("  skipped: bash < 5.1 has no PROMPT_COMMAND array");
  const sb = sandbox();
  const w = world(sb);
  const pcLog = join(sb.dir, "pc.log");
  await withShell(
    sb,
    "bash",
    { cwd: w.outside, before: `PROMPT_COMMAND=('echo one >> ${pcLog}' 'echo two >> ${pcLog}')` },
    async (sh) => {
      await sh.run(`cd ${sh.q(w.main)}`);
      assert.equal(shardVars(await sh.env()), w.vars.main);
      const pc = await sh.capture((f) => `declare -p PROMPT_COMMAND > ${f}`);
      assert.match(
        pc,
        /^declare -a PROMPT_COMMAND=\(\[0\]="_shards_hook" \[1\]="echo one >> .*" \[2\]="echo two >> .*"\)$/m,
      );
      // Loaded once more at the prompt (eval "$(shards hook bash)" typed again): still once.
      await sh.run(`source ${sh.q(SNIPPET.bash)}`);
      const again = await sh.capture((f) => `declare -p PROMPT_COMMAND > ${f}`);
      assert.is(again, pc);
      const lines = readFileSync(pcLog, "utf8");
      assert.ok(lines.includes("one\ntwo\n"), lines);
    },
  );
});

test("hostile shell options: bash set -u, nocasematch, failglob; zsh NO_UNSET, KSH_ARRAYS, SH_WORD_SPLIT", async () => {
  for (const shell of ["bash", "zsh"] as const) {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    const w = world(sb);
    const after =
      shell === "bash"
        ? "set -u; shopt -s nocasematch failglob nullglob extglob; IFS=:"
        : "setopt NO_UNSET KSH_ARRAYS SH_WORD_SPLIT GLOB_SUBST NOMATCH; IFS=:";
    await withShell(sb, shell, { cwd: w.outside, after }, async (sh) => {
      await sh.run(exportCmd(shell, { PORT: "4242" }));
      await sh.run(`cd ${sh.q(w.main)}`);
      assert.equal(shardVars(await sh.env()), w.vars.main, shell);
      await sh.run(`cd ${sh.q(w.linked)}`);
      assert.equal(shardVars(await sh.env()), { ...w.vars.linked, PORT: "4242" }, shell);
      await sh.run(`cd ${sh.q(w.outside)}`);
      assert.equal(shardVars(await sh.env()), { PORT: "4242" }, shell);
    });
  }
});

test("a shell started inside a worktree restores what was there before the parent entered it", async () => {
  if (!need("tmux", "bash", "fish", "zsh")) return;
  const sb = sandbox();
  const w = world(sb);
  await withShell(sb, "bash", { cwd: w.outside }, async (sh) => {
    await sh.run(exportCmd("bash", { PORT: "4242" }));
    await sh.run(`cd ${sh.q(w.main)}`);
    assert.equal(shardVars(await sh.env()), w.vars.main);
    // A fish, then a zsh inside it, started from within the worktree.
    sh.type("fish -i");
    sh.dialect = "fish";
    await sh.run(`cd ${sh.q(w.linked)}`);
    assert.equal(shardVars(await sh.env()), { ...w.vars.linked, PORT: "4242" });
    sh.type("zsh -i");
    sh.dialect = "zsh";
    await sh.run(`cd ${sh.q(w.outside)}`);
    assert.equal(shardVars(await sh.env()), { PORT: "4242" }, "zsh in fish in bash");
    sh.type("exit");
    sh.dialect = "fish";
    await sh.run(`cd ${sh.q(w.outside)}`);
    assert.equal(shardVars(await sh.env()), { PORT: "4242" }, "fish in bash");
    sh.type("exit");
    sh.dialect = "bash";
    assert.equal(shardVars(await sh.env()), w.vars.main, "bash is still in main");
  });
});

test("cd . re-reads shards.env", async () => {
  for (const shell of SHELLS) {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    const w = world(sb);
    await withShell(sb, shell, { cwd: w.main }, async (sh) => {
      assert.equal(shardVars(await sh.env()), w.vars.main, shell);
      const next = range(3100, 3, w.main);
      writeEnv(gitDir(sb, w.main), next);
      await sh.run("true");
      assert.equal(shardVars(await sh.env()), w.vars.main, `${shell}: an unchanged $PWD reads nothing`);
      await sh.run("cd .");
      assert.equal(shardVars(await sh.env()), next, `${shell}: cd . re-reads`);
    });
  }
});

test('installed as the README says: eval "$(shards hook bash|zsh)", shards hook fish | source', async () => {
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build`);
  for (const shell of SHELLS) {
    if (!need("tmux", shell)) return;
    const sb = sandbox();
    const w = world(sb);
    const after = shell === "fish" ? "shards hook fish | source" : `eval "$(shards hook ${shell})"`;
    await withShell(sb, shell, { cwd: w.outside, sources: 0, after, env: { PATH: shardsOnPath(sb) } }, async (sh) => {
      await sh.run(`cd ${sh.q(w.linked)}`);
      assert.equal(shardVars(await sh.env()), w.vars.linked, shell);
      await sh.run(`cd ${sh.q(w.outside)}`);
      assert.equal(shardVars(await sh.env()), {}, shell);
    });
  }
});

// ---- direnv ---------------------------------------------------------------------------

/** A PATH dir with `shards`: the real CLI, or a script given here. */
function shardsOnPath(sb: Sandbox, script?: string): string {
  const bin = join(sb.dir, "bin");
  mkdirSync(bin, { recursive: true });
  const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  writeFileSync(join(bin, "shards"), script ?? `#!/bin/sh\nexec ${q(process.execPath)} ${q(CLI)} "$@"\n`);
  chmodSync(join(bin, "shards"), 0o755);
  return `${bin}:${sb.env.PATH}`;
}

/**
 * direnv set up as a user does: the lib file, the hook in bashrc, `use shards` allowed. With
 * a `script`, that is the `shards` on PATH; without, the real CLI (which also writes the lib).
 */
function direnvWorld(sb: Sandbox, script?: string) {
  const lib = join(sb.home, ".config/direnv/lib");
  mkdirSync(lib, { recursive: true });
  if (script) copyFileSync(join(ROOT, "shell/shards.direnv.sh"), join(lib, "shards.sh"));
  else {
    // As a user installs it: shards hook direnv > ~/.config/direnv/lib/shards.sh
    const r = shards(sb, sb.dir, ["hook", "direnv"]);
    assert.is(r.status, 0, r.stderr);
    writeFileSync(join(lib, "shards.sh"), r.stdout);
  }
  // Not `$` or backticks: direnv itself (2.32) expands them in the .envrc's path.
  const main = repo(sb, "direnv main 'q'");
  writeFileSync(join(main, ".envrc"), "use shards\n");
  git(sb, main, "add", ".envrc");
  git(sb, main, "commit", "-qm", "envrc");
  const linked = join(sb.dir, "direnv linked wt");
  git(sb, main, "worktree", "add", "-q", "-b", "feature", linked);
  const outside = join(sb.dir, "outside");
  mkdirSync(outside);
  const PATH = shardsOnPath(sb, script);
  const env = { ...sb.env, PATH, DIRENV_LOG_FORMAT: "direnv: %s" };
  for (const dir of [main, linked]) {
    const r = spawnSync("direnv", ["allow", dir], { env, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`direnv allow failed: ${r.stderr}`);
  }
  return { main, linked, outside, env: { PATH, DIRENV_LOG_FORMAT: "direnv: %s" } };
}

const direnvRc = 'eval "$(direnv hook bash)"';

test("direnv: use shards exports the worktree's variables, and direnv takes them back", async () => {
  if (!need("tmux", "bash", "direnv")) return;
  const sb = sandbox();
  const d = direnvWorld(sb, "#!/bin/sh\necho 'shards must not be called: shards.env exists' >&2\nexit 1\n");
  const vars = range(3010, 10, d.main, { SHARD_PORT_WEB: "3010", PORT: "3010" });
  writeFileSync(
    join(gitDir(sb, d.main), "shards.env"),
    `${Object.entries(vars)
      .map(([k, v]) => `${k}=${v}`)
      .join("\n")}\nPATH=/evil\nSHARD_X=$(touch ${join(sb.dir, "pwned")})\n`,
  );
  await withShell(sb, "bash", { cwd: d.outside, sources: 0, after: direnvRc, env: d.env }, async (sh) => {
    await sh.run(exportCmd("bash", { PORT: "4242" }));
    await sh.run(`cd ${sh.q(d.main)}`);
    let env = await sh.env();
    assert.equal(shardVars(env), vars);
    assert.is(env.PATH, d.env.PATH, "PATH untouched");
    assert.not.ok(existsSync(join(sb.dir, "pwned")));
    await sh.run(`cd ${sh.q(join(d.main, ".git"))}`); // a subdirectory
    assert.equal(shardVars(await sh.env()), vars);
    await sh.run(`cd ${sh.q(d.outside)}`);
    env = await sh.env();
    assert.equal(shardVars(env), { PORT: "4242" });
  });
});

test("direnv: a worktree without a range gets one on first load (the real CLI); a new range is seen at the next prompt", async () => {
  if (!need("tmux", "bash", "direnv")) return;
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build`);
  const sb = sandbox();
  const d = direnvWorld(sb);
  const envFile = join(gitDir(sb, d.linked), "shards.env");
  assert.not.ok(existsSync(envFile));
  await withShell(sb, "bash", { cwd: d.outside, sources: 0, after: direnvRc, env: d.env }, async (sh) => {
    await sh.run(`cd ${sh.q(d.linked)}`);
    // direnv runs at the prompt that follows, so this waits for it (node may be slow to start).
    const env = await sh.env(30_000);
    assert.ok(existsSync(envFile), "use shards allocated: shards.env written");
    assert.equal(shardVars(env), range(3000, 10, d.linked, { SHARD_NAME: "direnv-linked-wt" }));
    assert.ok(readFileSync(sb.registry, "utf8").includes("direnv linked wt"), "the registry holds the worktree");

    // direnv compares modification times to the second: let one pass since the load.
    await new Promise((r) => setTimeout(r, 1100));
    await sh.run("shards release && shards allocate --count 5 > /dev/null", 30_000);
    assert.equal(
      shardVars(await sh.env(30_000)),
      range(3000, 5, d.linked, { SHARD_NAME: "direnv-linked-wt" }),
      "release + allocate seen at the next prompt",
    );

    // The file rewritten by anyone (a newer modification time): seen at the next prompt.
    writeEnv(gitDir(sb, d.linked), range(3200, 4, d.linked));
    const later = new Date(Date.now() + 2000);
    utimesSync(envFile, later, later);
    await sh.run("true");
    assert.equal(shardVars(await sh.env()), range(3200, 4, d.linked), "rewritten file seen at the next prompt");

    await sh.run(`cd ${sh.q(d.outside)}`);
    assert.equal(shardVars(await sh.env()), {});
  });
});

test("direnv: when allocating fails, one error line and nothing exported", async () => {
  if (!need("direnv")) return;
  const sb = sandbox();
  const d = direnvWorld(
    sb,
    "#!/bin/sh\necho 'shards: no free range in 3000-3009 (1 taken)' >&2\necho 'more detail' >&2\nexit 1\n",
  );
  const r = spawnSync("direnv", ["export", "json"], { cwd: d.linked, env: { ...sb.env, ...d.env }, encoding: "utf8" });
  // direnv colours its lines
  const errors = r.stderr
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((l) => l.includes("shards:"));
  assert.equal(errors, ["direnv: shards: allocate failed: shards: no free range in 3000-3009 (1 taken)"], r.stderr);
  const out = r.stdout.trim() ? JSON.parse(r.stdout) : {};
  assert.equal(shardVars(out), {});
  rmSync(sb.dir, { recursive: true, force: true });
});

test.run();
