// What the git hook runs on a new worktree: `shards post-checkout <previous> <new> <flag>`.
// Not a citty command but a bundle of its own (dist/post-checkout.cjs, chosen by cli.ts),
// since it runs inside every `git worktree add`. It must never make that fail: every failure, even a bug, is one
// warning line and exit 0 (a reader that is gone ends our output quietly, see output.ts).
// Its output goes into git's own: messages, with the `shards:` prefix.

import { parseCount } from "../edges/config.ts";
import { pipedListening } from "../edges/ss.ts";
import { NULL_IDS } from "../edges/worktree.ts";
import { errorLine, firstLine, userMessage } from "../errors.ts";
import { ensureAllocation } from "../flows.ts";
import { announce, logger } from "../output.ts";
import { CREATE_COUNT_VAR, rangeLine, worktreeAndConfig } from "./_shared.ts";

/** One line, inside git's output, whatever failed. */
function reason(error: unknown): string {
  return firstLine(userMessage(error) ?? `${errorLine(error)} (a bug in shards; please report it)`);
}

async function postCheckout([previous]: string[], listening?: () => Set<number> | null): Promise<void> {
  // The hook tests this already; a hook manager wired by hand might not.
  if (previous !== undefined && !NULL_IDS.includes(previous)) return;
  // Under `shards create`: its --count, and create prints the range (or the error) itself.
  const created = process.env[CREATE_COUNT_VAR];
  try {
    const { wt, config } = await worktreeAndConfig(undefined);
    const shard = await ensureAllocation(wt, config, created ? parseCount(created, config) : undefined, listening);
    if (created === undefined) announce(rangeLine(shard.record));
  } catch (error) {
    if (created === undefined) logger.warn(`no ports allocated: ${reason(error)}`);
  }
}

// Exit as soon as the work is done: a natural exit tears the heap down first (~2-4 ms of
// every `git worktree add`). Everything was written synchronously.
const args = process.argv.slice(3);
const piped = args[0] === "--listening-on-stdin";
void postCheckout(piped ? args.slice(1) : args, piped ? pipedListening : undefined).then(() => process.exit(0));
