// Test sandboxes: every test gets its own HOME, SHARDS_HOME and GIT_CONFIG_GLOBAL, and runs
// the built CLI (dist/cli.cjs, what users install) as a real process.
import { type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
export const CLI = join(ROOT, "dist/cli.cjs");

export interface Sandbox {
  dir: string;
  home: string;
  shardsHome: string;
  env: NodeJS.ProcessEnv;
  registry: string;
}

/** A fresh temp world. `extra` adds or overrides environment variables. */
export function sandbox(extra: NodeJS.ProcessEnv = {}): Sandbox {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "shards-test-")));
  const home = join(dir, "home");
  const shardsHome = join(dir, "state");
  mkdirSync(home, { recursive: true });
  const gitconfig = join(home, ".gitconfig");
  writeFileSync(
    gitconfig,
    "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
  );
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    LANG: "C.UTF-8",
    HOME: home,
    SHARDS_HOME: shardsHome,
    GIT_CONFIG_GLOBAL: gitconfig,
    GIT_CONFIG_NOSYSTEM: "1",
    XDG_STATE_HOME: join(home, ".local/state"),
    // probe is on by default; off here, so that the listeners of tests running beside this
    // one cannot move its ranges. test/probe.test.ts tests the default.
    SHARDS_PROBE: "0",
    ...extra,
  };
  return { dir, home, shardsHome, env, registry: join(shardsHome, "registry.json") };
}

export function git(sb: Sandbox, cwd: string, ...args: string[]): string {
  const r = spawnSync("git", args, { cwd, env: sb.env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} failed in ${cwd}: ${r.stderr}`);
  return r.stdout;
}

/** A repository with one commit, at `<sandbox>/<name>`. */
export function repo(sb: Sandbox, name = "repo"): string {
  const dir = join(sb.dir, name);
  mkdirSync(dir, { recursive: true });
  git(sb, dir, "init", "-q");
  writeFileSync(join(dir, "README"), "hello\n");
  git(sb, dir, "add", "README");
  git(sb, dir, "commit", "-qm", "init");
  return realpathSync(dir);
}

export interface RunResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function toResult(r: SpawnSyncReturns<string>): RunResult {
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `shards <args>` synchronously. */
export function shards(sb: Sandbox, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): RunResult {
  return toResult(spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...sb.env, ...env }, encoding: "utf8" }));
}

/** Runs `shards <args>` under `strace <options>` (written to a file); its result and the trace's lines. */
export function tracedShards(
  sb: Sandbox,
  cwd: string,
  options: string[],
  args: string[],
): RunResult & { trace: string[] } {
  const file = join(sb.dir, `strace-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const run = spawnSync("strace", [...options, "-o", file, process.execPath, CLI, ...args], {
    cwd,
    env: sb.env,
    encoding: "utf8",
  });
  return { ...toResult(run), trace: existsSync(file) ? readFileSync(file, "utf8").split("\n") : [] };
}

/** Runs `shards <args>` as a child process and resolves when it ends (for concurrency tests). */
export function shardsAsync(sb: Sandbox, cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...sb.env, ...env } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status, signal) => done({ status, signal, stdout, stderr }));
  });
}

/** Parses `--json` output, failing the test with the process output when it is not JSON. */
// biome-ignore lint/suspicious/noExplicitAny: tests read the fields of the JSON a command printed
export function json<T = any>(r: RunResult): T {
  try {
    return JSON.parse(r.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${r.status}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
}
