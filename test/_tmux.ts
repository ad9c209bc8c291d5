// Drives real interactive shells (bash, zsh, fish) through tmux, as a person types: each test
// gets a private tmux server (its own socket in the sandbox), a fixed small rc file that
// sources the snippet, and reads results from files the shell writes.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Sandbox } from "./_helpers.ts";
import { git, ROOT } from "./_helpers.ts";

export type ShellName = "bash" | "zsh" | "fish";
export const SHELLS: ShellName[] = ["bash", "zsh", "fish"];
export type Vars = Record<string, string>;

/** The variables shards manages, out of a whole environment. */
export function shardVars(env: Vars): Vars {
  const out: Vars = {};
  for (const [k, v] of Object.entries(env)) if (/^(SHARD_.*|PORT)$/.test(k)) out[k] = v;
  return out;
}

export function gitDir(sb: Sandbox, dir: string): string {
  return git(sb, dir, "rev-parse", "--absolute-git-dir").replace(/\n$/, "");
}

const CI = !!process.env.CI && process.env.CI !== "false" && process.env.CI !== "0";

/** Polls `check` every 25 ms until it returns something truthy or `ms` pass. */
export async function poll<T>(
  check: () => T | undefined | null | false,
  ms = 10_000,
  what = "a condition",
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const seen = new Map<string, boolean>();
/**
 * Is the tool installed (and, for strace, allowed to trace)? Outside CI a missing tool skips
 * the test with a note; in CI (CI=true) it throws, so the test fails instead of passing
 * without having run.
 */
export function need(...tools: string[]): boolean {
  for (const tool of tools) {
    if (!seen.has(tool)) {
      const probe =
        tool === "strace" ? ["strace", "-f", "-o", "/dev/null", "true"] : ["sh", "-c", `command -v ${tool}`];
      seen.set(tool, spawnSync(probe[0], probe.slice(1), { stdio: "ignore" }).status === 0);
    }
    if (!seen.get(tool)) {
      if (CI) throw new Error(`${tool} is not installed (or not usable) and CI is set: this test must run in CI`);
      console.warn(`  skipped: ${tool} is not installed`);
      return false;
    }
  }
  return true;
}

/** Quotes a string as one word for this shell; newlines included. */
export function quote(shell: ShellName, s: string): string {
  const parts = s.split("\n");
  if (shell === "fish") return parts.map((p) => `'${p.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`).join("\\n");
  return parts.map((p) => `'${p.replaceAll("'", `'\\''`)}'`).join("$'\\n'");
}

export const SNIPPET: Record<ShellName, string> = {
  bash: join(ROOT, "shell/shards.bash"),
  zsh: join(ROOT, "shell/shards.zsh"),
  fish: join(ROOT, "shell/shards.fish"),
};

export interface ShellOptions {
  /** Directory the shell starts in. */
  cwd: string;
  /** Lines of the rc file before the snippet is sourced (in that shell's language). */
  before?: string;
  /** Lines of the rc file after it. */
  after?: string;
  /** How many times the rc file sources the snippet (default 2: it must install once). */
  sources?: number;
  /** Runs the shell under `strace -f`, logging process syscalls and opens to this file. */
  strace?: string;
  /** More environment for the shell. */
  env?: NodeJS.ProcessEnv;
}

let serial = 0;

/** Writes the rc files of all three shells into the sandbox (a shell may start another). */
function writeRcFiles(sb: Sandbox, opts: ShellOptions): Record<ShellName, string[]> {
  const rc = join(sb.dir, "rc");
  const zdot = join(rc, "zsh");
  const fishConfig = join(sb.home, ".config/fish");
  for (const d of [rc, zdot, fishConfig, join(sb.home, ".local/share/fish/generated_completions")])
    mkdirSync(d, { recursive: true });
  const n = opts.sources ?? 2;
  const src = (shell: ShellName) =>
    Array(n)
      .fill(`source ${quote(shell, SNIPPET[shell])}\n`)
      .join("");
  writeFileSync(
    join(rc, "bashrc"),
    `PS1='$ '\nunset HISTFILE\n${opts.before ?? ""}\n${src("bash")}${opts.after ?? ""}\n`,
  );
  writeFileSync(join(zdot, ".zshenv"), "");
  writeFileSync(
    join(zdot, ".zshrc"),
    `PS1='%% '\nunset HISTFILE\n${opts.before ?? ""}\n${src("zsh")}${opts.after ?? ""}\n`,
  );
  writeFileSync(
    join(fishConfig, "config.fish"),
    "set -g fish_greeting ''\nfunction fish_prompt; echo -n '> '; end\nfunction fish_title; end\n" +
      `set -g fish_history shards_test\n${opts.before ?? ""}\n${src("fish")}${opts.after ?? ""}\n`,
  );
  return {
    bash: ["bash", "--noprofile", "--rcfile", join(rc, "bashrc"), "-i"],
    zsh: ["zsh", "-i"],
    fish: ["fish", "-i"],
  };
}

/** One interactive shell in a private tmux server. Always `close()` it (in a finally). */
export class Shell {
  readonly socket: string;
  readonly out: string;
  /** The language typed lines are written in (changes when a test starts another shell). */
  dialect: ShellName;
  private n = 0;
  private commands: Record<ShellName, string[]>;

  private constructor(
    readonly sb: Sandbox,
    readonly shell: ShellName,
    opts: ShellOptions,
  ) {
    this.dialect = shell;
    this.socket = join(sb.dir, `tmux-${process.pid}-${++serial}.sock`);
    this.out = join(sb.dir, `out-${serial}`);
    mkdirSync(this.out, { recursive: true });
    this.commands = writeRcFiles(sb, opts);
  }

  static async start(sb: Sandbox, shell: ShellName, opts: ShellOptions): Promise<Shell> {
    const sh = new Shell(sb, shell, opts);
    let argv = sh.commands[shell];
    if (opts.strace) {
      argv = [
        "strace",
        "-f",
        "-qq",
        "-s",
        "4096",
        "-o",
        opts.strace,
        "-e",
        "trace=fork,vfork,clone,clone3,execve,execveat,openat",
        "--",
        ...argv,
      ];
    }
    const env: NodeJS.ProcessEnv = {
      ...sb.env,
      TERM: "xterm-256color",
      ZDOTDIR: join(sb.dir, "rc/zsh"),
      XDG_DATA_HOME: join(sb.home, ".local/share"),
      TMUX: undefined,
      TMUX_PANE: undefined,
      ...opts.env,
    };
    const r = spawnSync(
      "tmux",
      [
        "-S",
        sh.socket,
        "-f",
        "/dev/null",
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "160",
        "-y",
        "40",
        "-c",
        opts.cwd,
        ...argv,
      ],
      {
        env,
        encoding: "utf8",
      },
    );
    if (r.status !== 0) throw new Error(`tmux new-session failed: ${r.stderr}`);
    // Type only once the line editor shows its prompt.
    const prompt = { bash: "$ ", zsh: "% ", fish: "> " }[shell];
    await poll(
      () =>
        sh
          .screen()
          .split("\n")
          .some((l) => l.startsWith(prompt)),
      15_000,
      `the ${shell} prompt`,
    ).catch((e) => {
      throw new Error(`${e.message}\nscreen:\n${sh.screen()}`);
    });
    return sh;
  }

  private tmux(...args: string[]) {
    return spawnSync("tmux", ["-S", this.socket, ...args], { encoding: "utf8" });
  }

  /** What the terminal shows now (for failure messages). */
  screen(): string {
    return this.tmux("capture-pane", "-p", "-J", "-t", "t").stdout ?? "";
  }

  /** Types a line and presses Enter, without waiting. */
  type(line: string): void {
    if (line) this.tmux("send-keys", "-t", "t", "-l", "--", line);
    this.tmux("send-keys", "-t", "t", "Enter");
  }

  /** Quotes for the shell being typed into. */
  q(s: string): string {
    return quote(this.dialect, s);
  }

  /** Types `line`, then waits until it has run (it is followed by a builtin that writes a file). */
  async run(line: string, ms = 10_000): Promise<void> {
    const done = join(this.out, `done.${++this.n}`);
    this.type(`${line}; echo > ${this.q(done)}`);
    await poll(() => existsSync(done), ms, `\`${line}\` to run`).catch((e) => {
      throw new Error(`${e.message}\nscreen:\n${this.screen()}`);
    });
  }

  /** Runs a command that writes to the file it is given, and returns what it wrote. */
  async capture(command: (file: string) => string, ms?: number): Promise<string> {
    const file = join(this.out, `capture.${this.n + 1}`);
    await this.run(command(this.q(file)), ms);
    return readFileSync(file, "utf8");
  }

  /** The exported environment, as a child process of the shell sees it. */
  async env(ms?: number): Promise<Record<string, string>> {
    const text = await this.capture((f) => `env -0 > ${f}`, ms);
    const env: Record<string, string> = {};
    for (const entry of text.split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  }

  /** Types `exit` and waits for the shell (and with it the tmux server) to end. */
  async exit(): Promise<void> {
    this.type("exit");
    await poll(() => this.tmux("has-session", "-t", "t").status !== 0, 15_000, "the shell to exit");
  }

  close(): void {
    this.tmux("kill-server");
  }
}

/**
 * Process creations by the traced shell (its own pid and its threads) between two opens of
 * marker files, in an `strace -f -e trace=fork,vfork,clone,clone3,execve,execveat,openat`
 * log. Thread creation (CLONE_THREAD, which fish uses) is not a process and is not counted.
 */
export function processesBetween(log: string, from: string, to: string): string[] {
  const lines = log.split("\n");
  const shellPid = /^(\d+)\s/.exec(lines[0] ?? "")?.[1];
  if (!shellPid) throw new Error(`unexpected strace log:\n${log.slice(0, 500)}`);
  const shell = new Set([shellPid]);
  const pending = new Map<string, string>();
  const found: string[] = [];
  let state: "before" | "in" | "after" = "before";
  for (const raw of lines) {
    const m = /^(\d+)\s+(.*)$/.exec(raw);
    if (!m) continue;
    const pid = m[1];
    let call = m[2];
    if (call.endsWith("<unfinished ...>")) {
      pending.set(pid, call.slice(0, -"<unfinished ...>".length));
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(call);
    if (resumed) {
      call = (pending.get(pid) ?? `${resumed[1]}(`) + resumed[2];
      pending.delete(pid);
    }
    const name = /^(\w+)\(/.exec(call)?.[1];
    if (!name) continue;
    if (name === "openat") {
      if (state === "before" && call.includes(`/${from}"`)) state = "in";
      else if (state === "in" && call.includes(`/${to}"`)) state = "after";
      continue;
    }
    if (!shell.has(pid)) continue;
    if ((name === "clone" || name === "clone3") && call.includes("CLONE_THREAD")) {
      const tid = /=\s+(\d+)\s*$/.exec(call)?.[1];
      if (tid) shell.add(tid);
      continue;
    }
    if (state === "in") found.push(`${pid} ${call}`);
  }
  if (state !== "after") throw new Error(`markers ${from} / ${to} not both found in the strace log`);
  return found;
}
