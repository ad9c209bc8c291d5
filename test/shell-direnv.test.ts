// direnv's `use shards` (shell/shards.direnv.sh), issue 15: a config change is applied at
// the next prompt (15.8), the README's install line honours XDG_CONFIG_HOME, and a copied
// repository's shards.env is not exported (15.5).
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, ROOT, repo, type Sandbox, sandbox } from "./_helpers.ts";
import { need, Shell, shardVars, type Vars } from "./_tmux.ts";

const q = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/** A PATH dir with `shards`: the real CLI, or the script given. */
function shardsOnPath(sb: Sandbox, script?: string): string {
  const bin = join(sb.dir, "bin");
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, "shards"), script ?? `#!/bin/sh\nexec ${q(process.execPath)} ${q(CLI)} "$@"\n`);
  chmodSync(join(bin, "shards"), 0o755);
  return `${bin}:${sb.env.PATH}`;
}

/** A repository whose .envrc says `use shards`, allowed; the lib installed from `shards hook direnv`. */
function direnvRepo(sb: Sandbox, PATH: string, name = "direnv repo") {
  const lib = join(sb.home, ".config/direnv/lib");
  mkdirSync(lib, { recursive: true });
  writeFileSync(join(lib, "shards.sh"), readFileSync(join(ROOT, "shell/shards.direnv.sh")));
  const main = repo(sb, name);
  writeFileSync(join(main, ".envrc"), "use shards\n");
  allow(sb, main, PATH);
  return main;
}

function allow(sb: Sandbox, dir: string, PATH: string): void {
  const r = spawnSync("direnv", ["allow", dir], { env: { ...sb.env, PATH }, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`direnv allow failed: ${r.stderr}`);
}

/** What `direnv export json` would export in `dir`. */
function direnvExport(sb: Sandbox, dir: string, env: NodeJS.ProcessEnv): { vars: Vars; all: Vars; stderr: string } {
  const r = spawnSync("direnv", ["export", "json"], { cwd: dir, env: { ...sb.env, ...env }, encoding: "utf8" });
  const all: Vars = r.stdout.trim() ? JSON.parse(r.stdout) : {};
  return { vars: shardVars(all), all, stderr: r.stderr };
}

test("15.8 direnv: a config change (names) is applied at the next prompt", async () => {
  if (!need("tmux", "bash", "direnv")) return;
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build`);
  const sb = sandbox();
  const PATH = shardsOnPath(sb);
  const main = direnvRepo(sb, PATH);
  const outside = join(sb.dir, "outside");
  mkdirSync(outside);
  const sh = await Shell.start(sb, "bash", {
    cwd: outside,
    sources: 0,
    after: 'eval "$(direnv hook bash)"',
    env: { PATH },
  });
  try {
    await sh.run(`cd ${sh.q(main)}`);
    const first = shardVars(await sh.env(30_000));
    assert.is(first.SHARD_PORT_RANGE_START, "3000", JSON.stringify(first));
    assert.is(first.SHARD_PORT_DB, undefined);
    writeFileSync(join(main, "shards.config.json"), '{ "names": ["web", "db"] }\n');
    // direnv compares modification times to the second.
    const later = new Date(Date.now() + 2000);
    utimesSync(join(main, "shards.config.json"), later, later);
    await sh.run("true", 30_000);
    const env = shardVars(await sh.env(30_000));
    assert.is(env.SHARD_PORT_WEB, "3000", JSON.stringify(env));
    assert.is(env.SHARD_PORT_DB, "3001", JSON.stringify(env));
    // Applied once: the next prompts start no `shards` (shards.env is newer than the config).
    const log = join(sb.dir, "calls");
    writeFileSync(
      join(sb.dir, "bin/shards"),
      `#!/bin/sh\necho "$@" >> ${q(log)}\nexec ${q(process.execPath)} ${q(CLI)} "$@"\n`,
    );
    await sh.run(`cd ${sh.q(outside)}`);
    await sh.run(`cd ${sh.q(main)}`, 30_000);
    assert.is(shardVars(await sh.env(30_000)).SHARD_PORT_DB, "3001");
    assert.not.ok(existsSync(log), "shards ran again for a config already applied");
  } finally {
    sh.close();
    rmSync(sb.dir, { recursive: true, force: true, maxRetries: 10 });
  }
});

