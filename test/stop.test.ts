// shards stop, with real servers in real worktrees: it signals the servers that run in this
// worktree and listen on its range, and never one that runs anywhere else.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLI, json, type RunResult, repo, sandbox, shards, shardsAsync } from "./_helpers.ts";
import { alive, end, poolEnv, type Served, serveFrom } from "./_listeners.ts";

const cmd = (port: number) => `node -e eval(process.env.CODE) server ${port}`;

/** Waits (>= 10 s) until `served` has exited: stop may return before the exit reaches us. */
async function exited(served: Served): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (alive(served) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
  return !alive(served);
}

function ok(r: RunResult): RunResult {
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, "");
  return r;
}

test("stop: this worktree's servers get SIGTERM; another worktree's, or no worktree's, are only named", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  const mine = json(shards(sb, main, ["allocate", "--json"]));
  const feature = json(shards(sb, main, ["create", "feature", "--json"]));
  const sub = join(feature.path, "web");
  mkdirSync(sub);
  const [s, e] = [feature.start, feature.end];
  const web = await serveFrom(sub, s, "127.0.0.1");
  const api = await serveFrom(feature.path, s + 1, ["127.0.0.1", "::1"]);
  const intruder = await serveFrom(main, s + 2, "::1");
  const mainOwn = await serveFrom(main, mine.start, "127.0.0.1");
  const stray = await serveFrom(sb.dir, s + 3, "127.0.0.1");
  const all = [web, api, intruder, mainOwn, stray];
  try {
    const planned = json(ok(shards(sb, sub, ["stop", "--dry-run", "--json"])));
    assert.equal(planned, [
      { pid: web.pid, port: s, ports: [s], command: cmd(s), action: "would stop", from: feature.path },
      { pid: api.pid, port: s + 1, ports: [s + 1], command: cmd(s + 1), action: "would stop", from: feature.path },
      { pid: intruder.pid, port: s + 2, ports: [s + 2], command: cmd(s + 2), action: "skipped", from: main },
      { pid: stray.pid, port: s + 3, ports: [s + 3], command: cmd(s + 3), action: "skipped", from: sb.dir },
    ]);
    assert.ok(all.every(alive), "--dry-run signalled something");

    // From a subdirectory, with no path. Async: this process must be free to reap its children.
    const done = ok(await shardsAsync(sb, sub, ["stop"]));
    assert.is(
      done.stdout,
      `stopped pid ${web.pid} (${cmd(s)}) on port ${s}\n` +
        `stopped pid ${api.pid} (${cmd(s + 1)}) on port ${s + 1}\n` +
        `skipped pid ${intruder.pid} (${cmd(s + 2)}) on port ${s + 2}: it runs in ${main}, not in this worktree\n` +
        `skipped pid ${stray.pid} (${cmd(s + 3)}) on port ${s + 3}: it runs in ${sb.dir}, not in this worktree\n`,
    );
    assert.ok(await exited(web), "web still alive");
    assert.ok(await exited(api), "api still alive");
    assert.is(web.child.signalCode, "SIGTERM");
    await new Promise((done) => setTimeout(done, 200));
    assert.ok(alive(intruder) && alive(mainOwn) && alive(stray), "stop signalled a process of another worktree");

    // main's stop, given main's path from the other worktree: only main's own server; the intruder is not on its range.
    const fromFeature = json(ok(await shardsAsync(sb, feature.path, ["stop", main, "--json"])));
    assert.equal(
      fromFeature.map((r: { pid: number; action: string }) => [r.pid, r.action]),
      [[mainOwn.pid, "stopped"]],
    );
    assert.ok(await exited(mainOwn));
    assert.ok(alive(intruder) && alive(stray));
    assert.is(ok(shards(sb, main, ["stop"])).stdout, `nothing listens on ports ${mine.start}-${mine.end}\n`);
    assert.equal(json(ok(shards(sb, main, ["stop", "--json"]))), []);
  } finally {
    await end(all);
  }
  assert.is(e, s + 9);
});

test("stop: a server that ignores SIGTERM gets SIGKILL after 5 s", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  const { start } = json(shards(sb, main, ["allocate", "--json"]));
  const stubborn = await serveFrom(main, start, "127.0.0.1", { ignoreTerm: true });
  try {
    const t0 = Date.now();
    const [result] = json(ok(await shardsAsync(sb, main, ["stop", "--json"])));
    const took = Date.now() - t0;
    assert.equal([result.pid, result.action], [stubborn.pid, "killed"]);
    assert.ok(took >= 5000, `killed after ${took} ms, before the 5 s grace`);
    assert.ok(await exited(stubborn));
    assert.is(stubborn.child.signalCode, "SIGKILL");
  } finally {
    await end([stubborn]);
  }
});

test("stop: a worktree with no range has nothing to stop; a mistyped option stops nothing", () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  assert.is(ok(shards(sb, main, ["stop"])).stdout, "main has no ports: nothing to stop\n");
  assert.ok(shards(sb, main, ["stop", "--dryrun"]).status !== 0);
});

test("stop: another user's server is named as not visible and never signalled (needs root to run one)", async () => {
  if (process.getuid?.() !== 0) return;
  const sb = sandbox(poolEnv());
  chmodSync(sb.dir, 0o755); // the other user must reach the repository and the registry
  const main = repo(sb);
  const { start } = json(shards(sb, main, ["allocate", "--json"]));
  const root = await serveFrom(main, start, "127.0.0.1");
  try {
    const asNobody = spawnSync(
      "setpriv",
      ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, CLI, "stop"],
      { cwd: main, env: { ...sb.env, HOME: "/tmp" }, encoding: "utf8" },
    );
    assert.is(asNobody.status, 0, asNobody.stderr);
    assert.is(asNobody.stdout, `skipped port ${start}: held by a process not visible to this user\n`);
    assert.ok(alive(root));
  } finally {
    await end([root]);
  }
});

test("destroy --stop stops the worktree's servers before removing it; a sibling's server on its range stays and is warned about", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  const gone = json(shards(sb, main, ["create", "gone", "--json"]));
  const own = await serveFrom(gone.path, gone.start, "127.0.0.1");
  const sibling = await serveFrom(main, gone.start + 1, "127.0.0.1");
  try {
    const r = await shardsAsync(sb, main, ["destroy", "gone", "--stop"]);
    assert.is(r.status, 0, r.stderr);
    assert.is(
      r.stdout,
      `stopped pid ${own.pid} (${cmd(gone.start)}) on port ${gone.start}\n` +
        `skipped pid ${sibling.pid} (${cmd(gone.start + 1)}) on port ${gone.start + 1}: it runs in ${main}, not in this worktree\n` +
        `removed ${gone.path}; freed ports ${gone.start}-${gone.end}\n`,
    );
    assert.match(
      r.stderr,
      `port ${gone.start + 1} of the freed range ${gone.start}-${gone.end} is still in use by pid ${sibling.pid}`,
    );
    assert.ok(await exited(own));
    assert.ok(alive(sibling));
  } finally {
    await end([own, sibling]);
  }
});

test.run();
