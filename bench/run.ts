// npm run bench [-- --json] [-- --quick] [-- --only=A,E]
// Every figure is a ratio of two things measured side by side in one run, A and B
// interleaved run by run after a warm-up, so that the noise of a shared machine cancels
// out; each figure keeps its paired samples (`--json`). Real git, real bash and zsh
// reading their input as interactive shells, real direnv; its own HOME, SHARDS_HOME and
// git config.
import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const CLI = join(ROOT, "dist/cli.cjs");
const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const JSON_OUT = args.includes("--json");
/** `--only=A,E`: just those figures, while working on one. */
const ONLY = args
  .find((a) => a.startsWith("--only="))
  ?.slice("--only=".length)
  .split(",");
const wanted = (letter: string) => !ONLY || ONLY.includes(letter);
/** Runs per figure for process figures, and rounds for the shell figures. */
const RUNS = QUICK ? 3 : 21;
const SHELL_RUNS = QUICK ? 3 : 300;

interface Figure {
  figure: string;
  a: string;
  b: string;
  aValue: number;
  bValue: number;
  ratio: number;
  /** null for a figure shown for information only. */
  goal: number | null;
  unit: string;
  pass: boolean;
  info: boolean;
  /** The paired samples: a[i] and b[i] were measured in the same round. */
  samples?: { a: number[]; b: number[] };
  /** For a count: what the same counter gives for one external command (must be 1). */
  control?: number;
  /** Where the time of each side goes, step by step (ms, medians). */
  breakdown?: Record<string, Record<string, number>>;
  note?: string;
}
const figures: Figure[] = [];

function log(line: string): void {
  if (!JSON_OUT) process.stderr.write(`${line}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

interface Paired {
  figure: string;
  a: string;
  b: string;
  samples: { a: number[]; b: number[] };
  /** Omitted: information only. */
  goal?: number;
  unit: string;
  breakdown?: Figure["breakdown"];
}

/** A ratio of the medians of samples taken in pairs; `goal` absent: information only. */
function record(f: Paired): Figure {
  const aValue = median(f.samples.a);
  const bValue = median(f.samples.b);
  const ratio = aValue / bValue;
  const info = f.goal === undefined;
  const pass = info || ratio <= (f.goal as number);
  const figure: Figure = { ...f, aValue, bValue, ratio, goal: f.goal ?? null, pass, info };
  if (info) figure.note = "info";
  figures.push(figure);
  const verdict = info ? "(information only)" : `(goal <= ${f.goal}: ${pass ? "pass" : "FAIL"})`;
  log(`  ${f.figure}: ${ratio.toFixed(3)} ${verdict}`);
  return figure;
}

// --- a private world ------------------------------------------------------------------
const world = realpathSync(mkdtempSync(join(tmpdir(), "shards-bench-")));
const home = join(world, "home");
mkdirSync(home);
writeFileSync(
  join(home, ".gitconfig"),
  "[user]\n\tname = Bench\n\temail = bench@example.com\n" +
    "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n",
);
const baseEnv: NodeJS.ProcessEnv = {
  PATH: `${join(world, "bin")}:${process.env.PATH}`,
  LANG: "C.UTF-8",
  HOME: home,
  SHARDS_HOME: join(world, "state"),
  GIT_CONFIG_GLOBAL: join(home, ".gitconfig"),
  GIT_CONFIG_NOSYSTEM: "1",
  XDG_CONFIG_HOME: join(home, ".config"),
  XDG_DATA_HOME: join(home, ".local/share"),
};
mkdirSync(join(world, "bin"));
writeFileSync(join(world, "bin/shards"), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });

function run(cmd: string, argv: string[], cwd: string, env: NodeJS.ProcessEnv = baseEnv): string {
  const r = spawnSync(cmd, argv, { cwd, env, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} failed in ${cwd}: ${r.stderr}`);
  return r.stdout;
}