test("15.8: the README's direnv line puts the lib where direnv reads it, honouring XDG_CONFIG_HOME", () => {
  if (!need("direnv")) return;
  assert.ok(existsSync(CLI), `${CLI} is missing: run npm run build`);
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const line = readme.split("\n").find((l) => l.startsWith("shards hook direnv >"));
  assert.ok(line, "README has no `shards hook direnv > ...` line");
  const command = line.replace(/\s+#.*$/, "");
  for (const xdg of [true, false]) {
    const sb = sandbox();
    const PATH = shardsOnPath(sb);
    const config = xdg ? join(sb.dir, "xdg config") : join(sb.home, ".config");
    const env = { PATH, ...(xdg ? { XDG_CONFIG_HOME: config } : {}) };
    mkdirSync(join(config, "direnv/lib"), { recursive: true });
    const r = spawnSync("sh", ["-c", command], { cwd: sb.dir, env: { ...sb.env, ...env }, encoding: "utf8" });
    assert.is(r.status, 0, `${command}: ${r.stderr}`);
    assert.ok(existsSync(join(config, "direnv/lib/shards.sh")), `not in ${config}/direnv/lib`);
    const main = repo(sb, "xdg repo");
    writeFileSync(join(main, ".envrc"), "use shards\n");
    const allowed = spawnSync("direnv", ["allow", main], { env: { ...sb.env, ...env }, encoding: "utf8" });
    assert.is(allowed.status, 0, allowed.stderr);
    const out = direnvExport(sb, main, env);
    assert.is(out.vars.SHARD_ROOT, main, out.stderr);
    rmSync(sb.dir, { recursive: true, force: true, maxRetries: 10 });
  }
});

test("15.5 direnv: a copied repository's shards.env is not exported; its first load allocates", () => {
  if (!need("direnv")) return;
  const sb = sandbox();
  const log = join(sb.dir, "calls");
  // A `shards` that writes what the CLI would for a new worktree: its own root, a new range.
  const fake = `#!/bin/sh
echo "$@" >> ${q(log)}
gitdir=$(git rev-parse --absolute-git-dir) && root=$(git rev-parse --show-toplevel) || exit 1
printf 'SHARD_PORT_RANGE_START=3500\\nSHARD_PORT_RANGE_END=3509\\nSHARD_PORT_COUNT=10\\nSHARD_ROOT=%s\\n' "$root" > "$gitdir/shards.env"
`;
  const PATH = shardsOnPath(sb, fake);
  const main = direnvRepo(sb, PATH, "original");
  writeFileSync(
    join(main, ".git/shards.env"),
    `SHARD_PORT_RANGE_START=3010\nSHARD_PORT_RANGE_END=3019\nSHARD_PORT_COUNT=10\nSHARD_ROOT=${main}\n`,
  );
  const original = direnvExport(sb, main, { PATH });
  assert.is(original.vars.SHARD_PORT_RANGE_START, "3010", original.stderr);
  assert.not.ok(existsSync(log), "shards ran for a worktree with its own shards.env");
  const copy = join(sb.dir, "copy");
  cpSync(main, copy, { recursive: true });
  allow(sb, copy, PATH);
  const copied = direnvExport(sb, copy, { PATH });
  assert.equal(
    copied.vars,
    { SHARD_PORT_RANGE_START: "3500", SHARD_PORT_RANGE_END: "3509", SHARD_PORT_COUNT: "10", SHARD_ROOT: copy },
    copied.stderr,
  );
  assert.is(readFileSync(log, "utf8"), "allocate\n");
  // A shards that cannot fix it: the copy exports nothing of the original's.
  writeFileSync(join(copy, ".git/shards.env"), `SHARD_PORT_RANGE_START=3010\nSHARD_ROOT=${main}\n`);
  writeFileSync(join(sb.dir, "bin/shards"), "#!/bin/sh\nexit 0\n");
  assert.equal(direnvExport(sb, copy, { PATH }).vars, {});
  rmSync(sb.dir, { recursive: true, force: true, maxRetries: 10 });
});

test("15.8 direnv: a config change that cannot be applied keeps the ports shards.env has, with one error line", () => {
  if (!need("direnv")) return;
  const sb = sandbox();
  const PATH = shardsOnPath(sb, "#!/bin/sh\necho 'shards: the registry is locked' >&2\nexit 1\n");
  const main = direnvRepo(sb, PATH, "config fails");
  writeFileSync(join(main, ".git/shards.env"), `SHARD_PORT_RANGE_START=3010\nSHARD_ROOT=${main}\n`);
  writeFileSync(join(main, "shards.config.json"), '{ "names": ["web"] }\n');
  const later = new Date(Date.now() + 2000);
  utimesSync(join(main, "shards.config.json"), later, later);
  const out = direnvExport(sb, main, { PATH });
  assert.equal(out.vars, { SHARD_PORT_RANGE_START: "3010", SHARD_ROOT: main }, out.stderr);
  const lines = out.stderr
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((l) => l.includes("shards:"));
  assert.equal(lines, ["direnv: shards: allocate failed: shards: the registry is locked"], out.stderr);
  rmSync(sb.dir, { recursive: true, force: true, maxRetries: 10 });
});

test("15.10 direnv: use shards under strict_env (set -euo pipefail), failglob and nocasematch", () => {
  if (!need("direnv")) return;
  const sb = sandbox();
  const PATH = shardsOnPath(sb, "#!/bin/sh\necho 'shards must not run: shards.env exists' >&2\nexit 1\n");
  const main = direnvRepo(sb, PATH, "strict repo");
  writeFileSync(join(main, ".envrc"), "strict_env\nshopt -s failglob nocasematch\nIFS=:\nuse shards\necho done >&2\n");
  allow(sb, main, PATH);
  writeFileSync(
    join(main, ".git/shards.env"),
    `SHARD_PORT_RANGE_START=3010\nport=5\nshard_lower=1\nSHARD_ROOT=${main}\n`,
  );
  const out = direnvExport(sb, main, { PATH });
  assert.equal(out.vars, { SHARD_PORT_RANGE_START: "3010", SHARD_ROOT: main }, out.stderr);
  assert.match(out.stderr, /done/, "the .envrc ran to its end");
  assert.is(out.all.port, undefined, "lower-case port exported under nocasematch");
  assert.is(out.all.shard_lower, undefined, "lower-case shard_lower exported under nocasematch");
  rmSync(sb.dir, { recursive: true, force: true, maxRetries: 10 });
});

test.run();
