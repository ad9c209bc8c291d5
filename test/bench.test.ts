// A quick run of `npm run bench`: every figure A-H is measured, carries its goal and says
// whether it is met, and every ratio is computed from measurements paired run by run.
// Goals are not checked here (a few runs on a busy CI machine prove nothing);
// bench/RESULTS.md holds the full run.
import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT } from "./_helpers.ts";

interface Figure {
  figure: string;
  aValue: number;
  bValue: number;
  ratio: number;
  goal: number | null;
  pass: boolean;
  info: boolean;
  samples?: { a: number[]; b: number[] };
  control?: number;
  breakdown?: Record<string, Record<string, number>>;
}

const GOALS: Record<string, number> = { A: 1.05, B: 1.3, C: 0.01, D: 0.1, E: 1.1, F: 0.65, G: 1.2, H: 1.3 };

function bench(...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "bench/run.ts"), "--quick", ...args], {
    cwd: ROOT,
    encoding: "utf8",
    env: { PATH: process.env.PATH, LANG: "C.UTF-8" },
    timeout: 300_000,
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

const letterOf = (f: Figure) => f.figure.split(" ")[0];

test("bench --json: every figure A-H, with its goal, from paired runs; no process on the prompt path", async () => {
  // Something of the user's on the first port where G and H start their listeners (when
  // something here has it already, that is the same case).
  const squatters = await Promise.all(
    [13000, 21000].map(
      (port) =>
        new Promise<Server>((done) => {
          const s = createServer();
          s.on("error", () => done(s)).listen(port, "127.0.0.1", () => done(s));
        }),
    ),
  );
  const r = bench("--json");
  await Promise.all(squatters.map((s) => new Promise((done) => s.close(done))));
  const out = JSON.parse(r.stdout || "null");
  assert.ok(out, `no JSON from the bench: ${r.stderr}`);
  const figures: Figure[] = out.figures;
  for (const [letter, goal] of Object.entries(GOALS)) {
    const own = figures.filter((f) => letterOf(f) === letter && !f.info);
    assert.ok(own.length > 0, `figure ${letter} is measured`);
    for (const f of own) assert.equal(f.goal, letter === "C" && f.figure.includes("processes") ? 0 : goal, f.figure);
  }
  for (const f of figures) {
    assert.ok(Number.isFinite(f.ratio), f.figure);
    if (f.info) assert.is(f.goal, null, `${f.figure} has no goal`);
    else assert.is(f.pass, f.ratio <= (f.goal as number), `${f.figure} says whether its goal is met`);
    if (f.control !== undefined) continue;
    // A ratio of two medians of samples taken side by side, one pair a run.
    const { a, b } = f.samples ?? { a: [], b: [] };
    assert.ok(a.length >= 2 && a.length === b.length, `${f.figure}: paired samples`);
    assert.is(f.aValue, median(a), f.figure);
    assert.is(f.bValue, median(b), f.figure);
    assert.ok(Math.abs(f.ratio - f.aValue / f.bValue) < 1e-9, f.figure);
  }
  // Prompt and cd start no process, counted by a counter that sees one external command.
  const counts = figures.filter((f) => f.control !== undefined);
  assert.equal(counts.map(letterOf), ["C", "C", "C"]);
  for (const f of counts) {
    assert.is(f.aValue, 0, f.figure);
    assert.is(f.control, 1, `${f.figure}: the counter sees one \`env true\``);
  }
  // D is the cd users pay: from outside into a worktree's subdirectory and out again.
  const d = figures.filter((f) => letterOf(f) === "D" && !f.info).map((f) => f.figure);
  assert.ok(d.length === 3 && d.every((name) => name.includes("from outside")), d.join("; "));
  // E says where the time goes: the four steps of an allocation, each side.
  const e = figures.find((f) => letterOf(f) === "E" && !f.info);
  for (const side of ["1,000 records", "0 records"]) {
    const steps = e?.breakdown?.[side] ?? {};
    assert.equal(Object.keys(steps), ["read", "check", "decide", "write"], side);
    for (const ms of Object.values(steps)) assert.ok(Number.isFinite(ms) && ms >= 0, side);
  }
});

test("bench prints each figure's goal and whether it is met", () => {
  const r = bench("--only=A");
  const row = /\| A git checkout: our hook \/ exit-0 hook +\| [^|]+\| [^|]+\| [\d.]+ +\| <= 1\.05 +\| (pass|FAIL) /;
  assert.match(r.stdout, row);
  assert.match(r.stdout, /\| A' \(info\)[^\n]*\| - +\| info +\|/);
});

test.run();