/** Wall time of one process, in ms. */
function timed(cmd: string, argv: string[], cwd: string, env: NodeJS.ProcessEnv = baseEnv): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, { cwd, env, stdio: "ignore" });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(" ")} exited ${r.status} in ${cwd}`);
  return ms;
}

function makeRepo(name: string): string {
  const dir = join(world, name);
  mkdirSync(dir, { recursive: true });
  run("git", ["init", "-q"], dir);
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, `file${i}.txt`), `main ${i}\n`);
  run("git", ["add", "."], dir);
  run("git", ["commit", "-qm", "main"], dir);
  run("git", ["checkout", "-qb", "other"], dir);
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, `file${i}.txt`), `other ${i}\n`);
  run("git", ["commit", "-qam", "other"], dir);
  run("git", ["checkout", "-q", "main"], dir);
  return dir;
}

/** Interleaves the samplers run by run after `warmup` rounds; returns every sample. */
function samplesOf(samplers: (() => number)[], runs = RUNS, warmup = 2): number[][] {
  const samples = samplers.map(() => [] as number[]);
  for (let i = 0; i < warmup + runs; i++)
    samplers.forEach((sample, k) => {
      const ms = sample();
      if (i >= warmup) samples[k].push(ms);
    });
  return samples;
}

async function asyncSamplesOf(
  samplers: (() => Promise<number> | number)[],
  runs = RUNS,
  warmup = 2,
): Promise<number[][]> {
  const samples = samplers.map(() => [] as number[]);
  for (let i = 0; i < warmup + runs; i++)
    for (const [k, sample] of samplers.entries()) {
      const ms = await sample();
      if (i >= warmup) samples[k].push(ms);
    }
  return samples;
}

/**
 * Servers listening on 127.0.0.1, as agents' dev servers would be: one on each of `ports`,
 * or, where something on this machine has that port already, on the next free one of the
 * seven above it (the callers' ports sit low in ranges of ten).
 */
function listen(ports: number[]): Promise<Server[]> {
  const one = (port: number, tries: number): Promise<Server> =>
    new Promise((done, fail) => {
      const s = createServer();
      s.once("error", (error: NodeJS.ErrnoException) =>
        error.code === "EADDRINUSE" && tries > 0 ? one(port + 1, tries - 1).then(done, fail) : fail(error),
      );
      s.listen(port, "127.0.0.1", () => done(s));
    });
  return Promise.all(ports.map((port) => one(port, 7)));
}

function close(servers: Server[]): Promise<unknown> {
  return Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
}

// --- A. git checkout: our hook / a hook that is only `exit 0` ------------------------
function figureA(): void {
  log("A. git checkout with our hook / with an `exit 0` hook");
  const ours = makeRepo("a-ours");
  run(process.execPath, [CLI, "install"], ours);
  const noop = makeRepo("a-noop");
  writeFileSync(join(noop, ".git/hooks/post-checkout"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const none = makeRepo("a-none");
  const flip = (dir: string) => {
    let branch = "main";
    return () => {
      branch = branch === "main" ? "other" : "main";
      return timed("git", ["checkout", "-q", branch], dir);
    };
  };
  const [withOurs, withNoop, withNone] = samplesOf([flip(ours), flip(noop), flip(none)], RUNS * 2);
  const vsNoop = { a: "our hook", unit: "ms" };
  record({
    figure: "A git checkout: our hook / exit-0 hook",
    b: "exit 0 hook",
    samples: { a: withOurs, b: withNoop },
    goal: 1.05,
    ...vsNoop,
  });
  const noHook = { b: "no hook", samples: { a: withOurs, b: withNone } };
  record({ figure: "A' (info) git checkout: our hook / no hook", ...noHook, ...vsNoop });
}

// --- B. git worktree add: (with hook - without) / node -e '' --------------------------
function figureB(): void {
  log("B. (git worktree add with the hook - without) / node -e ''");
  const ours = makeRepo("b-ours");
  run(process.execPath, [CLI, "install"], ours);
  const none = makeRepo("b-none");
  // Rule 7's probe on, whatever the default: the goal holds with it. B' (information)
  // is the same hook with the probe off, to show what the probe costs.
  const probe = (on: boolean) => ({ ...baseEnv, SHARDS_PROBE: on ? "1" : "0" });
  let n = 0;
  const add =
    (dir: string, env = baseEnv) =>
    () => {
      const path = join(world, `b-wt-${n++}`);
      const ms = timed("git", ["worktree", "add", "-q", "--detach", path], dir, env);
      run("git", ["worktree", "remove", "--force", path], dir);
      return ms;
    };
  const node = () => timed(process.execPath, ["-e", ""], world);
  // The hook's cost is the difference within each round (the adds run back to back), so
  // that drift of the machine between rounds cancels too.
  const samplers = [add(ours, probe(true)), add(none), add(ours, probe(false)), node];
  const [withProbe, without, noProbe, nodeStart] = samplesOf(samplers, RUNS * 2);
  const cost = (samples: number[]) => samples.map((ms, i) => ms - without[i]);
  const parts = { a: "hook cost", b: "node -e ''", unit: "ms" };
  const figure = "B worktree add, probe on: (hook - no hook) / node start";
  record({ figure, samples: { a: cost(withProbe), b: nodeStart }, goal: 1.3, ...parts });
  record({ figure: "B' (info) the same, probe off", samples: { a: cost(noProbe), b: nodeStart }, ...parts });
}

// --- C, D. the shell prompt and cd / one `direnv export bash` ---------------------------
// The shells run as users have them: interactive (`-i`), reading their input line by line
// from a file, so that bash evaluates PROMPT_COMMAND itself before every line and zsh runs
// its chpwd and precmd hooks. What shards costs is the time of the same lines with its
// hooks installed minus with them removed, within one round.

interface ShellKind {
  /** For the figures' names (PC: PROMPT_COMMAND). */
  label: string;
  shell: "bash" | "zsh";
  argv: string[];
  /** Run once: load the snippet and remember its hooks. */
  setup: string[];
  /** Install the hooks the snippet set up / remove them. */
  on: string;
  off: string;
  /** Microseconds since the epoch, as an integer or a float. */
  now: string;
}

function shellKinds(snippetOf: (shell: string) => string): ShellKind[] {
  const bashArgv = ["--norc", "--noprofile", "--noediting", "-i"];
  const bashSetup = ["set +o history", "PS1= PS2="];
  const bashNow = "${EPOCHREALTIME/./}";
  return [
    {
      label: "bash PC=string",
      shell: "bash",
      argv: bashArgv,
      setup: [...bashSetup, "unset PROMPT_COMMAND", `source '${snippetOf("bash")}'`, "_bench_on=$PROMPT_COMMAND"],
      on: "PROMPT_COMMAND=$_bench_on",
      off: "unset PROMPT_COMMAND",
      now: bashNow,
    },
    {
      label: "bash PC=array",
      shell: "bash",
      argv: bashArgv,
      setup: [
        ...bashSetup,
        "PROMPT_COMMAND=(:)",
        `source '${snippetOf("bash")}'`,
        '_bench_on=("${PROMPT_COMMAND[@]}")',
      ],
      on: 'PROMPT_COMMAND=("${_bench_on[@]}")',
      off: "PROMPT_COMMAND=(:)",
      now: bashNow,
    },
    {
      label: "zsh",
      shell: "zsh",
      argv: ["-f", "-i"],
      setup: [
        "PS1= PS2=",
        "zmodload zsh/datetime",
        `source '${snippetOf("zsh")}'`,
        "_bench_pre=($precmd_functions) _bench_chp=($chpwd_functions)",
      ],
      on: "precmd_functions=($_bench_pre) chpwd_functions=($_bench_chp)",
      off: "precmd_functions=() chpwd_functions=()",
      now: "$(( EPOCHREALTIME * 1000000 ))",
    },
  ];
}

/** What shards.env exports in the bench's worktree (no port names). */
const SHARD_KEYS = "SHARD_PORT_RANGE_START SHARD_PORT_RANGE_END SHARD_PORT_COUNT SHARD_ROOT SHARD_NAME";
/** The same keys set by something else (D''): another tool's values, to be kept and given back. */
const SET_BEFORE = SHARD_KEYS.split(" ")
  .map((k) => `${k}=1`)
  .join(" ");

interface Places {
  main: string;
  sub: string;
  outside: string;
}

/**
 * One arm of a round, starting and ending outside any worktree. Each line is followed by a
 * prompt; a timestamp taken at the start of a line covers the prompt before it.
 *   t0..t1  100 prompts in the worktree, $PWD unchanged (C)
 *   t1..t2  cd from the worktree's top into a subdirectory and back, a prompt after each (D')
 *   t3..t4  cd from outside into the subdirectory and back out, a prompt after each (D)
 *   t4..t5  the same with the variables already set when entering (D''): saved, then restored
 */
function arm(kind: ShellKind, which: "on" | "off", { main, sub, outside }: Places): string[] {
  const now = kind.now;
  return [
    which === "on" ? kind.on : kind.off,
    `cd '${main}'`,
    `t0=${now}`,
    ...Array<string>(99).fill(":"),
    `t1=${now}; cd '${sub}'`,
    `cd '${main}'`,
    `t2=${now}; cd '${outside}'`,
    `t3=${now}; cd '${sub}'`,
    `cd '${outside}'`,
    `t4=${now}; export ${SET_BEFORE}; cd '${sub}'`,
    `cd '${outside}'`,
    `t5=${now}; unset ${SHARD_KEYS}; echo "${which} $(( t1 - t0 )) $(( t2 - t1 )) $(( t4 - t3 )) $(( t5 - t4 ))"`,
  ];
}

/** Runs `lines` in an interactive shell reading them from a file (under `wrap`: strace); returns its stdout. */
function interactive(kind: ShellKind, lines: string[], cwd: string, wrap: string[] = []): string {
  const input = join(world, `input-${process.hrtime.bigint()}`);
  writeFileSync(input, `${lines.join("\n")}\nexit\n`);
  const fd = openSync(input, "r");
  try {
    const [cmd, ...argv] = [...wrap, kind.shell, ...kind.argv];
    const r = spawnSync(cmd, argv, {
      cwd,
      env: { ...baseEnv, SHELL: kind.shell },
      stdio: [fd, "pipe", "pipe"],
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0) throw new Error(`${kind.shell} -i exited ${r.status}: ${r.stderr.slice(-500)}`);
    return r.stdout;
  } finally {
    closeSync(fd);
  }
}

/**
 * Processes started while the shell runs `lines`, counted under strace: every process
 * that made a process-related system call (each one exits), but the shell itself.
 */
function processesStarted(kind: ShellKind, lines: string[], cwd: string): number {
  const trace = join(world, `trace-${process.hrtime.bigint()}`);
  interactive(kind, lines, cwd, ["strace", "-f", "-qq", "-o", trace, "-e", "trace=process"]);
  const pids = new Set(
    readFileSync(trace, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((l) => l.split(" ")[0]),
  );
  return pids.size - 1;
}

function shellFigures(kind: ShellKind, places: Places, main: string): void {
  log(`C, D. ${kind.label}: prompts and cd, with shards' hooks - without / direnv export bash`);
  const direnvLines = [
    `cd '${main}'`,
    `t5=${kind.now}; direnv export bash >/dev/null 2>&1; t6=${kind.now}; echo "direnv $(( t6 - t5 ))"`,
    `cd '${places.outside}'`,
  ];
  const warmup = QUICK ? 1 : 20;
  // direnv loaded in main, so that its export takes the path of a prompt in a loaded
  // directory; without the variables of its `use shards`, which a user of the shell hook
  // does not have outside a worktree (D'' measures shards with such values set).
  const direnvLoaded = ['eval "$(direnv export bash 2>/dev/null)"', `unset ${SHARD_KEYS}`];
  const lines = [...kind.setup, `cd '${main}'`, ...direnvLoaded, `cd '${places.outside}'`];
  for (let i = 0; i < warmup + SHELL_RUNS; i++)
    lines.push(...arm(kind, "on", places), ...arm(kind, "off", places), ...direnvLines);
  const out = interactive(kind, lines, places.outside)
    .trim()
    .split("\n")
    .map((l) => l.split(" "));
  const rounds: { prompt: number; inside: number; enterLeave: number; setBefore: number; direnv: number }[] = [];
  for (let i = warmup * 3; i + 2 < out.length; i += 3) {
    const [on, off, direnv] = out.slice(i, i + 3);
    if (on[0] !== "on" || off[0] !== "off" || direnv[0] !== "direnv")
      throw new Error(`unexpected shell output: ${out[i]}`);
    const cost = (k: number) => Number(on[k]) - Number(off[k]);
    rounds.push({
      prompt: cost(1) / 100,
      inside: cost(2),
      enterLeave: cost(3),
      setBefore: cost(4),
      direnv: Number(direnv[1]),
    });
  }
  if (rounds.length !== SHELL_RUNS) throw new Error(`${kind.label}: ${rounds.length} rounds of ${SHELL_RUNS}`);
  const direnv = rounds.map((r) => r.direnv);
  const of = (key: "prompt" | "inside" | "enterLeave" | "setBefore") => ({ a: rounds.map((r) => r[key]), b: direnv });
  const vsDirenv = { b: "direnv export", unit: "µs" };
  const label = kind.label;
  record({
    figure: `C ${label} prompt, $PWD unchanged / direnv export`,
    a: "prompt",
    samples: of("prompt"),
    goal: 0.01,
    ...vsDirenv,
  });
  record({
    figure: `D ${label} cd from outside to a subdir and out / direnv`,
    a: "cd in+out",
    samples: of("enterLeave"),
    goal: 0.1,
    ...vsDirenv,
  });
  const within = { a: "cd within", samples: of("inside") };
  record({ figure: `D' (info) ${label} cd top to subdir and back / direnv`, ...within, ...vsDirenv });
  const setBefore = { a: "cd in+out, set", samples: of("setBefore") };
  record({ figure: `D'' (info) ${label} the same, its variables set before / direnv`, ...setBefore, ...vsDirenv });

  // Zero processes on the prompt and cd paths; the counter itself must see `env true`.
  const once = arm(kind, "on", places).slice(1);
  const traced = [...kind.setup, `cd '${main}'`, ...once, ...once];
  const started = processesStarted(kind, traced, places.outside);
  const control = processesStarted(kind, [...traced, "env true"], places.outside) - started;
  const pass = started === 0;
  figures.push({
    figure: `C ${kind.label} processes started by prompts and cd`,
    a: "processes",
    b: "-",
    aValue: started,
    bValue: 0,
    ratio: started,
    goal: 0,
    unit: "",
    pass,
    info: false,
    control,
  });
  const verdict = pass ? "pass" : "FAIL";
  log(`  C ${label} processes started: ${started} (goal 0: ${verdict}; the counter sees ${control} for one command)`);
}

