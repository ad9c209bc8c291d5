// Variables, their rendering for each shell, and reading shards.env back as data.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseEnvFile, rangeFromEnv, renderEnv, renderEnvFile, shardEnv } from "../src/core/env.ts";

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
  const out = spawnSync("sh", ["-c", `${renderEnv(env, "sh")}\nprintf '%s|%s' "$SHARD_ROOT" "$PORT"`], { encoding: "utf8" });
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
  assert.is(renderEnv(env, "dotenv"), "SHARD_PORT_RANGE_START=3010\nSHARD_PORT_RANGE_END=3019\nSHARD_PORT_COUNT=10\nSHARD_ROOT=/w\n");
  assert.is(renderEnv({}, "json"), "{}\n");
});

test("dotenv quotes a path that a shell or compose would expand or split", () => {
  const env = shardEnv(range, { names: [], exportPort: false, root: nasty });
  const dotenv = renderEnv(env, "dotenv");
  const file = join(mkdtempSync(join(tmpdir(), "shards-env-")), ".env");
  writeFileSync(file, dotenv);
  const out = spawnSync("sh", ["-c", `set -a; . "$0"; printf '%s' "$SHARD_ROOT"`, file], { encoding: "utf8" });
  assert.is(out.stdout, nasty);
  assert.match(renderEnv(shardEnv(range, { names: [], exportPort: false, root: "/a b" }), "dotenv"), "SHARD_ROOT='/a b'\n");
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
