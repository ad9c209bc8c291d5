// Configuration from every source, in order of precedence, and each bad value from each
// source: one line naming key, value and source, exit 1, nothing written.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULTS } from "../src/edges/config.ts";
import { git, json, ROOT, repo, sandbox, shards } from "./_helpers.ts";

function allocate(files: Record<string, string>, env: NodeJS.ProcessEnv = {}, args: string[] = []) {
  const sb = sandbox();
  const main = repo(sb);
  for (const [name, text] of Object.entries(files)) {
    const path = name.startsWith("~/") ? join(sb.home, name.slice(2)) : join(main, name);
    mkdirSync(join(path, ".."), { recursive: true });
    writeFileSync(path, text);
  }
  const r = shards(sb, main, ["allocate", "--json", ...args], env);
  return { sb, main, r };
}

test("defaults: 10 ports from 3000", () => {
  const { r } = allocate({});
  assert.equal([json(r).start, json(r).end, json(r).count], [3000, 3009, 10]);
});

test("README's configuration table has every key, with the default the code has", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  for (const [key, value] of Object.entries(DEFAULTS)) {
    const row = readme.split("\n").find((line) => line.startsWith(`| \`${key}\` |`));
    assert.ok(row, `a row for ${key}`);
    const shown = value === null ? "none" : `\`${JSON.stringify(value).replaceAll(",", ", ")}\``;
    const cell = row!.split(" | ")[1]!;
    assert.ok(cell === shown || cell === shown.replaceAll("`", "") || cell.startsWith(`${shown} `), `${key}: ${cell}`);
  }
});

test("a JSON schema reference is no unknown key", () => {
  const { r } = allocate({ "shards.config.json": '{"$schema":"./schema.json","portCount":5}' });
  assert.is(json(r).count, 5, r.stderr);
});

test("each file format is read", () => {
  const cases: Record<string, string> = {
    "shards.config.json": '{"basePort": 4000}',
    ".config/shards.config.json": '{"basePort": 4000}',
    ".shardsrc": "basePort=4000",
    "~/.shardsrc": "basePort=4000",
    "package.json": '{"name":"x","shards":{"basePort":4000}}',
  };
  for (const [file, text] of Object.entries(cases)) {
    const { r } = allocate({ [file]: text });
    assert.is(r.status, 0, `${file}: ${r.stderr}`);
    assert.is(json(r).start, 4000, file);
  }
});

test("precedence: config file > .shardsrc > package.json > ~/.shardsrc > defaults; env above files", () => {
  const files = {
    "shards.config.json": '{"basePort": 5100}',
    ".shardsrc": "basePort=6000\nportCount=5",
    "package.json": '{"shards":{"basePort":7000,"portCount":6,"maxPort":9000}}',
    "~/.shardsrc": "basePort=8000\nportCount=7\nmaxPort=9500\nexportPort=true",
  };
  const { r } = allocate(files);
  assert.equal([json(r).start, json(r).count], [5100, 5]);
  const env = allocate(files, { SHARDS_BASE_PORT: "4400", SHARDS_PORT_COUNT: "3" }).r;
  assert.equal([json(env).start, json(env).count], [4400, 3]);
  const flag = allocate(files, { SHARDS_PORT_COUNT: "3" }, ["--count", "4"]).r;
  assert.is(json(flag).count, 4);
});

test("the project's package.json is above ~/.shardsrc, which counts where nothing above sets a key", () => {
  const { r } = allocate({ "package.json": '{"shards":{"names":["web"]}}', "~/.shardsrc": "names[]=api\nportCount=5" });
  assert.equal([json(r).ports, json(r).count], [{ web: 3000 }, 5], r.stderr);
});

test("a bad value in one .shardsrc names that file alone", () => {
  for (const [bad, other] of [
    [".shardsrc", "~/.shardsrc"],
    ["~/.shardsrc", ".shardsrc"],
  ]) {
    const { sb, main, r } = allocate({ [bad]: "portCount=0", [other]: "basePort=4000" });
    const file = bad === ".shardsrc" ? join(main, ".shardsrc") : join(sb.home, ".shardsrc");
    assert.is(r.stderr, `shards: invalid portCount 0 in ${file}: must be an integer from 1 to 1000\n`);
  }
});

test("a user's exclude list replaces the default one", () => {
  const { r } = allocate({ "shards.config.json": '{"basePort": 3300, "exclude": [3300]}' });
  assert.is(json(r).start, 3310);
  const keep = allocate({ "shards.config.json": '{"basePort": 5430, "exclude": []}' }).r;
  assert.is(json(keep).start, 5430);
});

test("names and exportPort reach the JSON and shards.env", () => {
  const { sb, main, r } = allocate({ "shards.config.json": '{"names": ["web", "api"], "exportPort": true}' });
  assert.equal(json(r).ports, { web: 3000, api: 3001 });
  const env = json(shards(sb, main, ["env", "--format", "json"]));
  assert.equal([env.SHARD_PORT_WEB, env.SHARD_PORT_API, env.PORT], ["3000", "3001", "3000"]);
});

