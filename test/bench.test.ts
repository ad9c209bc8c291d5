// A smoke run of `npm run bench`: every figure is measured and printed as JSON. Goals are
// not checked here (a few runs on a busy CI machine prove nothing); bench/RESULTS.md holds
// the full run.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT } from "./_helpers.ts";

test("bench --quick --json measures every figure", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "bench/run.ts"), "--quick", "--json"], {
    cwd: ROOT,
    encoding: "utf8",
    env: { PATH: process.env.PATH, LANG: "C.UTF-8" },
    timeout: 300_000,
  });
  const out = JSON.parse(r.stdout || "null");
  assert.ok(out, `no JSON from the bench: ${r.stderr}`);
  const names = out.figures.map((f: { figure: string }) => f.figure.split(" ")[0]);
  for (const letter of ["A", "B", "C", "D", "E", "F", "G"]) assert.ok(names.includes(letter), `figure ${letter} is measured`);
  for (const f of out.figures) assert.ok(Number.isFinite(f.aValue) && Number.isFinite(f.bValue), f.figure);
  assert.equal(out.figures.filter((f: { figure: string }) => f.figure.includes("processes started")).map((f: { aValue: number }) => f.aValue), [0, 0]);
});

test.run();
