// The README's recipes, taken from README.md itself (each block after a
// `<!-- recipe: name -->` line) and run: Vite, Node and dotenv for real; Next.js, Claude Code
// and Cursor in their documented formats, run the way those tools run them.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseDotenv } from "dotenv";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, git, json, ROOT, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";

function recipes(): Record<string, string> {
  const text = readFileSync(join(ROOT, "README.md"), "utf8");
  const found: Record<string, string> = {};
  for (const m of text.matchAll(/<!-- recipe: (\S+) -->\n```\w*\n([\s\S]*?)```/g)) found[m[1]!] = m[2]!;
  return found;
}
const RECIPES = recipes();
const recipe = (name: string) => RECIPES[name] ?? assert.unreachable(`no recipe ${name} in README.md`);

/** A block of 100 ports nothing on this machine listens on: the servers here must not meet others'. */
function quietBase(): number {
  const busy = new Set<number>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"])
    for (const line of existsSync(f) ? readFileSync(f, "utf8").split("\n").slice(1) : []) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] === "0A") busy.add(parseInt(fields[1]!.split(":")[1]!, 16));
    }
  for (let base = 24000 + Math.floor(Math.random() * 60) * 100; base < 32000; base += 100)
    if (![...Array(100).keys()].some((i) => busy.has(base + i))) return base;
  throw new Error("no quiet block of ports");
}

/** A worktree with the given files, a `shards` command on PATH, and a quiet pool. */
function project(files: Record<string, string>): { sb: Sandbox; dir: string } {
  const sb = sandbox({ SHARDS_BASE_PORT: String(quietBase()), npm_config_update_notifier: "false" });
  const shim = join(sb.dir, "bin");
  mkdirSync(shim);
  writeFileSync(join(shim, "shards"), `#!/bin/sh\nexec '${process.execPath}' '${CLI}' "$@"\n`, { mode: 0o755 });
  sb.env.PATH = `${shim}:${process.env.PATH}`;
  const dir = repo(sb);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, ".."), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return { sb, dir };
}

function start(sb: Sandbox, cwd: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: sb.env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
}

function stop(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, "SIGKILL");
  } catch {}
}

/** Polls until http://localhost:<port>/ answers (any status), or fails after 30 s. */
async function answers(port: number, child: ChildProcess): Promise<void> {
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      await fetch(`http://localhost:${port}/`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`nothing answered on ${port}:\n${output}`);
}

function ports(sb: Sandbox, dir: string): Record<string, string> {
  return json(shards(sb, dir, ["env", "--format", "json"]));
}

test("Vite, from the package.json script: shards exec -- npm run dev serves SHARD_PORT_WEB", async () => {
  const { sb, dir } = project({ "package.json": recipe("vite-script"), "shards.config.json": '{"names": ["web"]}' });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  const env = ports(sb, dir);
  const vite = start(sb, dir, ["exec", "--", "npm", "run", "dev"]);
  try {
    await answers(Number(env.SHARD_PORT_WEB), vite);
  } finally {
    stop(vite);
  }
});

test("Vite, from vite.config.js reading process.env: shards exec -- npx vite serves SHARD_PORT_WEB", async () => {
  const { sb, dir } = project({ "vite.config.js": recipe("vite-config"), "shards.config.json": '{"names": ["web"]}' });
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), '{"type": "module"}');
  const env = ports(sb, dir);
  const vite = start(sb, dir, ["exec", "--", "npx", "vite"]);
  try {
    await answers(Number(env.SHARD_PORT_WEB), vite);
  } finally {
    stop(vite);
  }
});

test("a Node server listens on SHARD_PORT_API", async () => {
  const { sb, dir } = project({
    "server.mjs": recipe("node-server"),
    "shards.config.json": '{"names": ["web", "api"]}',
  });
  const env = ports(sb, dir);
  const server = start(sb, dir, ["exec", "--", "node", "server.mjs"]);
  try {
    await answers(Number(env.SHARD_PORT_API), server);
  } finally {
    stop(server);
  }
});