function bad(what: string, files: Record<string, string>, env: NodeJS.ProcessEnv, expect: RegExp, args: string[] = []) {
  test(`bad config: ${what}`, () => {
    const { sb, main, r } = allocate(files, env, args);
    assert.is(r.status, 1, r.stdout);
    assert.is(r.stdout, "");
    const lines = r.stderr.trim().split("\n");
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0], expect);
    assert.not.ok(existsSync(sb.registry), "nothing written");
    assert.not.ok(existsSync(join(main, ".git/shards.env")), "no shards.env");
  });
}

bad(
  "portCount 0 from a variable",
  {},
  { SHARDS_PORT_COUNT: "0" },
  /invalid portCount 0 in SHARDS_PORT_COUNT: .*1 to 1000/,
);
bad("portCount that is not a number", {}, { SHARDS_PORT_COUNT: "ten" }, /invalid portCount "ten" in SHARDS_PORT_COUNT/);
bad("basePort past 65535", {}, { SHARDS_BASE_PORT: "70000" }, /invalid basePort 70000 in SHARDS_BASE_PORT/);
bad(
  "maxPort below the first block",
  {},
  { SHARDS_MAX_PORT: "3005" },
  /invalid maxPort 3005 in SHARDS_MAX_PORT: .*3009 to 65535/,
);
bad(
  "base + count overflowing 65535",
  {},
  { SHARDS_BASE_PORT: "65530" },
  /^shards: invalid basePort 65530 in SHARDS_BASE_PORT: the first block 65530-65539 runs past port 65535$/,
);
bad(
  "a basePort above the default maxPort",
  { "shards.config.json": '{"basePort":40000}' },
  {},
  /^shards: invalid basePort 40000 in \S+shards\.config\.json: the first block 40000-40009 runs past maxPort 32767; set maxPort too/,
);
bad(
  "a maxPort below the block, set by the user",
  { "shards.config.json": '{"basePort":40000, "maxPort": 40005}' },
  {},
  /invalid maxPort 40005 in \S+shards\.config\.json: must be an integer from 40009 to 65535/,
);
bad("probe that is not a boolean", {}, { SHARDS_PROBE: "maybe" }, /invalid probe "maybe" in SHARDS_PROBE: use 1\/true/);
bad(
  "portCount as a string in a JSON file",
  { "shards.config.json": '{"portCount":"10"}' },
  {},
  /invalid portCount "10" in .*shards\.config\.json/,
);
bad(
  "a fractional basePort in .shardsrc",
  { ".shardsrc": "basePort=3000.5" },
  {},
  /invalid basePort 3000\.5 in .*\.shardsrc/,
);
bad(
  "exclude that is not a list",
  { "package.json": '{"shards":{"exclude":"3306"}}' },
  {},
  /invalid exclude "3306" in .*package\.json/,
);
bad("an exclude port out of range", { "shards.config.json": '{"exclude":[0]}' }, {}, /invalid exclude \[0\]/);
bad(
  "a bad port name",
  { "shards.config.json": '{"names":["Web"]}' },
  {},
  /invalid names "Web" in .*shards\.config\.json/,
);
bad("a reserved port name", { "shards.config.json": '{"names":["count"]}' }, {}, /invalid names "count"/);
bad("duplicate port names", { "shards.config.json": '{"names":["web","web"]}' }, {}, /names must be unique/);
bad(
  "more names than ports",
  { "shards.config.json": '{"portCount":1,"names":["a","b"]}' },
  {},
  /at most portCount \(1\)/,
);
bad("exportPort as a string", { "~/.shardsrc": 'exportPort="yes"' }, {}, /invalid exportPort "yes" in .*\.shardsrc/);
bad("an unknown key", { "shards.config.json": '{"portcount":5}' }, {}, /invalid portcount 5 in .*: unknown key/);
bad(
  "c12's per-environment section",
  { "shards.config.json": '{"$production":{"basePort":9000}}' },
  { NODE_ENV: "production" },
  /invalid \$production \{"basePort":9000\} in .*shards\.config\.json: unknown key: shards reads no per-environment/,
);
bad(
  "a config file that does not parse",
  { "shards.config.json": "{" },
  {},
  /\/shards\.config\.json is not valid JSON: /,
);
bad(
  "one in .config that does not parse",
  { ".config/shards.config.json": "{x" },
  {},
  /\/\.config\/shards\.config\.json is not/,
);
bad(
  "a config file of null",
  { "shards.config.json": "null" },
  {},
  /invalid config null in .*json: must be a JSON object/,
);
bad(
  "a config file of an array",
  { "shards.config.json": "[1]" },
  {},
  /invalid config \[1\] in .*json: must be a JSON obj/,
);
bad(
  "a shards key in package.json that is not an object",
  { "package.json": '{"shards":"4000"}' },
  {},
  /invalid shards "4000" in \S+package\.json: the "shards" key must be an object/,
);
bad(
  "a shards key in package.json that is a list",
  { "package.json": '{"shards":[4000]}' },
  {},
  /invalid shards \[4000\] in \S+package\.json/,
);
bad("--count 0", {}, {}, /invalid count "0" in --count/, ["--count", "0"]);
bad("--count that is not a number", {}, {}, /invalid count "abc" in --count: must be an integer from 1 to 1000/, [
  "--count",
  "abc",
]);
bad("--count past the pool", {}, { SHARDS_MAX_PORT: "3019" }, /invalid count "50" in --count: .*1 to 20/, [
  "--count",
  "50",
]);

