// The allocation record and the rules that say whether a set of records can be trusted.
// Pure: no I/O. The registry edge feeds parsed JSON through `sanitizeRegistry`.

export interface Range {
  start: number;
  end: number;
  count: number;
}

export interface Allocation extends Range {
  /** Identity: the worktree's absolute git dir (stable across `git worktree move`). */
  gitDir: string;
  /** The worktree's top level when last seen; for display and staleness. */
  path: string;
  branch: string | null;
  /** The repository's main worktree (or common git dir), to group a repository's worktrees. */
  repo: string;
  /** Port names when last allocated, so `list` and `which` can name ports without config. */
  names: string[];
}

export const REGISTRY_VERSION = 1;
const MIN_PORT = 1;
const MAX_PORT = 65535;

export function isValidRange(r: Range): boolean {
  return (
    Number.isInteger(r.start) &&
    Number.isInteger(r.end) &&
    Number.isInteger(r.count) &&
    r.start >= MIN_PORT &&
    r.end <= MAX_PORT &&
    r.start <= r.end &&
    r.count === r.end - r.start + 1
  );
}

export function overlaps(a: Range, b: Range): boolean {
  return a.start <= b.end && b.start <= a.end;
}

export function formatRange(r: Range): string {
  return `${r.start}-${r.end}`;
}

/** Port name -> port, for the names that fit in the range. */
export function namedPorts(r: Range, names: readonly string[]): Record<string, number> {
  const ports: Record<string, number> = {};
  names.forEach((name, i) => {
    if (i < r.count) ports[name] = r.start + i;
  });
  return ports;
}

/** The name of `port` in the allocation (name i is start + i), or null. */
export function portName(r: Allocation, port: number): string | null {
  return port >= r.start && port <= r.end ? (r.names[port - r.start] ?? null) : null;
}

export interface SanitizeResult {
  records: Allocation[];
  /** One short phrase per record or field that was dropped; empty when the document is clean. */
  problems: string[];
}

export class UnsupportedRegistryVersion extends Error {
  constructor(readonly version: unknown) {
    super(`format version ${JSON.stringify(version)}`);
  }
}

const isString = (v: unknown): v is string => typeof v === "string" && v.length > 0;

function toAllocation(raw: unknown): Allocation | string {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return "a record that is not an object";
  const r = raw as Record<string, unknown>;
  if (!isString(r.gitDir) || !isString(r.path) || !isString(r.repo)) return "a record without gitDir, path or repo";
  const branch = r.branch === null || r.branch === undefined ? null : r.branch;
  if (branch !== null && typeof branch !== "string") return `a record with a bad branch (${r.gitDir})`;
  const names = r.names === undefined ? [] : r.names;
  if (!Array.isArray(names) || !names.every((n) => typeof n === "string"))
    return `a record with bad names (${r.gitDir})`;
  const range = { start: r.start, end: r.end, count: r.count } as Range;
  if (!isValidRange(range))
    return `an invalid range ${JSON.stringify(r.start)}-${JSON.stringify(r.end)} (count ${JSON.stringify(r.count)}) for ${r.gitDir}`;
  return { gitDir: r.gitDir, path: r.path, branch, repo: r.repo, names, ...range };
}

/**
 * Keeps every record that is well formed, in order; the first record wins over a later
 * duplicate (same git dir) or a later overlapping range. Throws for a newer format version,
 * which this version must not rewrite.
 */
export function sanitizeRegistry(doc: unknown): SanitizeResult {
  if (!doc || typeof doc !== "object" || Array.isArray(doc))
    return { records: [], problems: ["the file is not a JSON object"] };
  const d = doc as Record<string, unknown>;
  if (typeof d.version === "number" && d.version > REGISTRY_VERSION) throw new UnsupportedRegistryVersion(d.version);
  const problems: string[] = [];
  if (d.version !== REGISTRY_VERSION) problems.push(`unknown format version ${JSON.stringify(d.version)}`);
  if (!Array.isArray(d.allocations)) {
    problems.push("no allocations array");
    return { records: [], problems };
  }
  const records: Allocation[] = [];
  const gitDirs = new Set<string>();
  // The kept ranges sorted by start: being disjoint, a new one can only overlap a neighbour.
  const sorted: Allocation[] = [];
  for (const raw of d.allocations) {
    const rec = toAllocation(raw);
    if (typeof rec === "string") {
      problems.push(rec);
      continue;
    }
    if (gitDirs.has(rec.gitDir)) {
      problems.push(`a duplicate record for ${rec.gitDir}`);
      continue;
    }
    // The file is written sorted by start, so the common case appends after the last range.
    const last = sorted[sorted.length - 1];
    const at = !last || last.start <= rec.start ? sorted.length : insertionPoint(sorted, rec.start);
    const before = sorted[at - 1];
    const after = sorted[at];
    const clash = before && overlaps(before, rec) ? before : after && overlaps(after, rec) ? after : undefined;
    if (clash) {
      problems.push(`${formatRange(rec)} for ${rec.path} overlaps ${formatRange(clash)} for ${clash.path}`);
      continue;
    }
    if (at === sorted.length) sorted.push(rec);
    else sorted.splice(at, 0, rec);
    gitDirs.add(rec.gitDir);
    records.push(rec);
  }
  return { records, problems };
}

/** Index of the first range in `sorted` that starts after `start`. */
function insertionPoint(sorted: readonly Range[], start: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid].start <= start) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * What can be saved from a registry that is not valid JSON (cut short by a full disk, say):
 * the file holds one record a line, so every line that parses on its own is a candidate.
 */
export function salvageRegistry(text: string): unknown {
  const allocations: unknown[] = [];
  for (const line of text.split("\n")) {
    const candidate = line.trim().replace(/,$/, "");
    if (!candidate.startsWith("{\"gitDir\"")) continue;
    try {
      allocations.push(JSON.parse(candidate));
    } catch {
      // The line that was cut: lost.
    }
  }
  return { version: REGISTRY_VERSION, allocations };
}

/**
 * One record a line, sorted by first port: readable, diffable, half the bytes of indented
 * JSON to fsync, and checked in one pass when read back.
 */
export function serializeRegistry(records: readonly Allocation[]): string {
  const lines = [...records].sort((a, b) => a.start - b.start).map((r) => JSON.stringify(r));
  return `{"version":${REGISTRY_VERSION},"allocations":[${lines.length ? `\n${lines.join(",\n")}\n` : ""}]}\n`;
}
