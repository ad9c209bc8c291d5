// Variables, their rendering for each shell, and reading shards.env back as data.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  BLOCK_BEGIN,
  BLOCK_END,
  parseEnvFile,
  rangeFromEnv,
  renderEnv,
  renderEnvBlock,
  renderEnvFile,
  shardEnv,
  withEnvBlock,
} from "../src/core/env.ts";

const range = { start: 3010, end: 3019, count: 10 };

test("variables: range, count, named ports, PORT only with exportPort, SHARD_ROOT", () => {
  assert.equal(shardEnv(range, { names: ["web", "api_v2"], exportPort: false, root: "/w" }), {
    SHARD_PORT_RANGE_START: "3010",
    SHARD_PORT_RANGE_END: "3019",
    SHARD_PORT_COUNT: "10",
    SHARD_PORT_WEB: "3010",
    SHARD_PORT_API_V2: "3011",
    SHARD_ROOT: "/w",
  });
  assert.is(shardEnv(range, { names: [], exportPort: true, root: "/w" }).PORT, "3010");
});

test("a root with a newline is left out of the line-based file rather than cut", () => {
  assert.is(shardEnv(range, { names: [], exportPort: false, root: "/a\nb" }).SHARD_ROOT, undefined);
});

const nasty = "/tmp/it's a \"path\" with $HOME and `id` and \\ and 'quotes'";

test("sh output is safe to eval, even with a hostile path", () => {
  const env = shardEnv(range, { names: [], exportPort: true, root: nasty });
  const out = spawnSync("sh", ["-c", `${renderEnv(env, "sh")}\nprintf '%s|%s' "$SHARD_ROOT" "$PORT"`], {
    encoding: "utf8",
  });
  assert.is(out.stdout, `${nasty}|3010`);
});

test("fish output round-trips a hostile path", () => {
  const env = shardEnv(range, { names: [], exportPort: false, root: nasty });
  const out = spawnSync("fish", ["-c", `${renderEnv(env, "fish")}\nprintf '%s' "$SHARD_ROOT"`], { encoding: "utf8" });
  assert.is(out.error, undefined, "fish must be installed");
  assert.is(out.stdout, nasty);
});

test("json and dotenv", () => {
  const env = shardEnv(range, { names: [], exportPort: false, root: "/w" });
  assert.equal(JSON.parse(renderEnv(env, "json")), env);
  assert.is(
    renderEnv(env, "dotenv"),
    "SHARD_PORT_RANGE_START=3010\nSHARD_PORT_RANGE_END=3019\nSHARD_PORT_COUNT=10\nSHARD_ROOT=/w\n",
  );
  assert.is(renderEnv({}, "json"), "{}\n");
});

test("dotenv quotes a path that a shell or compose would expand or split", () => {
  const env = shardEnv(range, { names: [], exportPort: false, root: nasty });
  const dotenv = renderEnv(env, "dotenv");
  const file = join(mkdtempSync(join(tmpdir(), "shards-env-")), ".env");
  writeFileSync(file, dotenv);
  const out = spawnSync("sh", ["-c", `set -a; . "$0"; printf '%s' "$SHARD_ROOT"`, file], { encoding: "utf8" });
  assert.is(out.stdout, nasty);
  assert.match(
    renderEnv(shardEnv(range, { names: [], exportPort: false, root: "/a b" }), "dotenv"),
    "SHARD_ROOT='/a b'\n",
  );
});

test("shards.env round-trips and its range is read back", () => {
  const env = shardEnv(range, { names: ["web"], exportPort: true, root: nasty });
  assert.equal(parseEnvFile(renderEnvFile(env)), env);
  assert.equal(rangeFromEnv(env), range);
  assert.is(rangeFromEnv({}), null);
});

test("the parser ignores anything that is not a valid key with a digit value", () => {
  const text = [
    "SHARD_PORT_RANGE_START=3000",
    "PATH=/evil",
    "SHARD_X=$(touch /tmp/pwned)",
    "SHARD_Y=`id`",
    "SHARD_Z=1;rm -rf /",
    "shard_lower=1",
    "export SHARD_A=1",
    "SHARD_ROOT=relative/path",
    " SHARD_B=2",
    "SHARD_C=123456",
    "=3",
    "PORT=8080",
  ].join("\n");
  assert.equal(parseEnvFile(text), { SHARD_PORT_RANGE_START: "3000", PORT: "8080" });
});

test("SHARD_NAME is written and read back only as a [a-z0-9][a-z0-9_-]* word", () => {
  const env = shardEnv(range, { names: [], exportPort: false, root: "/w", name: "app-2" });
  assert.is(env.SHARD_NAME, "app-2");
  assert.equal(parseEnvFile(renderEnvFile(env)), env);
  for (const bad of ["App", "-x", "a b", "$(id)", ""])
    assert.is(parseEnvFile(`SHARD_NAME=${bad}\n`).SHARD_NAME, undefined, bad);
});

test("the envFile block: added at the end, replaced in place, removed leaving every other byte", () => {
  const block = renderEnvBlock({ SHARD_PORT_RANGE_START: "3000" });
  assert.is(block, `${BLOCK_BEGIN}\nSHARD_PORT_RANGE_START=3000\n${BLOCK_END}\n`);
  assert.is(withEnvBlock("", block), block);
  assert.is(withEnvBlock("A=1", block), `A=1\n${block}`, "a last line without a newline is ended first");
  const file = `A=1\n${block}B=2\n`;
  const other = renderEnvBlock({ SHARD_PORT_RANGE_START: "3010" });
  assert.is(withEnvBlock(file, other), `A=1\n${other}B=2\n`);
  assert.is(withEnvBlock(file, null), "A=1\nB=2\n");
  assert.is(withEnvBlock("A=1\n", null), "A=1\n");
  // Lines someone added inside the block are replaced with it, old values included.
  const edited = `A=1\n${BLOCK_BEGIN}\n# mine\nSHARD_PORT_RANGE_START=3000\nDEBUG=1\nSHARD_PORT_COUNT=10\n${BLOCK_END}\nB=2\n`;
  assert.is(withEnvBlock(edited, other), `A=1\n${other}B=2\n`);
  assert.is(withEnvBlock(edited, null), "A=1\nB=2\n");
  assert.is(withEnvBlock(`${BLOCK_BEGIN}\nX=1\n${BLOCK_END}`, null), "", "an end marker with no newline after it");
  // Someone deleted the end marker: the block ends at the last of its own lines.
  assert.is(withEnvBlock(`${BLOCK_BEGIN}\nSHARD_PORT_COUNT=1\nMINE=1\n`, null), "MINE=1\n");
  // A marker-like text inside a user's line is not a block.
  assert.is(withEnvBlock(`X="${BLOCK_BEGIN}"\n`, null), `X="${BLOCK_BEGIN}"\n`);
});

test("property: any string yields only valid keys and values", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary", maxLength: 400 }), (text) => {
      for (const [k, v] of Object.entries(parseEnvFile(text))) {
        assert.ok(/^(SHARD_[A-Z0-9_]+|PORT)$/.test(k));
        assert.ok(k === "SHARD_ROOT" ? v.startsWith("/") && !v.includes("\n") : /^[0-9]{1,5}$/.test(v));
      }
    }),
    { numRuns: 2000 },
  );
});

test.run();
