// One `shards allocate` for the worktree it runs in, cut into the steps of the flow and
// timed from outside the library (no timing points in src/): bench/run.ts bundles this as
// the CLI is bundled and runs it in a fresh process per sample, for figure E's breakdown.
// Prints {"read","check","decide","write"} in ms:
//   read    lock, read, parse and validate the registry (the edge's own update)
//   check   rule 5's liveness test over every record
//   decide  the pure allocation, with the liveness answers at hand
//   write   serialise and atomically replace the registry, unlock
// Finding the worktree, loading its config and the probe come before and are left out.
import { allocate, type Liveness } from "../src/core/allocate.ts";
import type { Allocation } from "../src/core/records.ts";
import { loadConfig } from "../src/edges/config.ts";
import { updateRecords } from "../src/edges/registry.ts";
import { findWorktree, livenessTest } from "../src/edges/worktree.ts";
import { requesterOf } from "../src/flows.ts";

async function main(): Promise<void> {
  const wt = findWorktree(process.cwd());
  const config = await loadConfig(wt);
  const marks: number[] = [performance.now()];
  updateRecords((records) => {
    marks.push(performance.now());
    const liveness = livenessTest();
    const answers = new Map<Allocation, Liveness>(records.map((r) => [r, liveness(r)]));
    marks.push(performance.now());
    const result = allocate(records, config, {
      ...requesterOf(wt, config),
      liveness: (r) => answers.get(r) ?? "live",
    });
    marks.push(performance.now());
    if ("exhausted" in result) throw new Error(result.exhausted);
    return { records: result.records, result: null };
  });
  marks.push(performance.now());
  const [read, check, decide, write] = marks.slice(1).map((t, i) => t - marks[i]);
  process.stdout.write(`${JSON.stringify({ read, check, decide, write })}\n`);
}

void main();
