// Hostile and damaged input: registries with bad records, a read-only state directory,
// paths and branch names with every character git allows, shards.env files written by
// someone else, and .git files that point nowhere. One clear line each, nothing deleted,
// nothing run, and never an overlapping range afterwards.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { overlaps } from "../src/core/records.ts";
import { CLI, git, json, repo, sandbox, shards } from "./_helpers.ts";

type Spec = [name: string, start: number, end: number, count?: number];

/** Rule 8: a record that holds ports is kept (`dropped` false); one with no usable range is dropped. */
function damagedRecords(what: string, specs: Spec[], expectKept: number[], dropped = true) {
  test(`registry with ${what}: ${dropped ? "one line, the file kept" : "every record kept"}, no overlap after`, () => {
    const sb = sandbox();
    const main = repo(sb);
    // Records of live worktrees, so that only their damage, not staleness, can drop them.
    const allocations = specs.map(([name, start, end, count = end - start + 1]) => {
      const dir = existsSync(join(sb.dir, name)) ? join(sb.dir, name) : repo(sb, name);
      return { gitDir: join(dir, ".git"), path: dir, branch: "main", repo: dir, names: [], start, end, count };
    });
    mkdirSync(sb.shardsHome, { recursive: true });
    const text = JSON.stringify({ version: 1, allocations });
    writeFileSync(sb.registry, text);
    const r = shards(sb, main, ["allocate", "--json"]);
    assert.is(r.status, 0, r.stderr);
    const kept = readdirSync(sb.shardsHome).filter((f) => f.includes(".damaged-"));
    if (dropped) {
      assert.match(r.stderr, /^shards: warning: registry .* was damaged \(.+\); kept it as .*\n$/);
      assert.is(readFileSync(join(sb.shardsHome, kept[0]), "utf8"), text, "the original is kept byte for byte");
    } else assert.equal([r.stderr, kept], ["", []]);
    const after = JSON.parse(readFileSync(sb.registry, "utf8")).allocations;
    const others = after.filter((a: { path: string }) => a.path !== main);
    assert.equal(
      others.map((a: { start: number }) => a.start),
      expectKept,
    );
    const mine = json(r);
    for (const a of others) assert.not.ok(overlaps(mine, a), `${mine.start} overlaps ${a.start}`);
  });
}

damagedRecords(
  "a duplicate record for one worktree",
  [
    ["a", 3000, 3009],
    ["a", 3010, 3019],
  ],
  [3000, 3010],
  false,
);
damagedRecords(
  "overlapping records",
  [
    ["a", 3000, 3009],
    ["b", 3005, 3014],
  ],
  [3000, 3005],
  false,
);
damagedRecords(
  "ports out of range",
  [
    ["a", 65530, 65545],
    ["b", 3000, 3009],
  ],
  [3000],
);
damagedRecords(
  "a legacy 0/0 record",
  [
    ["a", 0, 0, 0],
    ["b", 3010, 3019],
  ],
  [3010],
);
damagedRecords(
  "end before start",
  [
    ["a", 3019, 3010],
    ["b", 3000, 3009],
  ],
  [3000, 3019],
  false,
);
damagedRecords("a count that disagrees", [["a", 3000, 3009, 3]], [3000], false);

test("a read-only state directory: one line, exit 1, nothing changed", () => {
  const sb = sandbox();
  const main = repo(sb);
  mkdirSync(sb.shardsHome, { recursive: true });
  const text = JSON.stringify({ version: 1, allocations: [] });
  writeFileSync(sb.registry, text);
  chmodSync(sb.shardsHome, 0o555);
  // root ignores permissions: run as nobody there, with everything it must read readable.
  const asNobody = process.getuid?.() === 0;
  if (asNobody) for (const dir of [sb.dir, sb.home, main]) chmodSync(dir, 0o755);
  const r = asNobody
    ? spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, CLI, "allocate"], {
        cwd: main,
        env: sb.env,
        encoding: "utf8",
      })
    : shards(sb, main, ["allocate"]);
  assert.is(r.status, 1, r.stdout);
  assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, /^shards: cannot (lock|write) .*writable or set SHARDS_HOME/);
  assert.is(readFileSync(sb.registry, "utf8"), text);
});

test("a state directory that cannot be made (under /proc): one line at once, never a hang", () => {
  const sb = sandbox({ SHARDS_HOME: "/proc/shards-cannot-exist/state" });
  const main = repo(sb);
  const started = Date.now();
  const r = spawnSync(process.execPath, [CLI, "allocate"], {
    cwd: main,
    env: sb.env,
    encoding: "utf8",
    timeout: 20_000,
  });
  assert.is(r.signal, null, "it did not hang");
  assert.is(r.status, 1);
  assert.is(
    r.stderr,
    "shards: cannot create /proc/shards-cannot-exist/state (ENOENT); set SHARDS_HOME to a writable directory\n",
  );
  assert.ok(Date.now() - started < 5000);
});

