// What users get: the npm tarball, installed globally into a temp prefix, must work on its
// own (the bundle, the hook template, the shell files; no dev dependency at run time).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT, json, repo, sandbox } from "./_helpers.ts";

test("npm pack + npm install -g gives a working shards", () => {
  const sb = sandbox();
  const npm = (args: string[], cwd: string) => {
    // npm itself keeps the caller's cache (read-only use); HOME etc. stay the sandbox's.
    const r = spawnSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd,
      env: { ...sb.env, npm_config_cache: join(process.env.HOME ?? "", ".npm") },
      encoding: "utf8",
    });
    assert.is(r.status, 0, `npm ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", sb.dir], ROOT));
  const files = packed[0].files.map((f: { path: string }) => f.path);
  for (const f of ["dist/cli.cjs", "hooks/post-checkout", "shell/shards.bash", "shell/shards.zsh", "shell/shards.fish", "shell/shards.direnv.sh"])
    assert.ok(files.includes(f), `${f} is in the tarball`);
  assert.not.ok(files.some((f: string) => f.startsWith("src/") || f.startsWith("test/")), "no sources in the tarball");

  const prefix = join(sb.dir, "prefix");
  npm(["install", "-g", "--prefer-offline", "--prefix", prefix, join(sb.dir, packed[0].filename)], sb.dir);
  const modules = readdirSync(join(prefix, "lib/node_modules/shards/node_modules"));
  assert.not.ok(modules.includes("citty") || modules.includes("uvu"), "bundled or dev dependencies are not installed");

  const bin = join(prefix, "bin/shards");
  const main = repo(sb);
  const run = (...args: string[]) => spawnSync(bin, args, { cwd: main, env: sb.env, encoding: "utf8" });
  assert.equal(json(run("allocate", "--json")).start, 3000);
  assert.is(run("create", "feature").status, 0);
  assert.is(json(run("list", "--json")).length, 2);
  assert.match(run("destroy", "feature").stdout, "freed ports 3010-3019");
  assert.match(run("release").stdout, "released ports 3000-3009");
  assert.match(run("hook", "bash").stdout, "_shards");
  // A config file makes the installed CLI import c12 from its own dependencies.
  spawnSync("sh", ["-c", "echo '{\"basePort\": 4000}' > shards.config.json"], { cwd: main });
  assert.equal(json(run("allocate", "--json")).start, 4000);
});

test.run();
