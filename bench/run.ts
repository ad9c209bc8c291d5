// npm run bench [-- --json] [-- --quick] [-- --only=A,E]
// Every figure is a ratio of two things measured side by side in one run, A and B
// interleaved run by run after a warm-up, so that the noise of a shared machine cancels
// out. Real git, real bash and zsh, real direnv; its own HOME, SHARDS_HOME and git config.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { type Server, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../..");
const CLI = join(ROOT, "dist/cli.cjs");
const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const JSON_OUT = args.includes("--json");
/** `--only A,E`: just those figures, while working on one. */
const ONLY = args.find((a) => a.startsWith("--only="))?.slice("--only=".length).split(",");
const wanted = (letter: string) => !ONLY || ONLY.includes(letter);
/** Runs per figure for process figures, and for the shell figures. */
const RUNS = QUICK ? 3 : 21;
const SHELL_RUNS = QUICK ? 5 : 300;

interface Figure {
  figure: string;
  a: string;
  b: string;
  aValue: number;
  bValue: number;
  ratio: number;
  goal: number;
  unit: string;
  pass: boolean;
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

function record(f: Omit<Figure, "ratio" | "pass"> & { ratio?: number }): void {
  const ratio = f.ratio ?? f.aValue / f.bValue;
  figures.push({ ...f, ratio, pass: ratio <= f.goal });
  log(`  ${f.figure}: ${ratio.toFixed(3)} (goal <= ${f.goal})`);
}

// --- a private world ------------------------------------------------------------------
const world = realpathSync(mkdtempSync(join(tmpdir(), "shards-bench-")));
const home = join(world, "home");
mkdirSync(home);
writeFileSync(join(home, ".gitconfig"), "[user]\n\tname = Bench\n\temail = bench@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n");
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

/** Interleaves the samplers run by run after `warmup` rounds; returns each one's median. */
function interleave(samplers: (() => number)[], runs = RUNS, warmup = 2): number[] {
  return samplesOf(samplers, runs, warmup).map(median);
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
  const [withOurs, withNoop, withNone] = interleave([flip(ours), flip(noop), flip(none)], RUNS * 2);
  record({ figure: "A git checkout: our hook / exit-0 hook", a: "our hook", b: "exit 0 hook", aValue: withOurs, bValue: withNoop, goal: 1.05, unit: "ms" });
  figures.push({ figure: "A' (info) git checkout: our hook / no hook", a: "our hook", b: "no hook", aValue: withOurs, bValue: withNone, ratio: withOurs / withNone, goal: Number.POSITIVE_INFINITY, unit: "ms", pass: true, note: "information only" });
}

// --- B. git worktree add: (with hook - without) / node -e '' --------------------------
function figureB(): void {
  log("B. (git worktree add with the hook - without) / node -e ''");
  const ours = makeRepo("b-ours");
  run(process.execPath, [CLI, "install"], ours);
  const none = makeRepo("b-none");
  let n = 0;
  const add = (dir: string) => () => {
    const path = join(world, `b-wt-${n++}`);
    const ms = timed("git", ["worktree", "add", "-q", "--detach", path], dir);
    run("git", ["worktree", "remove", "--force", path], dir);
    return ms;
  };
  const node = () => timed(process.execPath, ["-e", ""], world);
  // The hook's cost is the difference within each round (the two adds run back to back),
  // so that drift of the machine between rounds cancels too.
  const [withHook, without, nodeStart] = samplesOf([add(ours), add(none), node], RUNS * 2);
  record({
    figure: "B worktree add: (hook - no hook) / node start",
    a: "hook cost",
    b: "node -e ''",
    aValue: median(withHook.map((ms, i) => ms - without[i])),
    bValue: median(nodeStart),
    goal: 1.3,
    unit: "ms",
  });
}

// --- C, D. the shell prompt and cd / one `direnv export bash` ---------------------------
function shellFigures(shell: "bash" | "zsh"): void {
  log(`C, D. ${shell}: prompt with $PWD unchanged, and cd in and out / direnv export bash`);
  const main = makeRepo(`c-${shell}`);
  mkdirSync(join(main, "sub/deeper"), { recursive: true });
  run(process.execPath, [CLI, "allocate"], main);
  const libDir = join(home, ".config/direnv/lib");
  mkdirSync(libDir, { recursive: true });
  writeFileSync(join(libDir, "shards.sh"), run(process.execPath, [CLI, "hook", "direnv"], main));
  writeFileSync(join(main, ".envrc"), "use shards\n");
  run("direnv", ["allow", main], main);
  const snippet = join(ROOT, `shell/shards.${shell}`);
  const prompt = shell === "bash" ? "_shards_hook" : "for f in $precmd_functions; do $f; done";
  const now = shell === "bash" ? "${EPOCHREALTIME/./}" : "$(( ${EPOCHREALTIME} * 1000000 ))";
  // Each round: 100 unchanged prompts; one cd from the worktree's top into a subdirectory
  // and back out (D), with a prompt after each; the same from outside the worktree, which
  // enters and leaves it (D', for information); and one `direnv export bash` in the loaded
  // worktree. All timed inside the same shell.
  const script = `
${shell === "zsh" ? "zmodload zsh/datetime; setopt no_nomatch" : ""}
source '${snippet}'
cd '${main}'; ${prompt}
eval "$(direnv export bash 2>/dev/null)"
for ((i = 0; i < ${SHELL_RUNS + 20}; i++)); do
  t0=${now}; for ((j = 0; j < 100; j++)); do ${prompt}; done; t1=${now}
  cd '${main}/sub/deeper'; ${prompt}; cd '${main}'; ${prompt}; t2=${now}
  cd '${world}'; ${prompt}; t5=${now}
  cd '${main}/sub/deeper'; ${prompt}; cd '${world}'; ${prompt}; t6=${now}
  cd '${main}'; ${prompt}
  t3=${now}; direnv export bash >/dev/null 2>&1; t4=${now}
  echo "$(( t1 - t0 )) $(( t2 - t1 )) $(( t4 - t3 )) $(( t6 - t5 ))"
done`;
  const out = run(shell, ["-c", script], main, { ...baseEnv, SHELL: shell });
  const rows = out.trim().split("\n").slice(20).map((l) => l.split(" ").map(Number));
  const [prompts, cdUs, direnvUs, enterLeaveUs] = [0, 1, 2, 3].map((k) => median(rows.map((r) => r[k])));
  const promptUs = prompts / 100;
  record({ figure: `C ${shell} prompt, $PWD unchanged / direnv export bash`, a: "prompt", b: "direnv export", aValue: promptUs, bValue: direnvUs, goal: 0.01, unit: "µs" });
  record({ figure: `D ${shell} cd into a subdirectory and out / direnv export bash`, a: "cd in+out", b: "direnv export", aValue: cdUs, bValue: direnvUs, goal: 0.1, unit: "µs" });
  figures.push({ figure: `D' (info) ${shell} cd into the worktree from outside and out / direnv`, a: "enter+leave", b: "direnv export", aValue: enterLeaveUs, bValue: direnvUs, ratio: enterLeaveUs / direnvUs, goal: Number.POSITIVE_INFINITY, unit: "µs", pass: true, note: "information only" });

  // Zero processes on the prompt path: count process creation under strace.
  const traceFile = join(world, `trace-${shell}`);
  const traced = `${shell === "zsh" ? "setopt no_nomatch" : ""}
source '${snippet}'
cd '${main}'; ${prompt}; cd '${main}/sub'; ${prompt}; cd /; ${prompt}; cd '${main}'
for ((j = 0; j < 200; j++)); do ${prompt}; done`;
  run("strace", ["-f", "-qq", "-o", traceFile, "-e", "trace=fork,vfork,clone,clone3,execve", shell, "-c", traced], main);
  const calls = readFileSync(traceFile, "utf8").split("\n").filter((l) => /\b(fork|vfork|clone3?|execve)\(/.test(l));
  const started = calls.length - 1; // the shell's own execve
  figures.push({ figure: `C ${shell} processes started on the prompt path`, a: "processes", b: "-", aValue: started, bValue: 0, ratio: started, goal: 0, unit: "", pass: started === 0 });
  log(`  C ${shell} processes started: ${started}`);
}

// --- E. allocate with 1,000 live records / with 0 -------------------------------------
function figureE(): void {
  log("E. shards allocate with 1,000 live records / with 0");
  const big = join(world, "e-big");
  const empty = join(world, "e-empty");
  mkdirSync(big, { recursive: true });
  mkdirSync(empty, { recursive: true });
  // 1,000 live worktrees laid out as git lays them: 10 repositories of 100 linked worktrees.
  const allocations = Array.from({ length: 1000 }, (_, i) => {
    const repo = join(world, "e-live", `repo${i % 10}`);
    const gitDir = join(repo, ".git/worktrees", `w${i}`);
    const path = join(world, "e-live", `repo${i % 10}-w${i}`);
    mkdirSync(gitDir, { recursive: true });
    mkdirSync(path, { recursive: true });
    const start = 13000 + i * 10;
    return { gitDir, path, branch: `w${i}`, repo, names: [], start, end: start + 9, count: 10 };
  });
  // As shards writes it: one record a line.
  const registryText = (records: object[]) => `{"version":1,"allocations":[\n${records.map((r) => JSON.stringify(r)).join(",\n")}\n]}\n`;
  const bigRegistry = registryText(allocations);
  const target = makeRepo("e-target");
  const allocate = (state: string, registry: string | null) => () => {
    if (registry === null) rmSync(join(state, "registry.json"), { force: true });
    else writeFileSync(join(state, "registry.json"), registry);
    rmSync(join(target, ".git/shards.env"), { force: true });
    return timed(process.execPath, [CLI, "allocate"], target, { ...baseEnv, SHARDS_HOME: state });
  };
  const [withBig, withEmpty] = interleave([allocate(big, bigRegistry), allocate(empty, null)]);
  record({ figure: "E allocate: 1,000 live records / 0", a: "1,000 records", b: "0 records", aValue: withBig, bValue: withEmpty, goal: 1.1, unit: "ms" });

  // E' (information): asking again for a worktree that has its range: read and check, no write.
  const own = { gitDir: join(target, ".git"), path: target, branch: "main", repo: target, names: [], start: 3000, end: 3009, count: 10 };
  const again = (state: string, records: object[]) => {
    writeFileSync(join(state, "registry.json"), registryText(records));
    run(process.execPath, [CLI, "allocate"], target, { ...baseEnv, SHARDS_HOME: state });
    return () => timed(process.execPath, [CLI, "allocate"], target, { ...baseEnv, SHARDS_HOME: state });
  };
  const [againBig, againEmpty] = interleave([again(big, [...allocations, own]), again(empty, [own])]);
  figures.push({ figure: "E' (info) allocate again (has its range): 1,000 records / 0", a: "1,000 records", b: "0 records", aValue: againBig, bValue: againEmpty, ratio: againBig / againEmpty, goal: Number.POSITIVE_INFINITY, unit: "ms", pass: true, note: "information only" });
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
      repos.map((dir) => new Promise<number | null>((done) => spawn(process.execPath, [CLI, "allocate"], { cwd: dir, env, stdio: "ignore" }).on("exit", done))),
    );
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (codes.some((c) => c !== 0)) throw new Error("a concurrent allocation failed");
    const starts = JSON.parse(readFileSync(join(world, "f-state/registry.json"), "utf8")).allocations.map((a: { start: number }) => a.start);
    if (new Set(starts).size !== 32) throw new Error("concurrent allocations overlap or are missing");
    return ms;
  };
  const runs = QUICK ? 2 : 15;
  const at = [] as number[];
  const seq = [] as number[];
  for (let i = 0; i < runs + 1; i++) {
    const a = await concurrent();
    const b = sequential();
    if (i > 0) {
      at.push(a);
      seq.push(b);
    }
  }
  record({ figure: "F 32 allocations at once / one after another", a: "at once", b: "in a row", aValue: median(at), bValue: median(seq), goal: 0.65, unit: "ms" });
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
  const open = () =>
    Promise.all(ports.map((port) => new Promise<Server>((done) => { const s = createServer(); s.listen(port, "127.0.0.1", () => done(s)); })));
  const close = (servers: Server[]) => Promise.all(servers.map((s) => new Promise((done) => s.close(done))));
  const list = () => timed(process.execPath, [CLI, "list"], main, env);
  const withListeners: number[] = [];
  const without: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const servers = await open();
    const a = list();
    await close(servers);
    const b = list();
    if (i >= 2) {
      withListeners.push(a);
      without.push(b);
    }
  }
  record({ figure: "G shards list, 50 worktrees: 20 listeners / none", a: "20 listeners", b: "no listener", aValue: median(withListeners), bValue: median(without), goal: 1.2, unit: "ms" });
}

