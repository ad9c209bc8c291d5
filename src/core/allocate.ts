// The allocation decision: (records, config, request) -> new records + the range, or
// exhaustion. Pure; whether a worktree is still there and which ports are listened on
// come in as data from the edges.
import { type Allocation, hadBadRange, isValidRange, overlaps, type Range } from "./records.ts";

export interface Pool {
  basePort: number;
  maxPort: number;
  portCount: number;
  exclude: readonly number[];
}

/**
 * Rule 5. live: git knows the worktree (or it is locked, away on purpose); removed: git no
 * longer knows it, freed at once; stale: its whole repository is gone from its path (moved
 * or deleted), kept until `shards prune` or a full pool.
 */
export type Liveness = "live" | "removed" | "stale";

export interface AllocationRequest {
  gitDir: string;
  path: string;
  branch: string | null;
  repo: string;
  names: string[];
  /** Ports for a new range; the pool's portCount when absent. */
  count?: number;
  /** The range the worktree's own shards.env names, adopted when no record exists and rule 10 allows it. */
  previous?: Range | null;
  /**
   * Records rebuilt from the shards.env files of the repository's other worktrees (rule 9),
   * but those of the git dirs in `known` (they have a record); asked only when a new range is needed.
   */
  siblings?: (known: ReadonlySet<string>) => readonly Allocation[];
  /** Asked only when a new range is needed. */
  liveness: (record: Allocation) => Liveness;
  /** Ports something listens on now (probe); blocks holding one are skipped. Asked only when a new range is needed. */
  busy?: () => ReadonlySet<number>;
}

export type AllocationResult =
  | { record: Allocation; records: Allocation[]; freed: Allocation[] }
  | { exhausted: string };

/**
 * The Fetch standard's bad ports: browsers refuse to connect to them (ERR_UNSAFE_PORT),
 * so a dev server there is useless. https://fetch.spec.whatwg.org/#port-blocking
 */
export const BROWSER_REFUSED_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110,
  111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532,
  540, 548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061,
  6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
]);

/** Does the block hold a port that is excluded or that browsers refuse? */
function hasForbiddenPort(block: Range, exclude: readonly number[]): boolean {
  if (exclude.some((p) => p >= block.start && p <= block.end)) return true;
  for (const p of BROWSER_REFUSED_PORTS) if (p >= block.start && p <= block.end) return true;
  return false;
}

/** Lowest aligned block of `count` ports that is free, inside the pool and holds no forbidden port. */
export function firstFit(taken: readonly Range[], pool: Pool, count: number, busy?: ReadonlySet<number>): Range | null {
  // One sweep: candidates rise, so a range that ends below the current one never matters again.
  const byStart = [...taken].sort((a, b) => a.start - b.start);
  let next = 0;
  for (let start = pool.basePort; start + count - 1 <= pool.maxPort; start += pool.portCount) {
    const block = { start, end: start + count - 1, count };
    while (next < byStart.length && byStart[next].end < block.start) next++;
    if (overlapsAny(byStart, next, block)) continue;
    if (hasForbiddenPort(block, pool.exclude)) continue;
    if (busy && hasBusyPort(block, busy)) continue;
    return block;
  }
  return null;
}

/** Does `block` overlap a range of `byStart` (sorted by start) from index `from` on? */
function overlapsAny(byStart: readonly Range[], from: number, block: Range): boolean {
  for (let i = from; i < byStart.length && byStart[i].start <= block.end; i++)
    if (overlaps(byStart[i], block)) return true;
  return false;
}

function hasBusyPort(block: Range, busy: ReadonlySet<number>): boolean {
  for (let p = block.start; p <= block.end; p++) if (busy.has(p)) return true;
  return false;
}

/**
 * Rule 10: a range a shards.env names is taken over only when shards could have handed it
 * out itself, so a bogus file (1-65535, an excluded port) cannot poison the pool.
 */
export function adoptable(range: Range, pool: Pool, taken: readonly Range[]): boolean {
  return (
    isValidRange(range) &&
    range.count <= 1000 &&
    range.start >= pool.basePort &&
    range.end <= pool.maxPort &&
    !hasForbiddenPort(range, pool.exclude) &&
    !taken.some((r) => overlaps(r, range))
  );
}

