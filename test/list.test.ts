// shards list's table: what a user reads to tell worktrees (and, with --all, repositories) apart.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { json, repo, sandbox, shards } from "./_helpers.ts";
import { poolEnv } from "./_listeners.ts";

test("list --all has a repository column (its directory name), so two repositories' `main` rows differ", () => {
  const sb = sandbox(poolEnv());
  const alpha = repo(sb, "alpha");
  const beta = repo(sb, "beta");
  const a = json(shards(sb, alpha, ["allocate", "--json"]));
  const b = json(shards(sb, beta, ["allocate", "--json"]));
  const all = shards(sb, alpha, ["list", "--all"]);
  assert.is(all.status, 0, all.stderr);
  const lines = all.stdout.trimEnd().split("\n").map((l) => l.split(/\s{2,}/));
  assert.equal(lines, [
    ["REPO", "BRANCH", "PORTS", "PATH", "STATE", "LISTENING"],
    ["alpha", "main", `${a.start}-${a.end}`, alpha, "ok"],
    ["beta", "main", `${b.start}-${b.end}`, beta, "ok"],
  ]);
  // One repository's list needs no such column.
  assert.equal(shards(sb, alpha, ["list"]).stdout.split("\n")[0]!.split(/\s{2,}/), ["BRANCH", "PORTS", "PATH", "STATE", "LISTENING"]);
  assert.equal(json(shards(sb, beta, ["list", "--all", "--json"])).map((r: { repo: string }) => r.repo), [beta, alpha]);
});

test.run();