// --- run --------------------------------------------------------------------------------
function table(): string {
  const rows = figures.map((f) => [
    f.figure,
    `${f.aValue.toFixed(f.unit === "µs" ? 1 : 1)} ${f.unit}`.trim(),
    f.b === "-" ? "-" : `${f.bValue.toFixed(1)} ${f.unit}`.trim(),
    f.ratio.toFixed(3),
    Number.isFinite(f.goal) ? `<= ${f.goal}` : "-",
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
    if (wanted("C") || wanted("D")) for (const shell of ["bash", "zsh"] as const) shellFigures(shell);
    if (wanted("E")) figureE();
    if (wanted("F")) await figureF();
    if (wanted("G")) await figureG();
  } finally {
    rmSync(world, { recursive: true, force: true });
  }
  const node = process.version;
  const machine = `${spawnSync("uname", ["-srm"], { encoding: "utf8" }).stdout.trim()}, ${(await import("node:os")).cpus().length} cores`;
  const date = new Date().toISOString().slice(0, 10);
  if (JSON_OUT) process.stdout.write(`${JSON.stringify({ date, node, machine, quick: QUICK, figures }, null, 2)}\n`);
  else process.stdout.write(`\n${date}, Node ${node}, ${machine}${QUICK ? " (quick run: too few runs to trust)" : ""}\n\n${table()}\n`);
  process.exitCode = figures.every((f) => f.pass) ? 0 : 1;
}

await main();