test("paths and branch names with spaces, quotes, $, backticks, newlines and unicode", () => {
  const sb = sandbox();
  const name = "we ird 'q' \"d\" $HOME `id` ü\nnl";
  const main = repo(sb, name);
  const branch = 'feat/it\'s-"$x"-`y`-ü';
  const created = shards(sb, main, ["create", branch, "--json"]);
  assert.is(created.status, 0, created.stderr);
  const wt = json(created);
  assert.equal([wt.path, wt.branch, wt.start], [join(sb.dir, `${name}-feat-it's-"$x"-\`y\`-ü`), branch, 3000]);
  assert.ok(existsSync(wt.path));
  const inside = shards(sb, wt.path, ["env"]);
  // SHARD_ROOT holds a newline here: it is left out of the env rather than cut.
  const evaluated = spawnSync(
    "sh",
    ["-c", `${inside.stdout}\nprintf '%s|%s' "$SHARD_PORT_RANGE_START" "\${SHARD_ROOT-unset}"`],
    { encoding: "utf8" },
  );
  assert.is(evaluated.stdout, "3000|unset");
  const listed = json(shards(sb, main, ["list", "--json"]));
  assert.equal(
    listed.map((r: { path: string }) => r.path),
    [main, wt.path],
  );
  assert.match(shards(sb, main, ["destroy", branch]).stdout, "freed ports 3000-3009");

  const plain = repo(sb, 'sp ace\'s "$q" `b` ü');
  const env = shards(sb, plain, ["env"]).stdout;
  const root = spawnSync("sh", ["-c", `${env}\nprintf '%s' "$SHARD_ROOT"`], { encoding: "utf8" }).stdout;
  assert.is(root, plain);
});

test("a shards.env written by someone else is data: bad lines ignored, nothing run", () => {
  const sb = sandbox();
  const main = repo(sb);
  const marker = join(sb.dir, "pwned");
  writeFileSync(
    join(main, ".git/shards.env"),
    `SHARD_PORT_RANGE_START=$(touch ${marker})\nSHARD_PORT_RANGE_END=\`touch ${marker}\`\nPATH=/evil\nSHARD_PORT_COUNT=10;touch ${marker}\n`,
  );
  const r = json(shards(sb, main, ["allocate", "--json"]));
  assert.equal([r.start, r.end], [3000, 3009]);
  assert.not.ok(existsSync(marker));
  assert.is(readFileSync(join(main, ".git/shards.env"), "utf8").split("\n")[0], "SHARD_PORT_RANGE_START=3000");
  // A valid range someone else wrote is adopted only when it is free.
  const other = repo(sb, "other");
  writeFileSync(
    join(other, ".git/shards.env"),
    "SHARD_PORT_RANGE_START=3005\nSHARD_PORT_RANGE_END=3014\nSHARD_PORT_COUNT=10\n",
  );
  assert.is(json(shards(sb, other, ["allocate", "--json"])).start, 3010);
});

test("a .git file that points nowhere is one line naming it", () => {
  const sb = sandbox();
  const dir = join(sb.dir, "broken");
  mkdirSync(dir);
  writeFileSync(join(dir, ".git"), "gitdir: /nowhere/at/all\n");
  const r = shards(sb, dir, ["allocate"]);
  assert.is(r.status, 1);
  assert.is(
    r.stderr,
    `shards: ${join(dir, ".git")} points to /nowhere/at/all, which does not exist; run \`git worktree repair\` or remove the file\n`,
  );
  writeFileSync(join(dir, ".git"), "garbage\n");
  assert.match(shards(sb, dir, ["allocate"]).stderr, "is not a git file");
});

test("a worktree whose .git file is relative still resolves", () => {
  const sb = sandbox();
  const main = repo(sb);
  const wt = join(sb.dir, "rel");
  git(sb, main, "worktree", "add", "-q", "-b", "rel", wt);
  const gitDir = readFileSync(join(wt, ".git"), "utf8").slice("gitdir: ".length).trim();
  writeFileSync(join(wt, ".git"), `gitdir: ../repo/.git/worktrees/${gitDir.split("/").pop()}\n`);
  assert.is(json(shards(sb, wt, ["allocate", "--json"])).path, wt);
});

test.run();
