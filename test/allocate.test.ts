// The pure allocator: every edge case of the feature request, and a property test that no
// sequence of allocate/release/prune ever yields an overlap, a port outside the pool or
// an excluded port.
import fc from "fast-check";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  type AllocationRequest,
  allocate,
  BROWSER_REFUSED_PORTS,
  firstFit,
  type Liveness,
  type Pool,
  prune,
  shardName,
} from "../src/core/allocate.ts";
import {
  type Allocation,
  firstIndex,
  flawOf,
  isValidRange,
  overlaps,
  sanitizeRegistry,
  serializeRegistry,
} from "../src/core/records.ts";
import { DEFAULTS } from "../src/edges/config.ts";

const pool: Pool = { basePort: 3000, maxPort: 32767, portCount: 10, exclude: [3306, 5432, 6379, 27017] };
const live = (): Liveness => "live";

function req(name: string, extra: Partial<AllocationRequest> = {}): AllocationRequest {
  return {
    gitDir: `/r/.git/worktrees/${name}`,
    path: `/r-${name}`,
    branch: name,
    repo: "/r",
    names: [],
    liveness: live,
    ...extra,
  };
}

function rec(name: string, start: number, end: number, extra: Partial<Allocation> = {}): Allocation {
  return {
    gitDir: `/r/.git/worktrees/${name}`,
    path: `/r-${name}`,
    branch: name,
    repo: "/r",
    names: [],
    start,
    end,
    count: end - start + 1,
    ...extra,
  };
}

function take(records: Allocation[], name: string, p = pool, extra: Partial<AllocationRequest> = {}) {
  const result = allocate(records, p, req(name, extra));
  if ("exhausted" in result) throw new Error(result.exhausted);
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
  assert.equal(records[1], rec("b", 3010, 3019, { name: "r-b" }));
});

test("asking again returns the same range and refreshes path, branch and names", () => {
  const records = [rec("a", 3000, 3009), rec("b", 3010, 3019)];
  const r = take(records, "b", pool, { path: "/moved", branch: "renamed", names: ["web"] });
  assert.equal(
    [r.record.start, r.record.end, r.record.path, r.record.branch, r.record.names],
    [3010, 3019, "/moved", "renamed", ["web"]],
  );
  assert.is(r.records.length, 2);
});

test("a freed gap is reused by the next worktree (first fit)", () => {
  const records = [rec("a", 3000, 3009), rec("c", 3020, 3029)];
  assert.is(take(records, "d").record.start, 3010);
});

test("rule 5: removed records are dropped before a new allocation; stale ones keep their range", () => {
  const records = [rec("gone", 3000, 3009), rec("moved", 3010, 3019), rec("b", 3020, 3029)];
  const liveness = (x: Allocation): Liveness =>
    x.branch === "gone" ? "removed" : x.branch === "moved" ? "stale" : "live";
  const r = take(records, "c", pool, { liveness });
  assert.is(r.record.start, 3000);
  assert.equal(r.freed, []);
  assert.equal(
    r.records.map((x) => x.branch),
    ["b", "moved", "c"],
  );
});

test("rule 5: a full pool frees the stale range it needs, and says which", () => {
  const p = { ...pool, basePort: 4000, maxPort: 4019, exclude: [] };
  const records = [rec("a", 4000, 4009), rec("moved", 4010, 4019)];
  const r = take(records, "c", p, { liveness: (x) => (x.branch === "moved" ? "stale" : "live") });
  assert.is(r.record.start, 4010);
  assert.equal(
    r.freed.map((x) => x.branch),
    ["moved"],
  );
  assert.equal(
    r.records.map((x) => x.branch),
    ["a", "c"],
  );
});

test("liveness and siblings are not asked when the worktree already has a range", () => {
  const asked = () => {
    throw new Error("asked");
  };
  const r = take([rec("a", 3000, 3009)], "a", pool, { liveness: asked, siblings: asked });
  assert.is(r.record.start, 3000);
});

test("blocks holding an excluded port are skipped", () => {
  const p = { ...pool, basePort: 3300, exclude: [3306] };
  assert.is(take([], "a", p).record.start, 3310);
  assert.is(firstFit([], { ...pool, basePort: 5430, exclude: [5432, 5445] }, 10)?.start, 5450);
});

