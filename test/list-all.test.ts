// shards list --all over many records (issue 16, figure H): each row shows its worktree as it
// is now (the branch its HEAD names, the path it was moved to), once, and the listeners,
// intruders and owners of the right range, however the records' ranges lie.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { git, json, repo, sandbox, shards } from "./_helpers.ts";
import { end, poolEnv, serveFrom } from "./_listeners.ts";

interface Row {
  path: string;
  branch: string | null;
  start: number;
  end: number;
  state: string;
  listening: number[];
  intruders: { port: number; pid: number; from: string }[];
}

test("list --all shows a worktree's branch and path as they are now: switched, detached, moved (once)", () => {
  const sb = sandbox(poolEnv());
  const alpha = repo(sb, "alpha");
  const beta = repo(sb, "beta");
  for (const dir of [alpha, beta]) json(shards(sb, dir, ["allocate", "--json"]));
  const switched = json(shards(sb, alpha, ["create", "switched", "--json"]));
  const detached = json(shards(sb, alpha, ["create", "detached", "--json"]));
  const moving = json(shards(sb, alpha, ["create", "moving", "--json"]));
  git(sb, switched.path, "checkout", "-qb", "renamed");
  git(sb, detached.path, "checkout", "-q", "--detach");
  const moved = join(sb.dir, "moved-here");
  git(sb, alpha, "worktree", "move", moving.path, moved);
  // Gone and forgotten by git: only its record is left (a row of its own, stale, until `shards prune`).
  const gone = json(shards(sb, alpha, ["create", "gone", "--json"]));
  rmSync(gone.path, { recursive: true });
  git(sb, alpha, "worktree", "prune");

  const expected = [
    [alpha, "main"],
    [switched.path, "renamed"],
    [detached.path, null],
    [moved, "moving"],
    [gone.path, "gone"],
    [beta, "main"],
  ];
  // From beta every alpha row comes from the records; from alpha, from git's list and the records.
  for (const cwd of [beta, alpha]) {
    const rows = json<Row[]>(shards(sb, cwd, ["list", "--all", "--json"]));
    const seen = rows.map((r) => [r.path, r.branch]).sort();
    assert.equal(seen, [...expected].sort(), `from ${cwd}`);
    const table = shards(sb, cwd, ["list", "--all"]).stdout;
    assert.match(table, new RegExp(`renamed +${switched.start}-${switched.end} +${switched.path} +ok\\n`));
    assert.match(table, new RegExp(`\\(detached\\) +${detached.start}-${detached.end} +${detached.path} +ok\\n`));
    assert.is(table.split(moved).length - 1, 1, `the moved worktree once, from ${cwd}:\n${table}`);
    assert.equal(
      rows.filter((r) => r.path === gone.path).map((r) => r.state),
      ["stale"],
    );
  }
});

test("list --all finds listeners and their owners in each range, also where ranges overlap", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  json(shards(sb, main, ["allocate", "--json"]));
  const f1 = json(shards(sb, main, ["create", "f1", "--json"]));
  const f2 = json(shards(sb, main, ["create", "f2", "--json"]));
  // A damaged registry (rule 8): main's record reaches over f1's and f2's ranges and past them.
  const doc = JSON.parse(readFileSync(sb.registry, "utf8"));
  const wide = doc.allocations.find((r: { path: string }) => r.path === main);
  wide.end = f2.end + 5;
  wide.count = wide.end - wide.start + 1;
  writeFileSync(sb.registry, JSON.stringify(doc));
  const [inF1, lastOfF2, pastF2, outside] = [f1.start + 2, f2.end, f2.end + 3, f2.end + 6];
  const servers = [
    await serveFrom(f2.path, inF1, "127.0.0.1"),
    await serveFrom(f1.path, lastOfF2, "::1"),
    await serveFrom(f1.path, pastF2, "127.0.0.1"), // in main's wide range only
    await serveFrom(f1.path, outside, "127.0.0.1"), // in no range
  ];
  const [a, b, c] = servers.map((s) => s.pid);
  try {
    const rows = json<Row[]>(shards(sb, sb.dir, ["list", "--all", "--json"]));
    const row = (path: string) => {
      const r = rows.find((x) => x.path === path)!;
      return { end: r.end, listening: r.listening, intruders: r.intruders.map((i) => [i.port, i.pid, i.from]) };
    };
    assert.equal(row(main), {
      end: wide.end,
      listening: [inF1, lastOfF2, pastF2],
      intruders: [
        [inF1, a, f2.path],
        [lastOfF2, b, f1.path],
        [pastF2, c, f1.path],
      ],
    });
    assert.equal(row(f1.path), { end: f1.end, listening: [inF1], intruders: [[inF1, a, f2.path]] });
    assert.equal(row(f2.path), { end: f2.end, listening: [lastOfF2], intruders: [[lastOfF2, b, f1.path]] });
    assert.is(rows.length, 3);
    assert.not.ok(
      rows.some((r) => r.listening.includes(outside)),
      "a port in no range is no row's",
    );
  } finally {
    await end(servers);
  }
});

test.run();
