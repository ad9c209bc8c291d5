// probe is on by default (rule 7): a block where something listens is skipped at first
// allocation, read from /proc on Linux without starting a process. The sandboxes of the
// other tests set SHARDS_PROBE=0 so that listeners of tests running beside them cannot move
// their ranges; these tests take it away again to see the default.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { json, repo, sandbox, shards, tracedShards } from "./_helpers.ts";

/** A real server on `port` (IPv6 any-address, or IPv4 loopback), resolved once it listens. */
async function listen(port: number, host: string): Promise<ChildProcess> {
  const code = `require("node:net").createServer().listen(${port}, ${JSON.stringify(host)}, () => console.log("up"))`;
  const child = spawn(process.execPath, ["-e", code], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`no listener on ${port} within 10 s`)), 10_000);
    child.stdout!.on("data", () => {
      clearTimeout(timer);
      ready();
    });
  });
  return child;
}

function freeBase(): number {
  // A pool far from the others' tests, and one where this machine listens on nothing.
  const busy = new Set<number>();
  for (const f of ["/proc/net/tcp", "/proc/net/tcp6"])
    for (const line of existsSync(f) ? readFileSync(f, "utf8").split("\n").slice(1) : [])
      if (line.trim().split(/\s+/)[3] === "0A") busy.add(parseInt(line.trim().split(/\s+/)[1]!.split(":")[1]!, 16));
  for (let base = 23000; base < 32000; base += 100)
    if (![...Array(100).keys()].some((i) => busy.has(base + i))) return base;
  throw new Error("no quiet pool");
}

test("probe is on by default: blocks with a listener (IPv4 or IPv6) are skipped at first allocation", async () => {
  const base = freeBase();
  const sb = sandbox({ SHARDS_PROBE: undefined, SHARDS_BASE_PORT: String(base) });
  const servers = [await listen(base + 3, "::"), await listen(base + 12, "127.0.0.1")];
  try {
    const r = repo(sb);
    const first = shards(sb, r, ["allocate", "--json"]);
    assert.is(first.status, 0, first.stderr);
    assert.is(json(first).start, base + 20);
    // At first allocation only: the range it has stays, listener or not.
    servers.push(await listen(base + 25, "::"));
    assert.is(json(shards(sb, r, ["allocate", "--json"])).start, base + 20);
    // probe: false turns it off.
    const off = shards(sb, repo(sb, "other"), ["allocate", "--json"], { SHARDS_PROBE: "0" });
    assert.is(json(off).start, base);
  } finally {
    for (const s of servers) s.kill();
  }
});

test("probe starts no process on Linux", () => {
  if (spawnSync("strace", ["-f", "-o", "/dev/null", "true"]).status !== 0) throw new Error("strace is needed here");
  const sb = sandbox({ SHARDS_PROBE: undefined, SHARDS_BASE_PORT: String(freeBase()) });
  const r = repo(sb);
  const run = tracedShards(sb, r, ["-f", "-e", "trace=execve,openat"], ["allocate"]);
  assert.is(run.status, 0, run.stderr);
  const lines = run.trace;
  const execs = lines.filter((l) => /execve\(/.test(l) && !/ENOENT/.test(l));
  assert.is(execs.length, 1, execs.join("\n"));
  assert.ok(
    lines.some((l) => l.includes('"/proc/net/tcp"')),
    "the sockets were read from /proc",
  );
});

test("asking again for the range it has reads no sockets (env, exec and first access stay cheap)", () => {
  const sb = sandbox({ SHARDS_PROBE: undefined, SHARDS_BASE_PORT: String(freeBase()) });
  const r = repo(sb);
  assert.is(shards(sb, r, ["allocate"]).status, 0);
  const run = tracedShards(sb, r, ["-f", "-e", "trace=openat"], ["env"]);
  assert.is(run.status, 0, run.stderr);
  const sockets = run.trace.filter((l) => l.includes("/proc/net/tcp"));
  assert.equal(sockets, []);
});

test("the probe reads each socket table in one read: the kernel walks its whole hash for every read, the one that finds the end too", () => {
  const sb = sandbox({ SHARDS_PROBE: undefined, SHARDS_BASE_PORT: String(freeBase()) });
  const r = repo(sb);
  const run = tracedShards(sb, r, ["-e", "trace=openat,read,close"], ["allocate"]);
  assert.is(run.status, 0, run.stderr);
  const lines = run.trace;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const at = lines.findIndex((l) => l.includes(`"${table}"`));
    const fd = lines[at]?.match(/= (\d+)$/)?.[1];
    assert.ok(fd, `${table} was opened`);
    const end = lines.findIndex((l, i) => i > at && l.startsWith(`close(${fd})`));
    const reads = lines.slice(at, end).filter((l) => l.startsWith(`read(${fd},`));
    // Fewer listeners than a page holds (the machine has a few): one read, which finds the end.
    const first = Number(reads[0]?.match(/= (\d+)$/)?.[1]);
    if (first < 3584) assert.is(reads.length, 1, `${table}: ${reads.join("\n")}`);
  }
});

test("in the hook, ss asks the kernel for listeners beside node's start: the probe skips a busy block, node reads no /proc/net/tcp", async () => {
  const base = freeBase();
  const sb = sandbox({ SHARDS_PROBE: undefined, SHARDS_BASE_PORT: String(base) });
  const r = repo(sb);
  assert.is(shards(sb, r, ["install"]).status, 0); // main: base..base+9
  const server = await listen(base + 13, "::");
  try {
    const trace = join(sb.dir, "trace");
    const add = spawnSync(
      "strace",
      ["-f", "-e", "trace=execve,openat", "-o", trace, "git", "worktree", "add", "../wt"],
      {
        cwd: r,
        env: sb.env,
        encoding: "utf8",
      },
    );
    assert.match(add.stderr, `shards: wt -> ports ${base + 20}-${base + 29}`);
    const lines = readFileSync(trace, "utf8").split("\n");
    assert.ok(
      lines.some((l) => /execve\("[^"]*\/ss", \["[^"]*\/ss", "-Htn", "state", "listening"\]/.test(l)),
      "ss ran",
    );
    assert.equal(
      lines.filter((l) => l.includes('"/proc/net/tcp')),
      [],
      "nobody read the tables",
    );
  } finally {
    server.kill();
  }
});

test.run();