test("14.7: every block holding a port browsers refuse is skipped, and the default exclude has AirPlay's", () => {
  const p = { ...pool, exclude: [] };
  assert.is(take([], "a", { ...p, basePort: 6000 }).record.start, 6010, "6000 (x11)");
  assert.is(take([], "a", { ...p, basePort: 6660 }).record.start, 6680, "6665-6669, 6679");
  assert.is(take([], "a", { ...p, basePort: 5060 }).record.start, 5070, "5060, 5061");
  assert.is(take([], "a", { ...p, basePort: 10075 }).record.start, 10085, "10080");
  for (const port of [3659, 4045, 4190, 6566]) {
    const r = take([], "a", { ...p, basePort: port - 5 });
    assert.ok(r.record.start > port, String(port));
  }
  assert.equal(firstFit([], { ...p, basePort: 20, maxPort: 40, portCount: 1 }, 1), { start: 24, end: 24, count: 1 });
  for (const port of [5000, 7000]) assert.ok(DEFAULTS.exclude.includes(port));
  assert.is(take([], "a", { ...DEFAULTS, basePort: 4995 }).record.start, 5005);
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
  if (!("exhausted" in r)) return assert.unreachable("not exhausted");
  assert.match(r.exhausted, "4000-4029");
  assert.match(r.exhausted, "3 ranges taken");
  for (const hint of ["shards prune", "maxPort", "portCount"]) assert.match(r.exhausted, hint);
});

