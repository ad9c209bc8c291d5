// What users get: the npm tarball, installed globally into a temp prefix, must work on its
// own (the bundle, the hook template, the shell files; no dev dependency at run time).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { json, ROOT, repo, type Sandbox, sandbox } from "./_helpers.ts";

/**
 * The caller's npm settings that the sandbox must keep: the cache (read-only use) and the
 * global config (a CA file, a registry mirror), which `--prefix` would otherwise move to
 * `<prefix>/etc/npmrc`. HOME etc. stay the sandbox's.
 */
const callerGlobalConfig = spawnSync("npm", ["config", "get", "globalconfig"], { encoding: "utf8" }).stdout.trim();

function npm(sb: Sandbox, args: string[], cwd: string): string {
  const r = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    env: {
      ...sb.env,
      npm_config_cache: join(process.env.HOME ?? "", ".npm"),
      npm_config_globalconfig: callerGlobalConfig,
    },
    encoding: "utf8",
  });
  assert.is(r.status, 0, `npm ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

test("npm with --prefix still reads the caller's global config", () => {
  const sb = sandbox();
  assert.ok(callerGlobalConfig, "npm names a global config");
  assert.is(
    npm(sb, ["config", "get", "globalconfig", "--prefix", join(sb.dir, "prefix")], sb.dir).trim(),
    callerGlobalConfig,
  );
});

test("npm pack + npm install -g gives a working git-shards: shards, git-shards, git shards", () => {
  const sb = sandbox();
  const packed = JSON.parse(npm(sb, ["pack", "--json", "--pack-destination", sb.dir], ROOT));
  assert.match(packed[0].filename, /^git-shards-\d+\.\d+\.\d+.*\.tgz$/);
  const files = packed[0].files.map((f: { path: string }) => f.path);
  for (const f of [
    "dist/cli.cjs",
    "hooks/post-checkout",
    "shell/shards.bash",
    "shell/shards.zsh",
    "shell/shards.fish",
    "shell/shards.direnv.sh",
  ])
    assert.ok(files.includes(f), `${f} is in the tarball`);
  assert.not.ok(
    files.some((f: string) => f.startsWith("src/") || f.startsWith("test/")),
    "no sources in the tarball",
  );

  const prefix = join(sb.dir, "prefix");
  npm(sb, ["install", "-g", "--prefer-offline", "--prefix", prefix, join(sb.dir, packed[0].filename)], sb.dir);
  const modules = readdirSync(join(prefix, "lib/node_modules/git-shards/node_modules"));
  assert.not.ok(modules.includes("citty") || modules.includes("uvu"), "bundled or dev dependencies are not installed");
  assert.equal(readdirSync(join(prefix, "bin")).sort(), ["git-shards", "shards"]);

  const bin = join(prefix, "bin/shards");
  const main = repo(sb);
  const run = (...args: string[]) => spawnSync(bin, args, { cwd: main, env: sb.env, encoding: "utf8" });
  assert.equal(json(run("allocate", "--json")).start, 3000);
  assert.is(run("create", "feature").status, 0);
  assert.is(json(run("list", "--json")).length, 2);
  // git finds `git-shards` on PATH: `git shards <command>` is the same CLI.
  const viaGit = spawnSync("git", ["shards", "list", "--json"], {
    cwd: main,
    env: { ...sb.env, PATH: `${join(prefix, "bin")}:${sb.env.PATH}` },
    encoding: "utf8",
  });
  assert.is(json({ ...viaGit, signal: null }).length, 2, viaGit.stderr);
  assert.match(run("destroy", "feature").stdout, "freed ports 3010-3019");
  assert.match(run("release").stdout, "released ports 3000-3009");
  assert.match(run("hook", "bash").stdout, "_shards");
  // A config file makes the installed CLI import c12 from its own dependencies.
  spawnSync("sh", ["-c", "echo '{\"basePort\": 4000}' > shards.config.json"], { cwd: main });
  assert.equal(json(run("allocate", "--json")).start, 4000);
});

test("after npm uninstall -g, the hook left behind says how to reinstall and which file to delete", () => {
  const sb = sandbox();
  const packed = JSON.parse(npm(sb, ["pack", "--json", "--pack-destination", sb.dir], ROOT));
  const prefix = join(sb.dir, "prefix");
  npm(sb, ["install", "-g", "--prefer-offline", "--prefix", prefix, join(sb.dir, packed[0].filename)], sb.dir);
  const main = repo(sb);
  assert.is(spawnSync(join(prefix, "bin/shards"), ["install"], { cwd: main, env: sb.env }).status, 0);
  npm(sb, ["uninstall", "-g", "--prefix", prefix, "git-shards"], sb.dir);
  const add = spawnSync("git", ["worktree", "add", "-q", "-b", "x", "../x"], {
    cwd: main,
    env: sb.env,
    encoding: "utf8",
  });
  assert.is(add.status, 0, add.stderr);
  const hook = join(main, ".git/hooks/post-checkout");
  assert.is(
    add.stderr,
    `shards: warning: no ports allocated: shards is gone from ${join(prefix, "lib/node_modules/git-shards/dist/cli.cjs")}; ` +
      `reinstall (npm install -g git-shards, then shards install) or remove the hook: delete ${hook}\n`,
  );
});

test.run();
