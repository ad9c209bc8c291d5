// shards list: the table a user reads to tell worktrees (and, with --all, repositories) apart.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, json, repo, sandbox, shards } from "./_helpers.ts";
import { end, poolEnv, serveFrom } from "./_listeners.ts";

test("list --all has a repository column (its directory name), so two repositories' `main` rows differ", () => {
  const sb = sandbox(poolEnv());
  const alpha = repo(sb, "alpha");
  const beta = repo(sb, "beta");
  const a = json(shards(sb, alpha, ["allocate", "--json"]));
  const b = json(shards(sb, beta, ["allocate", "--json"]));
  const all = shards(sb, alpha, ["list", "--all"]);
  assert.is(all.status, 0, all.stderr);
  const lines = all.stdout
    .trimEnd()
    .split("\n")
    .map((l) => l.split(/\s{2,}/));
  assert.equal(lines, [
    ["REPO", "BRANCH", "PORTS", "PATH", "STATE", "LISTENING"],
    ["alpha", "main", `${a.start}-${a.end}`, alpha, "ok"],
    ["beta", "main", `${b.start}-${b.end}`, beta, "ok"],
  ]);
  // One repository's list needs no such column.
  assert.equal(
    shards(sb, alpha, ["list"])
      .stdout.split("\n")[0]!
      .split(/\s{2,}/),
    ["BRANCH", "PORTS", "PATH", "STATE", "LISTENING"],
  );
  assert.equal(
    json(shards(sb, beta, ["list", "--all", "--json"])).map((r: { repo: string }) => r.repo),
    [beta, alpha],
  );
});

test("list finds listeners, intruders and their owners without starting a process for them on Linux (strace)", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  json(shards(sb, main, ["allocate", "--json"]));
  const feature = json(shards(sb, main, ["create", "feature", "--json"]));
  const servers = [
    await serveFrom(main, feature.start, "127.0.0.1"),
    await serveFrom(feature.path, feature.start + 1, "::1"),
  ];
  try {
    const log = join(sb.dir, "strace.log");
    const traced = spawnSync(
      "strace",
      ["-f", "-qq", "-e", "trace=execve", "-o", log, process.execPath, CLI, "list", "--json"],
      {
        cwd: main,
        env: sb.env,
        encoding: "utf8",
      },
    );
    assert.is(traced.status, 0, traced.stderr);
    const rows = JSON.parse(traced.stdout);
    assert.equal(
      rows[1].intruders.map((i: { pid: number }) => i.pid),
      [servers[0]!.pid],
    ); // owners were found
    // Programs run: node itself, and git for the worktree list; no lsof, ps or ss for the ports.
    const ran = readFileSync(log, "utf8")
      .split("\n")
      .filter((l) => /execve\(.*\) = 0$/.test(l));
    const programs = ran.map((l) => /execve\("([^"]+)"/.exec(l)![1]!.split("/").pop());
    assert.equal([...new Set(programs)].sort(), ["git", "node"], ran.join("\n"));
  } finally {
    await end(servers);
  }
});

test.run();
