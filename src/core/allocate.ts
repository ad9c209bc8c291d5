// The allocation decision: (records, config, request) -> new records + the range, or
// exhaustion. Pure; staleness and listening ports come in as data from the edges.
import { type Allocation, type Range, isValidRange, overlaps } from "./records.ts";

export interface Pool {
  basePort: number;
  maxPort: number;
  portCount: number;
  exclude: readonly number[];
}

export interface AllocationRequest {
  gitDir: string;
  path: string;
  branch: string | null;
  repo: string;
  names: string[];
  /** Ports for a new range; the pool's portCount when absent. */
  count?: number;
  /** The range the worktree's own shards.env names, adopted when no record exists and it is free. */
  previous?: Range | null;
  /** Is this record's worktree gone? Asked only when a new range is needed. */
  isStale: (record: Allocation) => boolean;
  /** Ports something listens on now (probe); blocks holding one are skipped. */
  busy?: ReadonlySet<number>;
}

export type AllocationResult =
  | { kind: "existing" | "adopted" | "new"; record: Allocation; records: Allocation[]; dropped: Allocation[] }
  | { kind: "exhausted"; message: string; dropped: Allocation[] };

/** Lowest aligned block of `count` ports that is free, inside the pool and off the exclude list. */
export function firstFit(taken: readonly Range[], pool: Pool, count: number, busy?: ReadonlySet<number>): Range | null {
  // One sweep: candidates rise, so a range that ends below the current one never matters again.
  const byStart = [...taken].sort((a, b) => a.start - b.start);
  let next = 0;
  for (let start = pool.basePort; start + count - 1 <= pool.maxPort; start += pool.portCount) {
    const block = { start, end: start + count - 1, count };
    while (next < byStart.length && byStart[next].end < block.start) next++;
    if (overlapsAny(byStart, next, block)) continue;
    if (pool.exclude.some((p) => p >= block.start && p <= block.end)) continue;
    if (busy && hasBusyPort(block, busy)) continue;
    return block;
  }
  return null;
}

/** Does `block` overlap a range of `byStart` (sorted by start) from index `from` on? */
function overlapsAny(byStart: readonly Range[], from: number, block: Range): boolean {
  for (let i = from; i < byStart.length && byStart[i].start <= block.end; i++) if (overlaps(byStart[i], block)) return true;
  return false;
}

function hasBusyPort(block: Range, busy: ReadonlySet<number>): boolean {
  for (let p = block.start; p <= block.end; p++) if (busy.has(p)) return true;
  return false;
}

export function allocate(records: readonly Allocation[], pool: Pool, req: AllocationRequest): AllocationResult {
  const fields = { gitDir: req.gitDir, path: req.path, branch: req.branch, repo: req.repo, names: req.names };
  const own = records.find((r) => r.gitDir === req.gitDir);
  if (own && isValidRange(own)) {
    const record = { ...own, ...fields };
    return { kind: "existing", record, records: records.map((r) => (r === own ? record : r)), dropped: [] };
  }
  const { records: live, dropped } = prune(
    records.filter((r) => r !== own),
    req.isStale,
  );
  // Anything that still reads as an interval is avoided, even when it is not a valid record.
  const taken = live.filter((r) => Number.isInteger(r.start) && Number.isInteger(r.end)).map(asInterval);

  const previous = req.previous;
  if (previous && isValidRange(previous) && !taken.some((r) => overlaps(r, previous))) {
    const record = { ...fields, start: previous.start, end: previous.end, count: previous.count };
    return { kind: "adopted", record, records: [...live, record], dropped };
  }
  const count = req.count ?? pool.portCount;
  const block = firstFit(taken, pool, count, req.busy);
  if (!block) {
    const message =
      `no free block of ${count} ports in the pool ${pool.basePort}-${pool.maxPort} ` +
      `(${taken.filter((r) => overlaps(r, { start: pool.basePort, end: pool.maxPort, count: 0 })).length} ranges taken); ` +
      "run `shards prune`, raise maxPort, or lower portCount";
    return { kind: "exhausted", message, dropped };
  }
  const record = { ...fields, ...block };
  return { kind: "new", record, records: [...live, record], dropped };
}

function asInterval(r: Range): Range {
  const start = Math.min(r.start, r.end);
  const end = Math.max(r.start, r.end);
  return { start, end, count: end - start + 1 };
}

/** Splits records into those whose worktree is gone and the rest. */
export function prune(records: readonly Allocation[], isStale: (r: Allocation) => boolean) {
  const kept: Allocation[] = [];
  const dropped: Allocation[] = [];
  for (const r of records) (isStale(r) ? dropped : kept).push(r);
  return { records: kept, dropped };
}
