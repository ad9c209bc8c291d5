// Checks what can silently stop ports from arriving: the hook, the config, the registry and
// the shell integration. Each problem is one line with its fix; quiet when all is well.
import { existsSync } from "node:fs";
import { basename } from "node:path";
import { isatty } from "node:tty";
import { defineCommand } from "citty";
import { type Allocation, flawOf, formatRange } from "../core/records.ts";
import { ignoredConfigFiles, loadConfig } from "../edges/config.ts";
import { readText } from "../edges/files.ts";
import {
  bareTarget,
  coverage,
  currentRuntime,
  type HookTarget,
  hookState,
  hookTarget,
  lefthookEntryCommitted,
  lefthookInstalled,
  machineWideHooksPath,
  PREVIOUS_SUFFIX,
} from "../edges/hooks.ts";
import { portProblems } from "../edges/ports.ts";
import { inspectRegistry, type RegistryState } from "../edges/registry.ts";
import { findWorktree, staleTest, type Worktree } from "../edges/worktree.ts";
import { BareRepositoryError, errorLine, NotAWorktreeError } from "../errors.ts";
import { logger, print, printJson } from "../output.ts";
import { jsonArg } from "./_shared.ts";

interface Check {
  name: string;
  ok: boolean;
  message: string;
  fix: string | null;
  /** Passed because it could not be checked here; the summary says so. */
  skipped?: string;
}

const pass = (name: string, message: string): Check => ({ name, ok: true, message, fix: null });
const fail = (name: string, message: string, fix: string): Check => ({ name, ok: false, message, fix });

function checkGit(cwd: string): { check: Check; wt: Worktree | null } {
  try {
    const wt = findWorktree(cwd);
    return { check: pass("git", `git worktree ${wt.root}`), wt };
  } catch (error) {
    // A bare repository has no worktree, but its hook is still the one its worktrees run.
    if (error instanceof BareRepositoryError)
      return { check: pass("git", `bare repository ${error.gitDir}`), wt: bareTarget(error.gitDir) };
    const message = error instanceof NotAWorktreeError ? `${cwd} is not inside a git worktree` : errorLine(error);
    return { check: fail("git", message, "run shards doctor inside a git repository"), wt: null };
  }
}

function checkHook(wt: Worktree): Check {
  let target: HookTarget;
  try {
    target = hookTarget(wt);
  } catch (error) {
    return fail("hook", errorLine(error), "check that git works in this repository");
  }
  const rt = currentRuntime();
  const state = hookState(target, rt);
  const install = "run `shards install`";
  if (state.foreign && state.previous)
    return fail(
      "hook",
      `${state.where} is not shards' hook, and ${state.where}${PREVIOUS_SUFFIX} is there too`,
      `keep one of the two (merge what you need), then ${install}`,
    );
  if (state.foreign)
    return fail("hook", `${state.where} is not shards' hook`, `${install} (it keeps that hook and runs it)`);
  if (!state.installed) return fail("hook", `no shards post-checkout hook in ${state.where}`, install);
  for (const [what, path] of [
    ["node", state.recorded?.node],
    ["the shards CLI", state.recorded?.cli],
  ] as const)
    if (path && !existsSync(path))
      return fail("hook", `the hook runs ${what} at ${path}, which is gone`, `${install} again`);
  if (!state.current)
    return fail("hook", `the hook in ${state.where} is out of date (or runs another shards)`, install);
  if (target.kind === "lefthook") return checkLefthook(wt, target);
  const partial = coverage(wt, rt);
  if (partial && partial.missing.length > 0)
    return fail(
      "hook",
      `core.hooksPath is relative (${partial.hooksPath}), and \`git worktree add\` run from ${partial.missing.map((m) => `${m.path} (${m.why})`).join(", ")} runs no shards hook; worktrees added from there get their range on first access`,
      "run `shards install` in each (for husky: `npm install` there, and commit .husky/post-checkout)",
    );
  const global = machineWideHooksPath(wt);
  const scope = global ? ` (machine-wide: core.hooksPath is set in ${global.origin})` : "";
  return pass("hook", `hook installed in ${state.where}${scope}`);
}

/** lefthook with a post-checkout: a new worktree gets a range only when lefthook runs and its committed config has our command. */
function checkLefthook(wt: Worktree, target: Extract<HookTarget, { kind: "lefthook" }>): Check {
  if (!lefthookInstalled(target.dir))
    return fail(
      "hook",
      `lefthook's post-checkout is not in ${target.dir}, so the shards command in ${target.config} never runs`,
      "run `lefthook install`",
    );
  if (!lefthookEntryCommitted(wt, target.config))
    return fail(
      "hook",
      `the shards command in ${target.config} is not committed; a new worktree runs the config of the branch it checks out`,
      `commit ${target.config}`,
    );
  return pass("hook", `lefthook runs the shards command in ${target.config}, which runs ${target.file}`);
}

async function checkConfig(where: { root: string; repo: string }): Promise<Check> {
  try {
    const ignored = ignoredConfigFiles(where);
    if (ignored.length > 0)
      return fail(
        "config",
        `${ignored.join(", ")} is code and is ignored (configuration is data, never code)`,
        `move its values to shards.config.json and delete it`,
      );
    await loadConfig(where);
    return pass("config", "config valid");
  } catch (error) {
    return fail("config", errorLine(error), "change or remove that value where it is set");
  }
}