test("a block never runs past maxPort or 65535", () => {
  assert.is(firstFit([], { ...pool, basePort: 65530, maxPort: 65535 }, 10), null);
  assert.equal(firstFit([], { ...pool, basePort: 65526, maxPort: 65535, exclude: [] }, 10), {
    start: 65526,
    end: 65535,
    count: 10,
  });
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

test("rule 8: only records with no usable range are dropped; the rest hold their ports", () => {
  const doc = {
    version: 1,
    allocations: [
      rec("zero", 0, 0, { count: 0 }),
      rec("inv", 3019, 3010),
      rec("ok", 3000, 3009),
      rec("big", 65530, 70000),
    ],
  };
  const { records, problems } = sanitizeRegistry(doc);
  assert.equal(
    records.map((r) => r.branch),
    ["inv", "ok"],
  );
  assert.is(problems.length, 2);
  assert.match(flawOf(records[0]) ?? "", "bad range");
  assert.is(flawOf(records[1]), null);
  assert.is(take(records, "new").record.start, 3020);
});

test("rule 8: a bad cosmetic field or an overlap keeps the record, flagged, written back as it was", () => {
  const raw = [
    { ...rec("a", 3000, 3009), names: [1] },
    { ...rec("b", 3010, 3019), branch: 7 },
    rec("c", 3015, 3024),
    rec("a", 3040, 3049),
  ];
  const { records, problems } = sanitizeRegistry({ version: 1, allocations: raw });
  assert.equal(problems, []);
  assert.equal(
    records.map((r) => r.start),
    [3000, 3010, 3015, 3040],
  );
  assert.match(flawOf(records[0]) ?? "", "bad names");
  assert.match(flawOf(records[1]) ?? "", "bad branch");
  assert.match(flawOf(records[2]) ?? "", "overlaps 3010-3019");
  assert.match(flawOf(records[3]) ?? "", "same git dir");
  assert.equal(records[0].names, []);
  assert.equal(JSON.parse(serializeRegistry(records)).allocations, raw);
  const r = take(records, "new");
  assert.is(r.record.start, 3030);
});

test("rule 10: only a range shards could have handed out is adopted", () => {
  const adopt = (previous: { start: number; end: number; count: number }, p = pool) =>
    take([], "a", p, { previous }).record.start;
  assert.is(adopt({ start: 3040, end: 3049, count: 10 }), 3040);
  assert.is(adopt({ start: 1, end: 65535, count: 65535 }), 3000);
  assert.is(adopt({ start: 3300, end: 3309, count: 10 }), 3000, "3306 is excluded");
  assert.is(adopt({ start: 2990, end: 2999, count: 10 }), 3000, "below basePort");
  assert.is(adopt({ start: 6000, end: 6009, count: 10 }), 3000, "6000 is refused by browsers");
  assert.is(adopt({ start: 4000, end: 5000, count: 1001 }, { ...pool, exclude: [] }), 3000, "more than 1000 ports");
});

test("rule 9: ranges that sibling worktrees still export are held again and never handed out", () => {
  const siblings = [rec("main", 3000, 3009, { gitDir: "/r/.git" }), rec("b", 3010, 3019)];
  const r = take([], "c", pool, { siblings: () => siblings });
  assert.is(r.record.start, 3020);
  assert.equal(r.records.map((x) => x.start).sort(), [3000, 3010, 3020]);
  // A sibling whose range the registry gave to someone else stays out.
  const clash = take([rec("x", 3000, 3009, { repo: "/other", gitDir: "/other/.git" })], "c", pool, {
    siblings: () => siblings,
  });
  assert.equal(
    clash.records.map((x) => x.gitDir),
    ["/other/.git", "/r/.git/worktrees/b", "/r/.git/worktrees/c"],
  );
  // A removed worktree's leftover shards.env holds nothing.
  const removed = take([], "c", pool, {
    siblings: () => siblings,
    liveness: (x) => (x.branch === "b" ? "removed" : "live"),
  });
  assert.is(removed.record.start, 3010);
});

test("the shards.env range is adopted when the registry lost the record and it is free", () => {
  const adopted = take([], "a", pool, { previous: { start: 3040, end: 3049, count: 10 } });
  assert.is(adopted.record.start, 3040);
  const clash = take([rec("b", 3040, 3049)], "a", pool, { previous: { start: 3045, end: 3054, count: 10 } });
  assert.is(clash.record.start, 3000);
  const bogus = take([], "a", pool, { previous: { start: 3040, end: 3049, count: 3 } });
  assert.is(bogus.record.start, 3000);
});

test("probe: blocks where something listens are skipped", () => {
  assert.is(take([], "a", pool, { busy: () => new Set([3003, 3015]) }).record.start, 3020);
});

test("SHARD_NAME: from the directory's name, unique among the records, kept when asked again", () => {
  assert.is(shardName("/w/My Repo.feat#1", new Set()), "my-repo-feat-1");
  assert.is(shardName("/w/.bare-x", new Set()), "bare-x");
  assert.is(shardName("/w/___", new Set()), "shard");
  assert.is(shardName("/w/app", new Set(["app", "app-2"])), "app-3");
  const first = take([], "a", pool, { path: "/x/app" });
  const second = take(first.records, "b", pool, { path: "/y/app" });
  assert.equal(
    second.records.map((r) => r.name),
    ["app", "app-2"],
  );
  assert.is(take(second.records, "b", pool, { path: "/y/app" }).record.name, "app-2");
  assert.is(take([rec("old", 3000, 3009)], "old", pool).record.name, "r-old", "an old record gets its name");
});

test("named ports are kept on the record", () => {
  assert.equal(take([], "a", pool, { names: ["web", "api"] }).record.names, ["web", "api"]);
});

test("prune splits stale from live records", () => {
  const records = [rec("a", 3000, 3009), rec("b", 3010, 3019), rec("c", 3020, 3029)];
  const { records: kept, dropped } = prune(records, (r) =>
    r.branch === "a" ? "removed" : r.branch === "b" ? "stale" : "live",
  );
  assert.equal([kept.map((r) => r.branch), dropped.map((r) => r.branch)], [["c"], ["a", "b"]]);
});

test("property: any sequence of allocate/release/prune keeps ranges disjoint, in the pool, off the exclude list", () => {
  const op = fc.oneof(
    fc.record({
      kind: fc.constant("allocate" as const),
      name: fc.integer({ min: 0, max: 15 }),
      count: fc.option(fc.integer({ min: 1, max: 30 }), { nil: undefined }),
    }),
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
      const thePool = {
        basePort: p.basePort,
        portCount: p.portCount,
        maxPort: Math.min(65535, p.basePort + p.span),
        exclude: p.exclude,
      };
      let records: Allocation[] = [];
      for (const o of ops) {
        if (o.kind === "allocate") {
          const r = allocate(records, thePool, req(`w${o.name}`, { count: o.count }));
          if (!("exhausted" in r)) records = r.records;
        } else if (o.kind === "release") {
          records = records.filter((r) => r.branch !== `w${o.name}`);
        } else {
          records = prune(records, (r) => (r.branch === `w${o.stale}` ? "removed" : "live")).records;
        }
        for (const [i, a] of records.entries()) {
          assert.ok(isValidRange(a));
          for (const b of records.slice(i + 1))
            assert.not.ok(overlaps(a, b), `${a.start}-${a.end} overlaps ${b.start}-${b.end}`);
          assert.equal(records.filter((x) => x.gitDir === a.gitDir).length, 1);
        }
      }
      // Every record the allocator made itself is inside the pool and holds no excluded port.
      for (const r of records) {
        assert.ok(r.start >= thePool.basePort && r.end <= thePool.maxPort);
        assert.not.ok(thePool.exclude.some((x) => x >= r.start && x <= r.end));
        for (let port = r.start; port <= r.end; port++)
          assert.not.ok(BROWSER_REFUSED_PORTS.has(port), `${port} is refused`);
      }
    }),
    { numRuns: 300 },
  );
});

test("firstIndex: the first index past a sorted bound, for every bound and list", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 20 }), { maxLength: 12 }),
      fc.integer({ min: -1, max: 21 }),
      (raw, x) => {
        const sorted = [...raw].sort((a, b) => a - b);
        const expected = sorted.findIndex((v) => v > x);
        assert.is(
          firstIndex(sorted.length, (i) => sorted[i]! > x),
          expected === -1 ? sorted.length : expected,
        );
      },
    ),
  );
});

test.run();