function figuresCD(): void {
  const main = makeRepo("c-repo");
  const sub = join(main, "sub/deeper");
  mkdirSync(sub, { recursive: true });
  const outside = join(world, "c-outside");
  mkdirSync(outside);
  run(process.execPath, [CLI, "allocate"], main);
  const libDir = join(home, ".config/direnv/lib");
  mkdirSync(libDir, { recursive: true });
  writeFileSync(join(libDir, "shards.sh"), run(process.execPath, [CLI, "hook", "direnv"], main));
  writeFileSync(join(main, ".envrc"), "use shards\n");
  run("direnv", ["allow", main], main);
  // The snippets as `eval "$(shards hook bash)"` gets them.
  const snippetOf = (shell: string) => {
    const file = join(world, `shards.${shell}`);
    writeFileSync(file, run(process.execPath, [CLI, "hook", shell], main));
    return file;
  };
  for (const kind of shellKinds(snippetOf)) shellFigures(kind, { main, sub, outside }, main);
}

// --- E, H. 1,000 live records -----------------------------------------------------------
interface LiveRecord {
  gitDir: string;
  path: string;
  branch: string;
  repo: string;
  names: string[];
  start: number;
  end: number;
  count: number;
}

let liveCache: LiveRecord[] | undefined;

/**
 * 1,000 live worktrees laid out as git lays them: 10 repositories of 100 linked worktrees,
 * each git dir with its HEAD, commondir and gitdir files, each worktree with its `.git`.
 */
