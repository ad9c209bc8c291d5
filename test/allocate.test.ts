// The pure allocator: every edge case of the feature request, and a property test that no
// sequence of allocate/release/prune ever yields an overlap, a port outside the pool or
// an excluded port.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { type AllocationRequest, type Pool, allocate, firstFit, prune } from "../src/core/allocate.ts";
import { type Allocation, isValidRange, overlaps, sanitizeRegistry } from "../src/core/records.ts";

const pool: Pool = { basePort: 3000, maxPort: 32767, portCount: 10, exclude: [3306, 5432, 6379, 27017] };
const never = () => false;

function req(name: string, extra: Partial<AllocationRequest> = {}): AllocationRequest {
  return { gitDir: `/r/.git/worktrees/${name}`, path: `/r-${name}`, branch: name, repo: "/r", names: [], isStale: never, ...extra };
}

function rec(name: string, start: number, end: number, extra: Partial<Allocation> = {}): Allocation {
  return { gitDir: `/r/.git/worktrees/${name}`, path: `/r-${name}`, branch: name, repo: "/r", names: [], start, end, count: end - start + 1, ...extra };
}

function take(records: Allocation[], name: string, p = pool, extra: Partial<AllocationRequest> = {}) {
  const result = allocate(records, p, req(name, extra));
  if (result.kind === "exhausted") throw new Error(result.message);
  return result;
}

test("ranges read 3000, 3010, 3020 for the first three worktrees", () => {
  let records: Allocation[] = [];
  const starts = [];
  for (const name of ["a", "b", "c"]) {
    const r = take(records, name);
    records = r.records;
    starts.push(r.record.start);
  }
  assert.equal(starts, [3000, 3010, 3020]);
  assert.equal(records[1], rec("b", 3010, 3019));
});

test("asking again returns the same range and refreshes path, branch and names", () => {
  const records = [rec("a", 3000, 3009), rec("b", 3010, 3019)];
  const r = take(records, "b", pool, { path: "/moved", branch: "renamed", names: ["web"] });
  assert.is(r.kind, "existing");
  assert.equal([r.record.start, r.record.end, r.record.path, r.record.branch, r.record.names], [3010, 3019, "/moved", "renamed", ["web"]]);
  assert.is(r.records.length, 2);
});

test("a freed gap is reused by the next worktree (first fit)", () => {
  const records = [rec("a", 3000, 3009), rec("c", 3020, 3029)];
  assert.is(take(records, "d").record.start, 3010);
});

test("stale records are dropped before a new allocation, and reported", () => {
  const records = [rec("gone", 3000, 3009), rec("b", 3010, 3019)];
  const r = take(records, "c", pool, { isStale: (x) => x.branch === "gone" });
  assert.is(r.record.start, 3000);
  assert.equal(r.dropped.map((x) => x.branch), ["gone"]);
  assert.equal(r.records.map((x) => x.branch), ["b", "c"]);
});

test("staleness is not asked when the worktree already has a range", () => {
  const r = take([rec("a", 3000, 3009)], "a", pool, { isStale: () => { throw new Error("asked"); } });
  assert.is(r.kind, "existing");
});

test("blocks holding an excluded port are skipped", () => {
  const p = { ...pool, basePort: 3300, exclude: [3306] };
  assert.is(take([], "a", p).record.start, 3310);
  assert.is(firstFit([], { ...pool, basePort: 5430, exclude: [5432, 5445] }, 10)?.start, 5450);
});

test("--count: a larger or smaller block on the aligned slots", () => {
  const r = take([rec("a", 3000, 3009)], "b", pool, { count: 25 });
  assert.equal([r.record.start, r.record.end, r.record.count], [3010, 3034, 25]);
  const small = take(r.records, "c", pool, { count: 3 });
  assert.equal([small.record.start, small.record.end], [3040, 3042]);
});

test("exhaustion names the pool, how many ranges are taken, and what to do", () => {
  const p = { ...pool, basePort: 4000, maxPort: 4029, exclude: [] };
  let records: Allocation[] = [];
  for (const name of ["a", "b", "c"]) records = take(records, name, p).records;
  const r = allocate(records, p, req("d"));
  assert.is(r.kind, "exhausted");
  if (r.kind !== "exhausted") return;
  assert.match(r.message, "4000-4029");
  assert.match(r.message, "3 ranges taken");
  for (const hint of ["shards prune", "maxPort", "portCount"]) assert.match(r.message, hint);
});

test("a block never runs past maxPort or 65535", () => {
  assert.is(firstFit([], { ...pool, basePort: 65530, maxPort: 65535 }, 10), null);
  assert.equal(firstFit([], { ...pool, basePort: 65526, maxPort: 65535, exclude: [] }, 10), { start: 65526, end: 65535, count: 10 });
  assert.is(firstFit([], { ...pool, basePort: 3000, maxPort: 3008 }, 10), null);
});