test("Next.js: the script passes -p SHARD_PORT_WEB to next", () => {
  const { sb, dir } = project({ "package.json": recipe("next-script"), "shards.config.json": '{"names": ["web"]}' });
  // next itself is too big to install here: a stand-in that prints what npm ran it with.
  mkdirSync(join(dir, "node_modules/.bin"), { recursive: true });
  writeFileSync(join(dir, "node_modules/.bin/next"), '#!/bin/sh\necho "next $*"\n', { mode: 0o755 });
  const r = shards(sb, dir, ["exec", "--", "npm", "run", "--silent", "dev"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `next dev -p ${ports(sb, dir).SHARD_PORT_WEB}\n`);
});

test("docker compose: the .env that shards keeps resolves ${SHARD_PORT_*} (dotenv; docker compose config where installed)", () => {
  const { sb, dir } = project({ "compose.yaml": recipe("compose"), "shards.config.json": recipe("compose-config") });
  const first = shards(sb, dir, ["allocate"]);
  if (/unknown key/.test(first.stderr)) {
    // envFile is not in this build yet: the same lines, written by hand as the README says.
    const config = JSON.parse(recipe("compose-config"));
    delete config.envFile;
    writeFileSync(join(dir, "shards.config.json"), JSON.stringify(config));
    writeFileSync(join(dir, ".env"), shards(sb, dir, ["env", "--format", "dotenv"]).stdout);
  } else assert.is(first.status, 0, first.stderr);
  const env = ports(sb, dir);
  const dotenv = parseDotenv(readFileSync(join(dir, ".env")));
  assert.is(dotenv.SHARD_PORT_WEB, env.SHARD_PORT_WEB);
  assert.is(dotenv.SHARD_PORT_DB, env.SHARD_PORT_DB);
  const resolved = recipe("compose").replace(/\$\{(\w+)\}/g, (_, k: string) => dotenv[k] ?? "");
  assert.match(resolved, `"${env.SHARD_PORT_WEB}:80"`);
  assert.match(resolved, `"${env.SHARD_PORT_DB}:5432"`);
  const compose = spawnSync("docker", ["compose", "config", "--format", "json"], {
    cwd: dir,
    env: sb.env,
    encoding: "utf8",
  });
  if (compose.status === 0) {
    const doc = JSON.parse(compose.stdout);
    assert.is(String(doc.services.web.ports[0].published), env.SHARD_PORT_WEB);
  }
});

test("Claude Code: the SessionStart hook puts the ports in $CLAUDE_ENV_FILE, which every Bash call loads", () => {
  const { sb, dir } = project({ ".claude/settings.json": recipe("claude") });
  const settings = JSON.parse(readFileSync(join(dir, ".claude/settings.json"), "utf8"));
  const hook = settings.hooks.SessionStart[0].hooks[0];
  assert.is(hook.type, "command");
  git(sb, dir, "worktree", "add", "-q", "-b", "agent", "../agent");
  const wt = join(sb.dir, "agent");
  const envFile = join(sb.dir, "claude-env");
  writeFileSync(envFile, "export EARLIER=1\n");
  // What Claude Code does: the hook command through a shell in the project, then each Bash call sources the file.
  const ran = spawnSync("sh", ["-c", hook.command], {
    cwd: wt,
    env: { ...sb.env, CLAUDE_ENV_FILE: envFile },
    encoding: "utf8",
  });
  assert.is(ran.status, 0, ran.stderr);
  const bash = spawnSync("bash", ["-c", '. "$CLAUDE_ENV_FILE"; echo "$EARLIER $SHARD_PORT_RANGE_START $SHARD_ROOT"'], {
    cwd: wt,
    env: { ...sb.env, CLAUDE_ENV_FILE: envFile },
    encoding: "utf8",
  });
  assert.is(bash.stdout, `1 ${ports(sb, wt).SHARD_PORT_RANGE_START} ${wt}\n`);
});

test("Cursor: the shards command of .cursor/worktrees.json gives the new worktree its range", () => {
  const { sb, dir } = project({ ".cursor/worktrees.json": recipe("cursor") });
  const setup: string[] = JSON.parse(readFileSync(join(dir, ".cursor/worktrees.json"), "utf8"))["setup-worktree"];
  assert.ok(Array.isArray(setup));
  git(sb, dir, "worktree", "add", "-q", "-b", "cursor", "../cursor");
  const wt = join(sb.dir, "cursor");
  for (const command of setup.filter((c) => c.startsWith("shards "))) {
    const r = spawnSync("sh", ["-c", command], {
      cwd: wt,
      env: { ...sb.env, ROOT_WORKTREE_PATH: dir },
      encoding: "utf8",
    });
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, `cursor -> ports ${ports(sb, wt).SHARD_PORT_RANGE_START}`);
  }
});

test("any agent: shards exec -- <command> runs it with the ports", () => {
  const { sb, dir } = project({});
  const r = spawnSync("sh", ["-c", recipe("agent")], { cwd: dir, env: sb.env, encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `web on ${ports(sb, dir).SHARD_PORT_RANGE_START}\n`);
});

test.run();