function liveRecords(): LiveRecord[] {
  liveCache ??= Array.from({ length: 1000 }, (_, i) => {
    const repo = join(world, "live", `repo${i % 10}`);
    const gitDir = join(repo, ".git/worktrees", `w${i}`);
    const path = join(world, "live", `repo${i % 10}-w${i}`);
    mkdirSync(gitDir, { recursive: true });
    mkdirSync(path, { recursive: true });
    writeFileSync(join(repo, ".git/HEAD"), "ref: refs/heads/main\n");
    writeFileSync(join(gitDir, "HEAD"), `ref: refs/heads/w${i}\n`);
    writeFileSync(join(gitDir, "commondir"), "../..\n");
    writeFileSync(join(gitDir, "gitdir"), `${path}/.git\n`);
    writeFileSync(join(path, ".git"), `gitdir: ${gitDir}\n`);
    const start = 13000 + i * 10;
    return { gitDir, path, branch: `w${i}`, repo, names: [], start, end: start + 9, count: 10 };
  });
  return liveCache;
}

/** As shards writes it: one record a line. */
const registryText = (records: object[]) =>
  `{"version":1,"allocations":[\n${records.map((r) => JSON.stringify(r)).join(",\n")}\n]}\n`;

/** bench/steps.ts bundled as the CLI is, so that each step runs as cold as in `shards allocate`. */
async function stepsBundle(): Promise<string> {
  const outfile = join(world, "steps.cjs");
  await build({
    entryPoints: [join(ROOT, "bench/steps.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    external: ["c12"],
    define: { "import.meta.dirname": "__dirname", "import.meta.filename": "__filename" },
    logLevel: "warning",
  });
  return outfile;
}

async function figureE(): Promise<void> {
  log("E. shards allocate with 1,000 live records / with 0");
  const big = join(world, "e-big");
  const empty = join(world, "e-empty");
  mkdirSync(big, { recursive: true });
  mkdirSync(empty, { recursive: true });
  const bigRegistry = registryText(liveRecords());
  const target = makeRepo("e-target");
  const reset = (state: string, registry: string | null) => {
    if (registry === null) rmSync(join(state, "registry.json"), { force: true });
    else writeFileSync(join(state, "registry.json"), registry);
    rmSync(join(target, ".git/shards.env"), { force: true });
  };
  const allocate = (state: string, registry: string | null) => () => {
    reset(state, registry);
    return timed(process.execPath, [CLI, "allocate"], target, { ...baseEnv, SHARDS_HOME: state });
  };
  const [withBig, withEmpty] = samplesOf([allocate(big, bigRegistry), allocate(empty, null)]);

  // The same allocation cut into its steps, timed from outside the library (bench/steps.ts).
  const bundle = await stepsBundle();
  const steps = (state: string, registry: string | null) => () => {
    reset(state, registry);
    const out = run(process.execPath, [bundle], target, { ...baseEnv, SHARDS_HOME: state });
    return JSON.parse(out) as Record<string, number>;
  };
  const bigSteps: Record<string, number>[] = [];
  const emptySteps: Record<string, number>[] = [];
  for (let i = 0; i < RUNS + 1; i++) {
    const b = steps(big, bigRegistry)();
    const e = steps(empty, null)();
    if (i === 0) continue;
    bigSteps.push(b);
    emptySteps.push(e);
  }
  const medians = (runs: Record<string, number>[]) =>
    Object.fromEntries(Object.keys(runs[0]).map((k) => [k, median(runs.map((r) => r[k]))]));
  const breakdown = { "1,000 records": medians(bigSteps), "0 records": medians(emptySteps) };
  const sides = { a: "1,000 records", b: "0 records", unit: "ms" };
  const fresh = { samples: { a: withBig, b: withEmpty }, goal: 1.1, breakdown };
  record({ figure: "E allocate: 1,000 live records / 0", ...fresh, ...sides });
  for (const [side, ms] of Object.entries(breakdown))
    log(
      `    ${side} (ms): ${Object.entries(ms)
        .map(([k, v]) => `${k} ${v.toFixed(2)}`)
        .join(", ")}`,
    );

  // E' (information): asking again for a worktree that has its range: read and check, no write.
  const ownFields = { gitDir: join(target, ".git"), path: target, branch: "main", repo: target, names: [] };
  const own = { ...ownFields, start: 3000, end: 3009, count: 10 };
  const again = (state: string, records: object[]) => {
    writeFileSync(join(state, "registry.json"), registryText(records));
    run(process.execPath, [CLI, "allocate"], target, { ...baseEnv, SHARDS_HOME: state });
    return () => timed(process.execPath, [CLI, "allocate"], target, { ...baseEnv, SHARDS_HOME: state });
  };
  const [againBig, againEmpty] = samplesOf([again(big, [...liveRecords(), own]), again(empty, [own])]);
  const samples = { a: againBig, b: againEmpty };
  record({ figure: "E' (info) allocate again (has its range): 1,000 records / 0", samples, ...sides });
}

// --- F. 32 allocations at once / one after another ------------------------------------
async function figureF(): Promise<void> {
  log("F. 32 allocations started at once / 32 one after another (wall)");
  const repos = Array.from({ length: 32 }, (_, i) => {
    const dir = join(world, "f", `r${i}`);
    mkdirSync(dir, { recursive: true });
    run("git", ["init", "-q"], dir);
    return dir;
  });
  const env = { ...baseEnv, SHARDS_HOME: join(world, "f-state") };
  const reset = () => {
    rmSync(join(world, "f-state"), { recursive: true, force: true });
    for (const dir of repos) rmSync(join(dir, ".git/shards.env"), { force: true });
  };
  const sequential = () => {
    reset();
    const t0 = process.hrtime.bigint();
    for (const dir of repos) spawnSync(process.execPath, [CLI, "allocate"], { cwd: dir, env, stdio: "ignore" });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const concurrent = async () => {
    reset();
    const t0 = process.hrtime.bigint();
    const codes = await Promise.all(
      repos.map(
        (dir) =>
          new Promise<number | null>((done) =>
            spawn(process.execPath, [CLI, "allocate"], { cwd: dir, env, stdio: "ignore" }).on("exit", done),
          ),
      ),
    );
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (codes.some((c) => c !== 0)) throw new Error("a concurrent allocation failed");
    const registry = JSON.parse(readFileSync(join(world, "f-state/registry.json"), "utf8"));
    const starts = registry.allocations.map((a: { start: number }) => a.start);
    if (new Set(starts).size !== 32) throw new Error("concurrent allocations overlap or are missing");
    return ms;
  };
  // The slowest figure by far: a quick run takes two rounds and no warm-up.
  const [at, seq] = await asyncSamplesOf([concurrent, sequential], QUICK ? 2 : 15, QUICK ? 0 : 1);
  const figure = "F 32 allocations at once / one after another";
  record({ figure, a: "at once", b: "in a row", samples: { a: at, b: seq }, goal: 0.65, unit: "ms" });
}

// --- G. shards list: 50 worktrees with 20 listeners / the same with none ----------------
async function figureG(): Promise<void> {
  log("G. shards list, 50 worktrees: with 20 listeners / with none");
  const env = { ...baseEnv, SHARDS_HOME: join(world, "g-state"), SHARDS_BASE_PORT: "21000", SHARDS_MAX_PORT: "21999" };
  const main = makeRepo("g-repo");
  run(process.execPath, [CLI, "allocate"], main, env);
  for (let i = 1; i < 50; i++) {
    const path = join(world, `g-wt-${i}`);
    run("git", ["worktree", "add", "-q", "--detach", path], main);
    run(process.execPath, [CLI, "allocate"], path, env);
  }
  // 20 servers spread over the ranges, as ten agents' dev servers would be.
  const ports = Array.from({ length: 20 }, (_, i) => 21000 + i * 20 + (i % 3));
  const list = () => timed(process.execPath, [CLI, "list"], main, env);
  const withListeners = async () => {
    const servers = await listen(ports);
    const ms = list();
    await close(servers);
    return ms;
  };
  const [a, b] = await asyncSamplesOf([withListeners, list]);
  const figure = "G shards list, 50 worktrees: 20 listeners / none";
  record({ figure, a: "20 listeners", b: "no listener", samples: { a, b }, goal: 1.2, unit: "ms" });
}

// --- H. shards list --all: 1,000 records and 20 listeners / 0 records --------------------
async function figureH(): Promise<void> {
  log("H. shards list --all: 1,000 records and 20 listeners / 0 records");
  const big = join(world, "h-big");
  const empty = join(world, "h-empty");
  mkdirSync(big);
  mkdirSync(empty);
  writeFileSync(join(big, "registry.json"), registryText(liveRecords()));
  // Run where agents run it: in a worktree of their own (one that has no range here).
  const here = makeRepo("h-repo");
  // 20 servers in 20 of the ranges, listening on both sides.
  const servers = await listen(Array.from({ length: 20 }, (_, i) => 13000 + i * 50 + (i % 3)));
  try {
    const list = (state: string) => () =>
      timed(process.execPath, [CLI, "list", "--all"], here, { ...baseEnv, SHARDS_HOME: state });
    const [a, b] = samplesOf([list(big), list(empty)]);
    const figure = "H shards list --all: 1,000 records, 20 listeners / 0 records";
    record({ figure, a: "1,000 records", b: "0 records", samples: { a, b }, goal: 1.3, unit: "ms" });
  } finally {
    await close(servers);
  }
}

// --- run --------------------------------------------------------------------------------
function table(): string {
  const rows = figures.map((f) => [
    f.figure,
    `${f.aValue.toFixed(1)} ${f.unit}`.trim(),
    f.b === "-" ? "-" : `${f.bValue.toFixed(1)} ${f.unit}`.trim(),
    f.ratio.toFixed(3),
    f.goal === null ? "-" : `<= ${f.goal}`,
    f.note ?? (f.pass ? "pass" : "FAIL"),
  ]);
  const head = ["figure", "A", "B", "ratio", "goal", "result"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

async function main(): Promise<void> {
  if (!existsSync(CLI) || !QUICK) run("npm", ["run", "--silent", "build"], ROOT, process.env);
  try {
    if (wanted("A")) figureA();
    if (wanted("B")) figureB();
    if (wanted("C") || wanted("D")) figuresCD();
    if (wanted("E")) await figureE();
    if (wanted("F")) await figureF();
    if (wanted("G")) await figureG();
    if (wanted("H")) await figureH();
  } finally {
    rmSync(world, { recursive: true, force: true });
  }
  const node = process.version;
  const machine = `${spawnSync("uname", ["-srm"], { encoding: "utf8" }).stdout.trim()}, ${cpus().length} cores`;
  const date = new Date().toISOString().slice(0, 10);
  if (JSON_OUT) process.stdout.write(`${JSON.stringify({ date, node, machine, quick: QUICK, figures }, null, 2)}\n`);
  else {
    const quick = QUICK ? " (quick run: too few runs to trust)" : "";
    process.stdout.write(`\n${date}, Node ${node}, ${machine}${quick}\n\n${table()}\n`);
  }
  process.exitCode = figures.every((f) => f.pass) ? 0 : 1;
}

await main();