test("a base moved above existing records allocates above it and never overlaps them", () => {
  const records = [rec("a", 3000, 3009), rec("b", 5005, 5014)];
  const r = take(records, "c", { ...pool, basePort: 5000 });
  assert.is(r.record.start, 5010 + 10);
  assert.ok(!records.some((x) => overlaps(x, r.record)));
});

test("unaligned records from another repository's pool are avoided", () => {
  const records = [rec("x", 3005, 3014)];
  assert.is(take(records, "a").record.start, 3020);
});

test("legacy 0/0 and inverted records are dropped by the registry check and never overlapped", () => {
  const doc = { version: 1, allocations: [rec("zero", 0, 0, { count: 0 }), rec("inv", 3019, 3010), rec("ok", 3000, 3009), rec("big", 65530, 70000)] };
  const { records, problems } = sanitizeRegistry(doc);
  assert.equal(records.map((r) => r.branch), ["ok"]);
  assert.is(problems.length, 3);
  // Even if such records reached the allocator, the new range avoids every interval they span.
  const raw = doc.allocations as Allocation[];
  const r = take(raw, "new");
  assert.ok(isValidRange(r.record));
  assert.is(r.record.start, 3020);
});

test("the shards.env range is adopted when the registry lost the record and it is free", () => {
  const adopted = take([], "a", pool, { previous: { start: 3040, end: 3049, count: 10 } });
  assert.is(adopted.kind, "adopted");
  assert.is(adopted.record.start, 3040);
  const clash = take([rec("b", 3040, 3049)], "a", pool, { previous: { start: 3045, end: 3054, count: 10 } });
  assert.is(clash.kind, "new");
  assert.is(clash.record.start, 3000);
  const bogus = take([], "a", pool, { previous: { start: 3040, end: 3049, count: 3 } });
  assert.is(bogus.kind, "new");
});

test("probe: blocks where something listens are skipped", () => {
  assert.is(take([], "a", pool, { busy: new Set([3003, 3015]) }).record.start, 3020);
});

test("named ports are kept on the record", () => {
  assert.equal(take([], "a", pool, { names: ["web", "api"] }).record.names, ["web", "api"]);
});

test("prune splits stale from live records", () => {
  const { records, dropped } = prune([rec("a", 3000, 3009), rec("b", 3010, 3019)], (r) => r.branch === "a");
  assert.equal([records.map((r) => r.branch), dropped.map((r) => r.branch)], [["b"], ["a"]]);
});

test("property: any sequence of allocate/release/prune keeps ranges disjoint, in the pool, off the exclude list", () => {
  const op = fc.oneof(
    fc.record({ kind: fc.constant("allocate" as const), name: fc.integer({ min: 0, max: 15 }), count: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }) }),
    fc.record({ kind: fc.constant("release" as const), name: fc.integer({ min: 0, max: 15 }) }),
    fc.record({ kind: fc.constant("prune" as const), stale: fc.integer({ min: 0, max: 15 }) }),
  );
  const poolArb = fc.record({
    basePort: fc.integer({ min: 1, max: 65500 }),
    portCount: fc.integer({ min: 1, max: 20 }),
    span: fc.integer({ min: 20, max: 400 }),
    exclude: fc.array(fc.integer({ min: 1, max: 65535 }), { maxLength: 5 }),
  });
  fc.assert(
    fc.property(poolArb, fc.array(op, { maxLength: 60 }), (p, ops) => {
      const thePool = { basePort: p.basePort, portCount: p.portCount, maxPort: Math.min(65535, p.basePort + p.span), exclude: p.exclude };
      let records: Allocation[] = [];
      for (const o of ops) {
        if (o.kind === "allocate") {
          const r = allocate(records, thePool, req(`w${o.name}`, { count: o.count }));
          if (r.kind !== "exhausted") records = r.records;
        } else if (o.kind === "release") {
          records = records.filter((r) => r.branch !== `w${o.name}`);
        } else {
          records = prune(records, (r) => r.branch === `w${o.stale}`).records;
        }
        for (const [i, a] of records.entries()) {
          assert.ok(isValidRange(a));
          for (const b of records.slice(i + 1)) assert.not.ok(overlaps(a, b), `${a.start}-${a.end} overlaps ${b.start}-${b.end}`);
          assert.equal(records.filter((x) => x.gitDir === a.gitDir).length, 1);
        }
      }
      // Every record the allocator made itself is inside the pool and holds no excluded port.
      for (const r of records) {
        assert.ok(r.start >= thePool.basePort && r.end <= thePool.maxPort);
        assert.not.ok(thePool.exclude.some((x) => x >= r.start && x <= r.end));
      }
    }),
    { numRuns: 300 },
  );
});

test.run();