/** SHARD_NAME: the directory's name as `[a-z0-9][a-z0-9_-]*`, made unique with -2, -3, ... */
export function shardName(path: string, taken: ReadonlySet<string>): string {
  const base = path.slice(path.lastIndexOf("/") + 1);
  const slug =
    base
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, "-")
      .replace(/^[^a-z0-9]+/, "")
      .slice(0, 48)
      .replace(/-+$/, "") || "shard";
  if (!taken.has(slug)) return slug;
  for (let i = 2; ; i++) if (!taken.has(`${slug}-${i}`)) return `${slug}-${i}`;
}

function namesOf(records: readonly Allocation[]): Set<string> {
  return new Set(records.flatMap((r) => (r.name ? [r.name] : [])));
}

export function allocate(records: readonly Allocation[], pool: Pool, req: AllocationRequest): AllocationResult {
  const fields = { gitDir: req.gitDir, path: req.path, branch: req.branch, repo: req.repo, names: req.names };
  const own = records.find((r) => r.gitDir === req.gitDir);
  // A record whose range was written wrong (inverted, a wrong count) is replaced by a new one.
  if (own && !hadBadRange(own)) {
    const name = own.name ?? shardName(req.path, namesOf(records.filter((r) => r !== own)));
    const record = { ...own, ...fields, name };
    return { record, records: records.map((r) => (r === own ? record : r)), freed: [] };
  }
  const kept: Allocation[] = [];
  const stale: Allocation[] = [];
  for (const r of records) {
    if (r === own) continue;
    const state = req.liveness(r);
    if (state === "live") kept.push(r);
    else if (state === "stale") stale.push(r);
  }
  const taken: Range[] = [...kept, ...stale];
  // Ranges the repository's other worktrees still export, lost from the registry: held again
  // (not the leftover file of a worktree whose directory was deleted: that one is removed).
  const known = new Set(records.map((r) => r.gitDir));
  for (const s of req.siblings?.(known) ?? []) {
    if (known.has(s.gitDir) || !adoptable(s, pool, taken)) continue;
    if (req.liveness(s) !== "live") continue;
    const names = namesOf([...kept, ...stale]);
    kept.push({ ...s, name: s.name && !names.has(s.name) ? s.name : shardName(s.path, names) });
    taken.push(s);
  }
  const name = shardName(req.path, namesOf([...kept, ...stale]));
  const previous = req.previous;
  if (previous && adoptable(previous, pool, taken)) {
    const record = { ...fields, name, start: previous.start, end: previous.end, count: previous.count };
    return { record, records: [...kept, ...stale, record], freed: [] };
  }
  const count = req.count ?? pool.portCount;
  const busy = req.busy?.();
  const block = firstFit(taken, pool, count, busy);
  if (block) {
    const record = { ...fields, name, ...block };
    return { record, records: [...kept, ...stale, record], freed: [] };
  }
  // A full pool is the one case where a stale range goes to someone else (rule 5).
  const reclaimed = firstFit(kept, pool, count, busy);
  if (reclaimed) {
    const freed = stale.filter((r) => overlaps(r, reclaimed));
    const record = { ...fields, name, ...reclaimed };
    return { record, records: [...kept, ...stale.filter((r) => !freed.includes(r)), record], freed };
  }
  const inPool = taken.filter((r) => overlaps(r, { start: pool.basePort, end: pool.maxPort, count: 0 })).length;
  return {
    exhausted:
      `no free block of ${count} ports in the pool ${pool.basePort}-${pool.maxPort} (${inPool} ranges taken); ` +
      "run `shards prune`, raise maxPort, or lower portCount",
  };
}

/** Splits records into those `shards prune` frees (removed and stale) and the rest. */
export function prune(records: readonly Allocation[], liveness: (r: Allocation) => Liveness) {
  const kept: Allocation[] = [];
  const dropped: Allocation[] = [];
  for (const r of records) (liveness(r) === "live" ? kept : dropped).push(r);
  return { records: kept, dropped };
}
