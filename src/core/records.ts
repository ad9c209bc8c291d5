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
  /** SHARD_NAME: short, unique among the records, kept for the worktree's life (absent in old records). */
  name?: string;
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

/** The record of one worktree: by its git dir when known, else by its path. */
export function recordOf(gitDir: string | null, path: string): (r: Allocation) => boolean {
  return (r) => (gitDir ? r.gitDir === gitDir : r.path === path);
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
  /** Every record that holds ports, in order; flawed ones too (see `flawOf`). */
  records: Allocation[];
  /** One short phrase per record that was dropped (it held no ports); empty when none was. */
  problems: string[];
}

export class UnsupportedRegistryVersion extends Error {
  constructor(readonly version: unknown) {
    super(`format version ${JSON.stringify(version)}`);
  }
}

// A record that holds ports but is not well formed (rule 8) is kept as it was found: the
// registry writes its original object back, and doctor names its flaw. Kept beside the
// record rather than in it, so that every other reader sees a plain, normalised Allocation.
const originals = new WeakMap<Allocation, unknown>();
const flaws = new WeakMap<Allocation, string>();

/** What is wrong with a record that was kept for its ports, or null for a well-formed one. */
export function flawOf(record: Allocation): string | null {
  return flaws.get(record) ?? null;
}

/** The record's range as it was written, when that was not a valid range (inverted, wrong count). */
export function hadBadRange(record: Allocation): boolean {
  const raw = originals.get(record) as Range | undefined;
  return raw !== undefined && !isValidRange(raw);
}

function flag(record: Allocation, raw: unknown, flaw: string): void {
  originals.set(record, raw);
  flaws.set(record, flaws.has(record) ? `${flaws.get(record)}; ${flaw}` : flaw);
}

const isString = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isPort = (v: unknown): v is number =>
  Number.isInteger(v) && (v as number) >= MIN_PORT && (v as number) <= MAX_PORT;
export const SHARD_NAME = /^[a-z0-9][a-z0-9_-]*$/;

const NO_FLAWS: string[] = [];

type Raw = Record<string, unknown>;
type WellFormed = Allocation & { branch?: string | null; names?: string[] };

/** The common case, checked without building anything: every record shards wrote itself. */
function isWellFormed(r: Raw): r is Raw & WellFormed {
  return (
    isString(r.gitDir) &&
    isString(r.path) &&
    isString(r.repo) &&
    (r.branch === null || r.branch === undefined || typeof r.branch === "string") &&
    (r.names === undefined || (Array.isArray(r.names) && r.names.every((n) => typeof n === "string"))) &&
    (r.name === undefined || (typeof r.name === "string" && SHARD_NAME.test(r.name))) &&
    isValidRange(r as unknown as Range)
  );
}