function checkRegistry(): Check[] {
  let state: RegistryState;
  try {
    state = inspectRegistry();
  } catch (error) {
    return [fail("registry", errorLine(error), "see the message; or set SHARDS_HOME to another directory")];
  }
  const checks: Check[] = [];
  if (state.problems.length > 0)
    checks.push(
      fail(
        "registry",
        `registry ${state.path}: ${state.problems.join("; ")}`,
        "run `shards prune` (it keeps the damaged file aside and rewrites the valid records)",
      ),
    );
  else checks.push(pass("registry", `registry ${state.path}: ${state.records.length} allocations`));
  // Rule 8: records kept for their ports although a field is bad or they overlap another.
  const flawed = state.records.filter((r) => flawOf(r) !== null);
  const describe = (r: (typeof flawed)[number]) => `${formatRange(r)} (${r.path || "no path"}): ${flawOf(r)}`;
  if (flawed.length > 0)
    checks.push(
      fail(
        "registry",
        `registry ${state.path}: ${flawed.map(describe).join("; ")}`,
        "`shards release` the worktree named (or edit the record); its ports stay taken until then",
      ),
    );
  const stale = state.records.filter(staleTest());
  if (stale.length > 0)
    checks.push(
      fail(
        "stale",
        `${stale.length} stale allocation${stale.length === 1 ? "" : "s"}: ${stale.map((r) => `${formatRange(r)} (${r.path})`).join(", ")}`,
        "run `shards prune`",
      ),
    );
  else checks.push(pass("stale", "no stale allocations"));
  return checks;
}

/** Intruders and split ports on any range: a problem only when there is one (listed by `shards list`). */
async function checkPorts(): Promise<Check[]> {
  let records: Allocation[];
  try {
    records = inspectRegistry().records;
  } catch {
    return []; // checkRegistry reports it
  }
  return (await portProblems(records)).map((p) => fail("ports", p.message, p.fix));
}

const SHELLS = ["bash", "zsh", "fish", "direnv"];

/**
 * The shell doctor runs in: its parent where the system tells (Linux), so that a zsh started
 * from a bash is told about zsh; else the login shell.
 */
function userShell(env: NodeJS.ProcessEnv): string {
  const parent = readText(`/proc/${process.ppid}/comm`)?.trim() ?? "";
  return ["bash", "zsh", "fish"].includes(parent) ? parent : basename(env.SHELL ?? "");
}

/**
 * The snippets export SHARDS_SHELL=<shell>:<SHLVL> when loaded (direnv: `direnv`); a shell
 * started from there has another SHLVL, so it does not count unless it loaded them too.
 * The fix names the user's own shell.
 */
function checkShell(env: NodeJS.ProcessEnv): Check {
  const [active, level] = (env.SHARDS_SHELL ?? "").split(":");
  const here = level === undefined || level === (env.SHLVL ?? "");
  if (active && SHELLS.includes(active) && here) return pass("shell", `shell integration active (${active})`);
  // Scripts, CI and agents have no prompt to hook: they use `shards exec` or `shards env`.
  if (!isatty(0))
    return {
      ...pass("shell", "not a terminal: shell integration not checked (scripts use `shards exec`)"),
      skipped: "not a terminal: scripts use `shards exec`",
    };
  const shell = userShell(env);
  const setup =
    shell === "fish"
      ? "add `shards hook fish | source` to ~/.config/fish/config.fish"
      : shell === "zsh" || shell === "bash"
        ? `add \`eval "$(shards hook ${shell})"\` to ~/.${shell}rc`
        : 'add `eval "$(shards hook bash)"` to your shell\'s startup file';
  const why = env.SHARDS_SHELL
    ? `SHARDS_SHELL=${env.SHARDS_SHELL} was set by another shell`
    : "SHARDS_SHELL is not set";
  return fail(
    "shell",
    `no shell integration in this shell (${why})`,
    `${setup} and open a new shell, or put \`use shards\` in .envrc (direnv)`,
  );
}

export default defineCommand({
  meta: { name: "doctor", description: "Check hook, config, registry and shell integration" },
  args: { json: jsonArg },
  async run({ args }) {
    const cwd = process.cwd();
    const { check: git, wt } = checkGit(cwd);
    const checks = [
      git,
      ...(wt ? [checkHook(wt)] : []),
      await checkConfig(wt ?? { root: cwd, repo: cwd }),
      ...checkRegistry(),
      ...(await checkPorts()),
      checkShell(process.env),
    ];
    const ok = checks.every((c) => c.ok);
    if (!ok) process.exitCode = 1;
    if (args.json) return printJson({ ok, checks });
    const unchecked = checks.filter((c) => c.skipped).map((c) => `; not checked: ${c.name} (${c.skipped})`);
    if (ok)
      return void print(
        `all good (${checks
          .filter((c) => !c.skipped)
          .map((c) => c.name)
          .join(", ")})${unchecked.join("")}\n`,
      );
    for (const c of checks) if (!c.ok) logger.error(`${c.message}; fix: ${c.fix}`);
  },
});