test("a config path that is not a regular file is an invalid value", () => {
  for (const name of ["shards.config.json", ".shardsrc"]) {
    const sb = sandbox();
    const main = repo(sb);
    mkdirSync(join(main, name));
    const r = shards(sb, main, ["allocate"]);
    assert.is(r.status, 1, r.stdout);
    assert.match(r.stderr, `invalid config "${join(main, name)}" in ${join(main, name)}: must be a regular file`);
    assert.not.ok(existsSync(sb.registry));
  }
});

test("configuration is data: a code config is never run, named once, and doctor reports it", () => {
  for (const name of [
    "shards.config.mjs",
    "shards.config.ts",
    "shards.config.js",
    "shards.config.cjs",
    ".config/shards.mjs",
    "shards.config.json.mjs",
  ]) {
    const sb = sandbox();
    const main = repo(sb);
    const marker = join(sb.dir, "ran");
    const code = `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(marker)}, "ran"); export default { basePort: 4000 };`;
    mkdirSync(join(main, name, ".."), { recursive: true });
    writeFileSync(
      join(main, name),
      name.endsWith("cjs")
        ? `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x"); module.exports = { basePort: 4000 };`
        : code,
    );
    // With a data file beside it (c12 is loaded), and without.
    for (const data of [false, true]) {
      if (data) writeFileSync(join(main, ".shardsrc"), "portCount=5\n");
      const r = shards(sb, main, ["allocate", "--json"]);
      assert.is(r.status, 0, `${name}: ${r.stderr}`);
      assert.not.ok(existsSync(marker), `${name} was run`);
      assert.is(json(r).start, 3000, name);
      assert.equal(r.stderr.trim().split("\n"), [
        `shards: warning: ignored ${join(main, name)}: configuration is data, never code; put its values in ${join(main, "shards.config.json")}`,
      ]);
      shards(sb, main, ["release"]);
    }
    const doc = shards(sb, main, ["doctor", "--json"]);
    assert.is(doc.status, 1);
    const check = json(doc).checks.find((c: { name: string }) => c.name === "config");
    assert.not.ok(check.ok);
    assert.match(check.message, `${join(main, name)} is code and is ignored`);
  }
});

test("a branch's committed shards.config.mjs does not run on git worktree add", () => {
  const sb = sandbox();
  const main = repo(sb);
  assert.is(shards(sb, main, ["install"]).status, 0);
  const marker = join(sb.dir, "ran");
  git(sb, main, "checkout", "-q", "-b", "pr");
  writeFileSync(
    join(main, "shards.config.mjs"),
    `import { writeFileSync } from "node:fs"; writeFileSync(${JSON.stringify(marker)}, "ran"); export default {};`,
  );
  git(sb, main, "add", "shards.config.mjs");
  git(sb, main, "commit", "-qm", "evil");
  git(sb, main, "checkout", "-q", "main");
  const add = spawnSync("git", ["worktree", "add", "../review", "pr"], { cwd: main, env: sb.env, encoding: "utf8" });
  assert.is(add.status, 0, add.stderr);
  assert.not.ok(existsSync(marker), "the branch's code ran");
  const lines = add.stderr.split("\n").filter((l) => l.startsWith("shards:"));
  assert.equal(lines, [
    `shards: warning: ignored ${join(sb.dir, "review/shards.config.mjs")}: configuration is data, never code; put its values in ${join(sb.dir, "review/shards.config.json")}`,
    "shards: pr -> ports 3010-3019",
  ]);
});

test("shards create says once that a committed code config is ignored", () => {
  const sb = sandbox();
  const main = repo(sb);
  writeFileSync(join(main, "shards.config.mjs"), "export default { basePort: 4000 };");
  git(sb, main, "add", "shards.config.mjs");
  git(sb, main, "commit", "-qm", "code config");
  const r = shards(sb, main, ["create", "feat"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr.split("\n").filter((l) => l.includes("configuration is data")).length, 1, r.stderr);
});

test.run();
