// The command line as git and npm users expect it: usage errors are the error and the usage
// on stderr, nothing on stdout, exit 2; help is on stdout, exit 0; names that an object
// has by its prototype are unknown commands like any other.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { repo, sandbox, shards } from "./_helpers.ts";

function usageError(args: string[], message: string | RegExp, cwd?: string) {
  test(`shards ${args.join(" ")}: a usage error (stderr, exit 2, nothing on stdout)`, () => {
    const sb = sandbox();
    const r = shards(sb, cwd === "repo" ? repo(sb) : sb.home, args);
    assert.equal([r.status, r.stdout], [2, ""], r.stderr);
    const lines = r.stderr.split("\n");
    assert.match(lines[0]!, message);
    assert.match(r.stderr, /\nUSAGE shards/, "the usage follows the error");
    assert.not.match(r.stderr, /\bat .*\.(cjs|js|ts):\d+/, "no stack trace");
  });
}

usageError(["list", "--jsn"], /^shards: unknown option --jsn$/);
usageError(["frobnicate"], /^shards: unknown command frobnicate$/);
usageError(["--bogus"], /^shards: unknown option --bogus$/);
usageError(["-z"], /^shards: unknown option -z$/);
usageError(["--bogus", "list"], /^shards: unknown option --bogus$/, "repo");
usageError(["which", "3000", "extra"], /^shards: unexpected argument extra$/);
usageError(["which", "80", "81"], /^shards: unexpected argument 81$/);
usageError(["prune", "extra"], /^shards: unexpected argument extra$/, "repo");
usageError(["list", "extra"], /^shards: unexpected argument extra$/, "repo");
usageError(["allocate", "a", "b"], /^shards: unexpected argument b$/, "repo");
usageError(["create"], /^shards: missing argument <branch>$/);
usageError(["create", "a", "--count"], /^shards: --count needs a value$/);
usageError(
  ["env", "--format", "xml"],
  /^shards: invalid value for --format: xml \(expected one of sh, fish, dotenv, json\)$/,
);
usageError(["exec"], /^shards: no command given/, "repo");
usageError(["help", "frobnicate"], /^shards: unknown command frobnicate$/);
for (const name of ["constructor", "__proto__", "toString", "hasOwnProperty"])
  usageError([name], `shards: unknown command ${name}`);
usageError(["hook", "__proto__"], /^shards: unknown shell "__proto__"/);
usageError(["hook", "constructor"], /^shards: unknown shell "constructor"/);

test("shards help and shards help <command>: the usage on stdout, exit 0", () => {
  const sb = sandbox();
  const all = shards(sb, sb.home, ["help"]);
  assert.equal([all.status, all.stderr], [0, ""]);
  assert.match(all.stdout, /USAGE shards .*allocate/);
  assert.equal(shards(sb, sb.home, ["--help"]).stdout, all.stdout);
  const list = shards(sb, sb.home, ["help", "list"]);
  assert.equal([list.status, list.stderr], [0, ""]);
  assert.match(list.stdout, "USAGE shards list");
  assert.equal(shards(sb, sb.home, ["list", "--help"]).stdout, list.stdout);
});

test("help has no trailing spaces and no colour off a terminal", () => {
  const sb = sandbox();
  for (const args of [["help"], ["help", "list"], ["help", "env"], ["create", "--help"]]) {
    const out = shards(sb, sb.home, args).stdout;
    assert.not.match(out, /[ \t]+$/m, `${args.join(" ")}: a trailing space`);
    assert.not.match(out, "\x1b[", `${args.join(" ")}: an escape`);
  }
});

test("doctor off a terminal says what it did not check", () => {
  const sb = sandbox();
  const main = repo(sb);
  shards(sb, main, ["install"]);
  const r = shards(sb, main, ["doctor"], { SHARDS_SHELL: "" });
  assert.is(r.status, 0, r.stderr);
  assert.is(
    r.stdout,
    "all good (git, hook, config, registry, stale); not checked: shell (not a terminal: scripts use `shards exec`)\n",
  );
});

test("one voice: every message of ours starts with `shards: ` in lower case", () => {
  const sb = sandbox();
  const main = repo(sb);
  const runs = [
    shards(sb, sb.home, ["frobnicate"]),
    shards(sb, sb.home, ["create"]),
    shards(sb, sb.home, ["allocate"]),
    shards(sb, main, ["env", "--format", "xml"]),
    shards(sb, main, ["allocate", "--count", "0"]),
    shards(sb, main, ["exec", "--", "no-such-command-xyz"]),
  ];
  for (const r of runs) assert.match(r.stderr.split("\n")[0]!, /^shards: [a-z-]/, r.stderr);
});

test("flag values and -- are not extra arguments", () => {
  const sb = sandbox();
  const main = repo(sb);
  assert.is(shards(sb, main, ["allocate", "--count", "3", main]).status, 0);
  assert.is(shards(sb, main, ["env", "--format", "json", "--no-allocate"]).status, 0);
  assert.is(shards(sb, main, ["exec", "--", "true", "extra", "--flag"]).status, 0);
});

test.run();
