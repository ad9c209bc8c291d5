// Crash safety: shards processes killed with SIGKILL at random moments never leave a
// registry that does not parse, never an overlap, never a shards.env that disagrees with
// the registry, and never a lock that blocks the next allocation for long.

import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseEnvFile, rangeFromEnv } from "../src/core/env.ts";
import { overlaps, sanitizeRegistry } from "../src/core/records.ts";
import { killedInsideLock, killLeftovers } from "./_faults.ts";
import { CLI, repo, sandbox, shards } from "./_helpers.ts";

/** Starts `shards <args>` and kills it with SIGKILL after `ms` (or lets it finish first). */
function killedAfter(env: NodeJS.ProcessEnv, cwd: string, args: string[], ms: number): Promise<void> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    child.on("exit", () => {
      clearTimeout(timer);
      done();
    });
  });
}

test.after.each(killLeftovers);

test("40+ allocate/release runs killed at random moments over a dozen repositories", async () => {
  const sb = sandbox();
  const repos = Array.from({ length: 12 }, (_, i) => repo(sb, `r${i}`));
  // Two at a time, so that kills land while another process holds or waits for the lock.
  for (let round = 0; round < 24; round++) {
    await Promise.all(
      [0, 1].map(() => {
        const cwd = repos[Math.floor(Math.random() * repos.length)];
        const args = Math.random() < 0.65 ? ["allocate"] : ["release"];
        return killedAfter(sb.env, cwd, args, 20 + Math.random() * 160);
      }),
    );
  }

  const doc = JSON.parse(readFileSync(sb.registry, "utf8"));
  const { records, problems } = sanitizeRegistry(doc);
  assert.equal(problems, [], "the registry is clean");
  for (const [i, a] of records.entries()) for (const b of records.slice(i + 1)) assert.not.ok(overlaps(a, b));
  for (const dir of repos) {
    const envFile = join(dir, ".git/shards.env");
    if (!existsSync(envFile)) continue;
    const record = records.find((r) => r.gitDir === join(dir, ".git"));
    assert.ok(record, `${envFile} survives only with its record`);
    assert.equal(rangeFromEnv(parseEnvFile(readFileSync(envFile, "utf8"))), {
      start: record!.start,
      end: record!.end,
      count: record!.count,
    });
  }

  const started = Date.now();
  for (const dir of repos) assert.is(shards(sb, dir, ["allocate"]).status, 0);
  assert.ok(Date.now() - started < 15_000, "a stale lock is recovered within 15 s");
  const final = sanitizeRegistry(JSON.parse(readFileSync(sb.registry, "utf8")));
  assert.is(final.records.length, 12);
});

test("readers never see a registry half written, while it is rewritten again and again", async () => {
  const sb = sandbox();
  const dir = repo(sb);
  // A large registry (400 live records), so that each rewrite takes a while.
  const allocations = Array.from({ length: 400 }, (_, i) => {
    const path = join(sb.dir, "live", `w${i}`);
    mkdirSync(join(path, ".git"), { recursive: true });
    return {
      gitDir: join(path, ".git"),
      path,
      branch: `w${i}`,
      repo: path,
      names: [],
      start: 10000 + i * 10,
      end: 10009 + i * 10,
      count: 10,
    };
  });
  mkdirSync(sb.shardsHome, { recursive: true });
  writeFileSync(sb.registry, JSON.stringify({ version: 1, allocations }));
  let writing = true;
  const writer = (async () => {
    for (let i = 0; i < 30; i++) await killedAfter(sb.env, dir, [i % 2 ? "release" : "allocate"], 10_000);
    writing = false;
  })();
  let reads = 0;
  while (writing) {
    const text = readFileSync(sb.registry, "utf8");
    assert.ok(JSON.parse(text).allocations.length >= 400, "a whole registry, every time");
    reads++;
    await new Promise((done) => setImmediate(done));
  }
  await writer;
  assert.ok(reads > 100, `read ${reads} times`);
});

test("a holder killed inside the lock does not block the next process", async () => {
  const sb = sandbox();
  const [dead, dir] = [repo(sb, "dead"), repo(sb)];
  await killedInsideLock(sb, dead);
  const started = Date.now();
  const r = shards(sb, dir, ["allocate"]);
  const waited = Date.now() - started;
  assert.is(r.status, 0, r.stderr);
  assert.ok(waited < 10_000, `waited ${waited} ms`);
});

test.run();