/** The record, normalised, with the flaws of its other fields; or a phrase when it holds no ports. */
function toAllocation(raw: unknown): { record: Allocation; flaws: string[] } | string {
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) return "a record that is not an object";
  const r = raw as Record<string, unknown>;
  const who = isString(r.gitDir) ? r.gitDir : isString(r.path) ? r.path : "a record without gitDir";
  if (!isPort(r.start) || !isPort(r.end))
    return `a record with no usable range ${JSON.stringify(r.start)}-${JSON.stringify(r.end)} (${who})`;
  if (isWellFormed(r)) {
    // As shards writes it: the parsed object itself, no copy (a thousand records are the
    // bulk of what the garbage collector scans in the hook's process).
    if (r.branch !== undefined && r.names !== undefined) return { record: r, flaws: NO_FLAWS };
    const { gitDir, path, repo, start, end, count } = r;
    const record: Allocation = {
      gitDir,
      path,
      branch: r.branch ?? null,
      repo,
      names: r.names ?? [],
      start,
      end,
      count,
    };
    if (r.name !== undefined) record.name = r.name;
    return { record, flaws: NO_FLAWS };
  }
  const found: string[] = [];
  const text = (key: "gitDir" | "path" | "repo") => {
    if (isString(r[key])) return r[key] as string;
    found.push(`no ${key}`);
    return "";
  };
  const [gitDir, path, repo] = [text("gitDir"), text("path"), text("repo")];
  let branch: string | null = null;
  if (typeof r.branch === "string") branch = r.branch;
  else if (r.branch !== null && r.branch !== undefined) found.push(`a bad branch ${JSON.stringify(r.branch)}`);
  let names: string[] = [];
  if (Array.isArray(r.names) && r.names.every((n) => typeof n === "string")) names = r.names;
  else if (r.names !== undefined) found.push(`bad names ${JSON.stringify(r.names)}`);
  const start = Math.min(r.start, r.end);
  const end = Math.max(r.start, r.end);
  const range = { start: r.start, end: r.end, count: r.count } as Range;
  if (!isValidRange(range)) found.push(`a bad range ${r.start}-${r.end} (count ${JSON.stringify(r.count)})`);
  const record: Allocation = { gitDir, path, branch, repo, names, start, end, count: end - start + 1 };
  if (typeof r.name === "string" && SHARD_NAME.test(r.name)) record.name = r.name;
  else if (r.name !== undefined) found.push(`a bad name ${JSON.stringify(r.name)}`);
  return { record, flaws: found };
}

/**
 * Keeps every record that holds ports, in order (rule 8): a record with a bad field, a
 * duplicate git dir or a range that overlaps an earlier one keeps its ports taken and is
 * written back as it was, with its flaw for doctor. Only a record with no usable range is
 * dropped. Throws for a newer format version, which this version must not rewrite.
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
  // The disjoint ranges sorted by start: a new one can only overlap a neighbour.
  const sorted: Allocation[] = [];
  // Indexed loops: in code this cold, for-of and destructuring build an iterator a record.
  const list: unknown[] = d.allocations;
  for (let i = 0; i < list.length; i++) {
    const raw = list[i];
    const checked = toAllocation(raw);
    if (typeof checked === "string") {
      problems.push(checked);
      continue;
    }
    const rec = checked.record;
    for (let k = 0; k < checked.flaws.length; k++) flag(rec, raw, checked.flaws[k]!);
    if (rec.gitDir && gitDirs.has(rec.gitDir)) flag(rec, raw, "a second record for the same git dir");
    gitDirs.add(rec.gitDir);
    records.push(rec);
    // The file is written sorted by start, so the common case appends after the last range.
    const last = sorted[sorted.length - 1];
    const at =
      !last || last.start <= rec.start ? sorted.length : firstIndex(sorted.length, (i) => sorted[i]!.start > rec.start);
    const before = sorted[at - 1];
    const after = sorted[at];
    const clash = before && overlaps(before, rec) ? before : after && overlaps(after, rec) ? after : undefined;
    if (clash) flag(rec, raw, `${formatRange(rec)} overlaps ${formatRange(clash)} of ${clash.path || clash.gitDir}`);
    else if (at === sorted.length) sorted.push(rec);
    else sorted.splice(at, 0, rec);
  }
  return { records, problems };
}

/**
 * Binary search: the first index in 0..n at which `past(i)` holds, for a `past` that is false
 * up to some index and true from there on (n when it never holds).
 */
export function firstIndex(n: number, past: (i: number) => boolean): number {
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (past(mid)) hi = mid;
    else lo = mid + 1;
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
    if (!candidate.startsWith('{"gitDir"')) continue;
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
  // A flawed record goes back as it was found (rule 8); a changed one is a new, plain object.
  const lines = records
    .slice()
    .sort((a, b) => a.start - b.start)
    .map((r) => JSON.stringify(originals.get(r) ?? r));
  return `{"version":${REGISTRY_VERSION},"allocations":[${lines.length ? `\n${lines.join(",\n")}\n` : ""}]}\n`;
}
