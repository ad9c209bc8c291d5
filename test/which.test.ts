// Who holds a port: real TCP servers in worktree ranges, seen by list, which, destroy, prune.

import { rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { json, repo, sandbox, shards } from "./_helpers.ts";

/** A pool away from common dev ports, different for each test so that runs never collide. */
function poolEnv(): NodeJS.ProcessEnv {
  const base = 20000 + Math.floor(Math.random() * 1000) * 10;
  return { SHARDS_BASE_PORT: String(base), SHARDS_MAX_PORT: String(base + 99) };
}

function listen(port: number, host: string): Promise<Server> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(port, host, () => done(server));
  });
}

const close = (servers: Server[]) => Promise.all(servers.map((s) => new Promise((done) => s.close(done))));

test("list --json shows exactly the ports that listen, per worktree; which names owner, name and pid", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  json(shards(sb, main, ["allocate", "--json"]));
  const feature = json(shards(sb, main, ["create", "feature", "--json"]));
  const base = feature.start - 10;
  const servers = await Promise.all([
    listen(base + 1, "127.0.0.1"),
    listen(feature.start, "0.0.0.0"),
    listen(feature.start + 2, "::1"),
    listen(base + 50, "127.0.0.1"), // in no range
  ]);
  try {
    const rows = json(shards(sb, main, ["list", "--json"]));
    assert.equal(
      rows.map((r: { branch: string; listening: number[] }) => [r.branch, r.listening]),
      [
        ["main", [base + 1]],
        ["feature", [feature.start, feature.start + 2]],
      ],
    );
    // This test's own process may run inside a worktree (a checkout of shards): then it is an intruder too.
    assert.match(shards(sb, main, ["list"]).stdout, new RegExp(`${feature.start}( \\(.*?\\))?, ${feature.start + 2}`));

    const held = json(shards(sb, main, ["which", String(feature.start + 2), "--json"]));
    assert.equal(held.owner, { path: feature.path, branch: "feature", name: null });
    assert.equal([held.port, held.listening, held.pid], [feature.start + 2, true, process.pid]);
    assert.match(held.command, "node");
    const text = shards(sb, main, ["which", String(feature.start)]).stdout;
    assert.match(text, `in feature's range ${feature.start}-${feature.end}`);
    assert.match(text, `listening: pid ${process.pid}`);

    const free = json(shards(sb, main, ["which", String(feature.start + 5), "--json"]));
    assert.equal([free.owner.branch, free.listening, free.pid, free.command], ["feature", false, null, null]);
    const stray = json(shards(sb, main, ["which", String(base + 50), "--json"]));
    assert.equal([stray.owner, stray.listening, stray.pid], [null, true, process.pid]);
    assert.match(
      shards(sb, main, ["which", String(base + 60)]).stdout,
      "is in no shards range\nnothing listens on it\n",
    );
  } finally {
    await close(servers);
  }
  assert.equal(
    json(shards(sb, main, ["list", "--json"])).map((r: { listening: number[] }) => r.listening),
    [[], []],
  );
});

test("which and list name the configured ports", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  writeFileSync(join(main, "shards.config.json"), '{"names": ["web", "api"]}');
  const { start } = json(shards(sb, main, ["allocate", "--json"]));
  assert.is(json(shards(sb, main, ["which", String(start + 1), "--json"])).owner.name, "api");
  assert.is(json(shards(sb, main, ["which", String(start + 2), "--json"])).owner.name, null);
  const server = await listen(start, "127.0.0.1");
  try {
    assert.match(shards(sb, main, ["list"]).stdout, `${start} web`);
  } finally {
    await close([server]);
  }
});

test("which: bad input is one line and exit 1", () => {
  const sb = sandbox();
  for (const bad of ["0", "65536", "abc", "30.5", "1e3"]) {
    const r = shards(sb, sb.home, ["which", bad]);
    assert.is(r.status, 1, bad);
    assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, "from 1 to 65535");
  }
});

test("destroy and prune warn about a server left in the freed range, and are silent without one", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  const a = json(shards(sb, main, ["create", "a", "--json"]));
  const b = json(shards(sb, main, ["create", "b", "--json"]));
  const c = json(shards(sb, main, ["create", "c", "--json"]));
  const servers = [await listen(a.start + 3, "127.0.0.1"), await listen(b.start, "::1")];
  try {
    const destroyed = shards(sb, main, ["destroy", "a"]);
    assert.is(destroyed.status, 0, destroyed.stderr);
    assert.is(
      destroyed.stderr,
      `shards: warning: port ${a.start + 3} of the freed range ${a.start}-${a.end} is still in use by pid ${process.pid} (${destroyed.stderr.match(/\((.*)\)\n$/)?.[1]})\n`,
    );
    rmSync(b.path, { recursive: true, force: true });
    const pruned = shards(sb, main, ["prune"]);
    assert.match(pruned.stderr, `port ${b.start} of the freed range`);
    assert.match(pruned.stderr, `pid ${process.pid}`);
    const quiet = shards(sb, main, ["destroy", c.path]);
    assert.equal([quiet.status, quiet.stderr], [0, ""]);
  } finally {
    await close(servers);
  }
});

test.run();
